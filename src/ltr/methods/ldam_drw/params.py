"""ldam_drw's params: its from-scratch schedule, the margins and the deferred re-weighting."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import TrainConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class LdamDrwTrain(TrainConfig):
    max_margin: float = param(0.5, ge=0.0, help="the largest class margin (the rarest class's), the original's max_m")
    scale: float = param(30.0, gt=0.0, help="of the cosine classifier, the original's s")
    drw_start: float = param(
        0.8, ge=0.0, le=1.0, help="fraction of the epochs before class-balanced re-weighting starts (160 / 200)"
    )
    beta: float = param(0.9999, ge=0.0, lt=1.0, help="effective-number weights of DRW, the original's")


@dataclass(frozen=True)
class LdamDrwParams(Section):
    train: LdamDrwTrain = param(LdamDrwTrain(), help="from scratch, on stage 1's schedule")
    logits: Empty = param(Empty(), help="nothing after training")


SPEC = MethodSpec(
    LdamDrwParams,
    "trains from scratch with a cosine classifier, the LDAM margin loss and deferred re-weighting",
    ("stage2",),
    paper="Cao et al., NeurIPS 2019",
)
