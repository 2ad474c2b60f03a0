"""What several methods' declarations share: the empty section, the 'auto or a number' check, and
the classifier re-training schedule of cRT, LWS and SSP. Torch-free, as every declaration."""

import math
from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import FineTuneConfig
from ltr.errors import LtrError


@dataclass(frozen=True)
class Empty(Section):
    """A section with nothing to set: the method has no such step."""


def check_number_or_auto(value, key: str, positive: bool = False) -> None:
    """A knob that is 'auto' (chosen on val) or a finite number >= 0 (> 0 when positive)."""
    bound = ">" if positive else ">="
    if isinstance(value, str):
        valid = value == "auto"
    else:
        valid = math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not valid:
        raise LtrError(f"params.yaml: {key} = {value!r} is not allowed; give a number {bound} 0 or 'auto'")


@dataclass(frozen=True)
class RetrainingTrain(FineTuneConfig):
    """cRT, LWS and SSP's classifier: a fine-tuning schedule and class-aware sampling."""

    samples_per_class: int = param(4, ge=1, help="class-aware sampling, as the released configs")


@dataclass(frozen=True)
class RetrainingParams(Section):
    train: RetrainingTrain = param(RetrainingTrain(), help="the classifier, re-trained on frozen stage-1 features")
    logits: Empty = param(Empty(), help="nothing after training")
