"""ldam_drw's params: its from-scratch schedule, the margins and the deferred re-weighting."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import TrainConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class LdamDrwTrain(TrainConfig):
    max_margin: float = param(0.5, ge=0.0)
    scale: float = param(30.0, gt=0.0)  # of the cosine classifier
    drw_start: float = param(0.8, ge=0.0, le=1.0)  # fraction of the epochs before re-weighting (160 / 200)
    beta: float = param(0.9999, ge=0.0, lt=1.0)  # effective-number weights


@dataclass(frozen=True)
class LdamDrwParams(Section):
    train: LdamDrwTrain = param(LdamDrwTrain())
    logits: Empty = param(Empty())


SPEC = MethodSpec(
    LdamDrwParams,
    "trains from scratch with a cosine classifier, the LDAM margin loss and deferred re-weighting",
    ("stage2",),
)
