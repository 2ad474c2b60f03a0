"""LWS: learnable weight scaling (Kang et al., "Decoupling Representation and Classifier for
Long-Tailed Recognition", ICLR 2020). The stage-1 representation and classifier are kept; one scale
per class multiplies its logit and is learned with class-balanced (class-aware) sampling."""

from ltr.engine.context import Context, MethodOutput
from ltr.methods.lws.params import LwsParams
from ltr.methods.shared.retraining import retrain_head, retrained_logits
from ltr.models.heads import ScaledLinear


def train_stage2(ctx: Context, p: LwsParams) -> None:
    retrain_head(ctx, p.train, ScaledLinear)


def logits(ctx: Context, p: LwsParams) -> MethodOutput:
    return retrained_logits(ctx, ScaledLinear)
