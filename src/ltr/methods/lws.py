"""LWS: learnable weight scaling (Kang et al., "Decoupling Representation and Classifier for
Long-Tailed Recognition", ICLR 2020). The stage-1 representation and classifier are kept; one scale
per class multiplies its logit and is learned with class-balanced (class-aware) sampling."""

from dataclasses import dataclass

from ltr.config import param
from ltr.methods import Method
from ltr.methods.classifier_retraining import retrain_head, retrained_logits
from ltr.models.heads import ScaledLinear


@dataclass(frozen=True)
class LwsTrain:
    samples_per_class: int = param(4, ge=1)


@dataclass(frozen=True)
class LwsParams:
    train: LwsTrain = param(LwsTrain())


def train_stage2(ctx, out) -> None:
    p = ctx.cfg.methods["lws"].train
    retrain_head(ctx, out, ScaledLinear, p.samples_per_class, key_parts=(p,))


METHOD = Method(
    name="lws",
    summary="learns one scale per class on the frozen stage-1 classifier, class-balanced sampling",
    params_cls=LwsParams,
    logits=lambda ctx: retrained_logits(ctx, ScaledLinear),
    train_stage2=train_stage2,
    trained_in=("stage1", "stage2"),
)
