"""tau_norm's params: tau, chosen on val or given, in the logits stage."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty, check_number_or_auto


@dataclass(frozen=True)
class TauNormLogits(Section):
    tau: float | str = param(
        "auto",
        help="a number >= 0, or auto: the best val top-1 over 0, 0.1, ..., 2",
        deviation="the original's notebook sweeps tau on the test set",
    )

    def __post_init__(self):
        check_number_or_auto(self.tau, "tau_norm.logits.tau")


@dataclass(frozen=True)
class TauNormParams(Section):
    train: Empty = param(Empty(), help="no training: post hoc, on the stage-1 classifier")
    logits: TauNormLogits = param(TauNormLogits(), help="the normalisation, in the logits stage")


SPEC = MethodSpec(
    TauNormParams,
    "post-hoc: divides each stage-1 class weight by its norm to the power tau (tau from val)",
    paper="Kang et al., ICLR 2020",
)
