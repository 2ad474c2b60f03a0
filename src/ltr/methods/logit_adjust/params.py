"""logit_adjust's params: tau, in the logits stage."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class LogitAdjustLogits(Section):
    tau: float = param(1.0, ge=0.0, help="the paper's 1: the adjustment for the balanced error")


@dataclass(frozen=True)
class LogitAdjustParams(Section):
    train: Empty = param(Empty(), help="no training: post hoc, on the stage-1 logits")
    logits: LogitAdjustLogits = param(LogitAdjustLogits(), help="the adjustment, in the logits stage")


SPEC = MethodSpec(
    LogitAdjustParams, "post-hoc: stage-1 logits minus tau * log(training prior)", paper="Menon et al., ICLR 2021"
)
