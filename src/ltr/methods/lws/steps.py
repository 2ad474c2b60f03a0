"""LWS: learnable weight scaling (Kang et al., "Decoupling Representation and Classifier for
Long-Tailed Recognition", ICLR 2020). The stage-1 representation and classifier are kept; one scale
per class multiplies its logit and is learned with class-balanced (class-aware) sampling."""

from ltr.methods.shared.retraining import retrain_head, retrained_logits
from ltr.models.heads import ScaledLinear
from ltr.pipeline import MethodOutput


def train_stage2(ctx, p, out) -> None:
    retrain_head(ctx, p, out, ScaledLinear)


def logits(ctx, p) -> MethodOutput:
    return retrained_logits(ctx, ScaledLinear)
