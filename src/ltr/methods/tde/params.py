"""tde's params: its from-scratch schedule and causal-norm classifier; alpha in the logits stage."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import TrainConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import check_number_or_auto


@dataclass(frozen=True)
class TdeTrain(TrainConfig):
    heads: int = param(2, ge=1)  # K
    tau: float = param(16.0, gt=0.0)
    norm_gamma: float = param(0.03125, ge=0.0)  # gamma of the causal norm: w / (|w| + gamma), 1/32
    embed_momentum: float = param(0.9, ge=0.0, lt=1.0)  # mu of the moving-average feature
    momentum_schedule: str = param("constant", choices=("constant", "lr"))  # lr: ImageNet-LT / Places-LT
    selection_alpha: float = param(1.5, ge=0.0)  # alpha of the TDE logits that pick the best epoch


@dataclass(frozen=True)
class TdeLogits(Section):
    # the counterfactual strength, fixed as the original's configs fix it (CIFAR-100-LT 1.5, CIFAR-10-LT
    # 1.0, ImageNet-LT 3.0); or auto: the best val top-1 over 0, 0.25, ..., 3 (a choice the original lacks)
    alpha: float | str = param(1.5)

    def __post_init__(self):
        check_number_or_auto(self.alpha, "tde.logits.alpha")


@dataclass(frozen=True)
class TdeParams(Section):
    train: TdeTrain = param(TdeTrain())
    logits: TdeLogits = param(TdeLogits())


SPEC = MethodSpec(
    TdeParams,
    "causal-norm classifier with a moving-average feature; counterfactual TDE logits at inference",
    ("stage2",),
)
