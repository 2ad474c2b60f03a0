"""ride's params: its from-scratch schedule, the experts and the RIDE loss."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import TrainConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class RideTrain(TrainConfig):
    experts: int = param(3, ge=1, help="the paper's main setting")
    reduce_dimension: bool = param(True, help="narrower expert stages (CIFAR 24/48 channels)")
    expert_stages: int = param(2, ge=1, le=2, help="residual stages each expert owns")
    scale: float = param(30.0, gt=0.0, help="of the cosine classifiers, LDAM's s")
    max_margin: float = param(0.5, ge=0.0, help="LDAM's largest class margin")
    diversity_weight: float = param(
        -0.45, le=0.0, help="lambda, negative: experts pushed apart (ImageNet-LT, iNat: -0.2)"
    )
    temperature: float = param(1.0, gt=0.0, help="T0 of the diversity term")
    reweight_factor: float = param(0.05, ge=0.0, le=1.0, help="of the class temperatures (ImageNet 0.02, iNat 0.015)")
    drw_start: float = param(
        0.8, ge=0.0, le=1.0, help="fraction of the epochs before deferred re-weighting (160 / 200)"
    )
    beta: float = param(0.9999, ge=0.0, lt=1.0, help="effective-number weights of the re-weighting")


@dataclass(frozen=True)
class RideParams(Section):
    train: RideTrain = param(RideTrain(), help="from scratch, on stage 1's schedule")
    logits: Empty = param(Empty(), help="nothing after training: the mean of the experts")


SPEC = MethodSpec(
    RideParams,
    "multi-expert network with per-expert LDAM-DRW and a diversity loss (no router)",
    ("stage2",),
    paper="Wang et al., ICLR 2021",
)
