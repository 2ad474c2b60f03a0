"""Classifier re-training on frozen stage-1 features (Kang et al., "Decoupling Representation and
Classifier for Long-Tailed Recognition", ICLR 2020), shared by cRT and LWS (and the SSP recipe).

The stage-1 backbone is frozen (no gradients, BatchNorm statistics kept), a new head is trained with
class-aware sampling under the stage2.* schedule. The method gives the head: `make_head(stage1_head)`.
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


def retrain_head(ctx, out, make_head: Callable[[nn.Linear], nn.Module], samples_per_class: int, key_parts=()):
    stage1 = ctx.load_model(STAGE1)
    torch.manual_seed(ctx.cfg.seed)
    model = ctx.to_device(Classifier(FrozenBackbone(stage1.backbone), make_head(stage1.head)))
    cfg = ctx.cfg.stage2
    ctx.train_and_save(
        out,
        model,
        cfg,
        sampler=ctx.class_aware_sampler(samples_per_class, cfg.batch_size),
        key_parts=key_parts,
        key_files=(STAGE1 / "model.pt",),
    )


def retrained_logits(ctx, make_head: Callable[[nn.Linear], nn.Module]) -> MethodOutput:
    backbone = create_backbone(ctx.cfg.model.arch)
    stage1_head = nn.Linear(backbone.out_dim, ctx.num_classes)
    model = ctx.load_model(STAGE2, Classifier(FrozenBackbone(backbone), make_head(stage1_head)))
    return MethodOutput(ctx.predict_splits(model), ctx.cost(model))
