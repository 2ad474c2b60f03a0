"""ride's params: its from-scratch schedule, the experts and the RIDE loss."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import TrainConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class RideTrain(TrainConfig):
    experts: int = param(3, ge=1)
    reduce_dimension: bool = True
    expert_stages: int = param(2, ge=1, le=2)
    scale: float = param(30.0, gt=0.0)
    max_margin: float = param(0.5, ge=0.0)  # LDAM
    diversity_weight: float = param(-0.45, le=0.0)  # lambda: CIFAR-100 -0.45, ImageNet-LT / iNat -0.2
    temperature: float = param(1.0, gt=0.0)  # T0 of the diversity term
    reweight_factor: float = param(0.05, ge=0.0, le=1.0)  # of the class temperatures (ImageNet 0.02, iNat 0.015)
    drw_start: float = param(0.8, ge=0.0, le=1.0)  # fraction of the epochs before re-weighting (160 / 200)
    beta: float = param(0.9999, ge=0.0, lt=1.0)


@dataclass(frozen=True)
class RideParams(Section):
    train: RideTrain = param(RideTrain())
    logits: Empty = param(Empty())


SPEC = MethodSpec(
    RideParams, "multi-expert network with per-expert LDAM-DRW and a diversity loss (no router)", ("stage2",)
)
