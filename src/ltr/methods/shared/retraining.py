"""Classifier re-training on frozen stage-1 features (Kang et al., "Decoupling Representation and
Classifier for Long-Tailed Recognition", ICLR 2020), shared by cRT, LWS and SSP.

The stage-1 backbone's weights are frozen (no gradients; its BatchNorm statistics are re-estimated in
train mode, as in the original), and a new head is trained with class-aware sampling under the
method's `train` schedule. The method gives the head: `make_head(stage1_head)`.
"""

from collections.abc import Callable

import torch
import torch.nn as nn

from ltr.engine.context import Context, MethodOutput
from ltr.methods.shared.params import RetrainingParams, RetrainingTrain
from ltr.models import Classifier, FrozenBackbone, create_backbone


def new_linear(stage1_head: nn.Linear) -> nn.Linear:
    """A freshly initialised linear classifier of the stage-1 head's shape (cRT, SSP)."""
    return nn.Linear(stage1_head.in_features, stage1_head.out_features)


def retrain_head(ctx: Context, t: RetrainingTrain, make_head: Callable[[nn.Linear], nn.Module]) -> None:
    stage1 = ctx.models.load("stage1")
    torch.manual_seed(ctx.seed)
    model = ctx.models.to_device(Classifier(FrozenBackbone(stage1.backbone), make_head(stage1.head)))
    ctx.models.train(model, t, per_class=t.samples_per_class, starts_from=("stage1/model.pt",))


def retrained_logits(ctx: Context, make_head: Callable[[nn.Linear], nn.Module]) -> MethodOutput:
    backbone = create_backbone(ctx.models.trained("stage2").arch)
    stage1_head = nn.Linear(backbone.out_dim, ctx.data.num_classes)
    model = ctx.models.load("stage2", Classifier(FrozenBackbone(backbone), make_head(stage1_head)))
    return MethodOutput(ctx.data.predict_splits(model), ctx.models.cost("stage2"))


def train_new_linear(ctx: Context, p: RetrainingParams) -> None:
    """cRT's stage 2 (and SSP's): a new linear classifier."""
    retrain_head(ctx, p.train, new_linear)


def new_linear_logits(ctx: Context, p: RetrainingParams) -> MethodOutput:
    return retrained_logits(ctx, new_linear)
