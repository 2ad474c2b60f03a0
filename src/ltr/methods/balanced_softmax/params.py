"""balanced_softmax's params: its from-scratch schedule (stage 1's, for equal cost)."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import TrainConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class BalancedSoftmaxParams(Section):
    train: TrainConfig = param(TrainConfig(), help="from scratch, on stage 1's schedule")
    logits: Empty = param(Empty(), help="nothing after training: the prior is in the loss only")


SPEC = MethodSpec(
    BalancedSoftmaxParams,
    "trains from scratch with the training prior added to the logits in the loss",
    ("stage2",),
    paper="Ren et al., NeurIPS 2020",
)
