"""tde's params: its from-scratch schedule and causal-norm classifier; alpha in the logits stage."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import TrainConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import check_number_or_auto


@dataclass(frozen=True)
class TdeTrain(TrainConfig):
    heads: int = param(2, ge=1, help="K, the heads of the multi-head normalised classifier, the original's")
    tau: float = param(16.0, gt=0.0, help="the classifier's logit scale, the original's")
    norm_gamma: float = param(0.03125, ge=0.0, help="the causal norm's w / (|w| + gamma), 1/32")
    embed_momentum: float = param(0.9, ge=0.0, lt=1.0, help="of the moving-average feature")
    momentum_schedule: str = param(
        "constant", choices=("constant", "lr"), help="constant (CIFAR) | lr (ImageNet-LT, Places-LT: mu follows the lr)"
    )
    selection_alpha: float = param(
        1.5, ge=0.0, help="TDE logits at this alpha pick the best epoch (CIFAR-100-LT's alpha)"
    )


@dataclass(frozen=True)
class TdeLogits(Section):
    alpha: float | str = param(
        1.5,
        help="counterfactual strength, the original's CIFAR-100-LT value (CIFAR-10-LT 1.0, ImageNet-LT 3.0); "
        "or auto: best val top-1 over 0, 0.25, ..., 3 (a choice the original lacks)",
    )

    def __post_init__(self):
        check_number_or_auto(self.alpha, "tde.logits.alpha")


@dataclass(frozen=True)
class TdeParams(Section):
    train: TdeTrain = param(TdeTrain(), help="from scratch, on stage 1's schedule")
    logits: TdeLogits = param(TdeLogits(), help="the counterfactual (TDE) inference")


SPEC = MethodSpec(
    TdeParams,
    "causal-norm classifier with a moving-average feature; counterfactual TDE logits at inference",
    ("stage2",),
    paper="Tang et al., NeurIPS 2020",
)
