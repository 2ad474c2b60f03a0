"""softmax: the stage-1 model as is; no settings of its own (stage1.* trains it)."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class SoftmaxParams(Section):
    train: Empty = param(Empty(), help="no stage 2: stage 1 is softmax's training")
    logits: Empty = param(Empty(), help="stage 1's logits as they are")


SPEC = MethodSpec(SoftmaxParams, "cross-entropy baseline: the stage-1 model as is")
