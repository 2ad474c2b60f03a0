"""logit_adjust's params: tau, in the logits stage."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class LogitAdjustLogits(Section):
    tau: float = param(1.0, ge=0.0)


@dataclass(frozen=True)
class LogitAdjustParams(Section):
    train: Empty = param(Empty())
    logits: LogitAdjustLogits = param(LogitAdjustLogits())


SPEC = MethodSpec(LogitAdjustParams, "post-hoc: stage-1 logits minus tau * log(training prior)")
