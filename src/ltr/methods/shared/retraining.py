"""Classifier re-training on frozen stage-1 features (Kang et al., "Decoupling Representation and
Classifier for Long-Tailed Recognition", ICLR 2020), shared by cRT, LWS and SSP.

The stage-1 backbone's weights are frozen (no gradients; its BatchNorm statistics are re-estimated in
train mode, as in the original), and a new head is trained with class-aware sampling under the
method's `train` schedule. The method gives the head: `make_head(stage1_head)`.
"""

from collections.abc import Callable

import torch
import torch.nn as nn

from ltr.layout import STAGE1, STAGE2
from ltr.models import Classifier, FrozenBackbone, create_backbone
from ltr.pipeline import MethodOutput


def new_linear(stage1_head: nn.Linear) -> nn.Linear:
    """A freshly initialised linear classifier of the stage-1 head's shape (cRT, SSP)."""
    return nn.Linear(stage1_head.in_features, stage1_head.out_features)


def retrain_head(ctx, p, out, make_head: Callable[[nn.Linear], nn.Module]) -> None:
    stage1 = ctx.load_model(STAGE1)
    torch.manual_seed(ctx.cfg.seed)
    model = ctx.to_device(Classifier(FrozenBackbone(stage1.backbone), make_head(stage1.head)))
    sampler = ctx.class_aware_sampler(p.train.samples_per_class, p.train.batch_size)
    ctx.train_and_save(out, model, p.train, sampler=sampler, key_files=(STAGE1 / "model.pt",))


def retrained_logits(ctx, make_head: Callable[[nn.Linear], nn.Module]) -> MethodOutput:
    backbone = create_backbone(ctx.trained(STAGE2).arch)
    stage1_head = nn.Linear(backbone.out_dim, ctx.num_classes)
    model = ctx.load_model(STAGE2, Classifier(FrozenBackbone(backbone), make_head(stage1_head)))
    return MethodOutput(ctx.predict_splits(model), ctx.cost(STAGE2))


def train_new_linear(ctx, p, out) -> None:
    """cRT's stage 2 (and SSP's): a new linear classifier."""
    retrain_head(ctx, p, out, new_linear)


def new_linear_logits(ctx, p) -> MethodOutput:
    return retrained_logits(ctx, new_linear)
