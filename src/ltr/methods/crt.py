"""cRT: classifier re-training (Kang et al., "Decoupling Representation and Classifier for
Long-Tailed Recognition", ICLR 2020). The stage-1 representation is kept; the linear classifier is
re-initialised and re-trained with class-balanced (class-aware) sampling."""

from dataclasses import dataclass

from ltr.config import param
from ltr.methods import Method
from ltr.methods.classifier_retraining import new_linear, retrain_head, retrained_logits


@dataclass(frozen=True)
class CrtTrain:
    samples_per_class: int = param(4, ge=1)  # class-aware sampling as in the released configs


@dataclass(frozen=True)
class CrtParams:
    train: CrtTrain = param(CrtTrain())


def train_stage2(ctx, out) -> None:
    p = ctx.cfg.method_params.train  # crt's section, or ssp's: SSP re-trains its classifier this way
    retrain_head(ctx, out, new_linear, p.samples_per_class, key_parts=(p,))


METHOD = Method(
    name="crt",
    summary="re-trains a new linear classifier on frozen stage-1 features, class-balanced sampling",
    params_cls=CrtParams,
    logits=lambda ctx: retrained_logits(ctx, new_linear),
    train_stage2=train_stage2,
    trained_in=("stage1", "stage2"),
)
