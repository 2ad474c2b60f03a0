"""softmax: the stage-1 model as is; no settings of its own (stage1.* trains it)."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class SoftmaxParams(Section):
    train: Empty = param(Empty())
    logits: Empty = param(Empty())


SPEC = MethodSpec(SoftmaxParams, "cross-entropy baseline: the stage-1 model as is")
