"""LDAM-DRW (Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
NeurIPS 2019): trained from scratch in stage 2 under the stage-1 schedule, with a cosine classifier
(scale 30), the LDAM margin loss, and deferred re-weighting: class-balanced weights (effective number,
beta 0.9999) switch on for the last epochs (CIFAR: after epoch 160 of 200)."""

from dataclasses import dataclass

import torch

from ltr.config import param
from ltr.layout import STAGE2
from ltr.losses.class_balanced import effective_number_weights
from ltr.losses.ldam import LDAMLoss
from ltr.methods import Method
from ltr.models import Classifier, create_backbone
from ltr.models.heads import NormedLinear
from ltr.pipeline import MethodOutput


@dataclass(frozen=True)
class LdamDrwTrain:
    max_margin: float = param(0.5, ge=0.0)
    scale: float = param(30.0, gt=0.0)  # of the cosine classifier
    drw_start: float = param(0.8, ge=0.0, le=1.0)  # fraction of the epochs before re-weighting (160 / 200)
    beta: float = param(0.9999, ge=0.0, lt=1.0)  # effective-number weights


@dataclass(frozen=True)
class LdamDrwParams:
    train: LdamDrwTrain = param(LdamDrwTrain())


def build(ctx, p: LdamDrwTrain) -> Classifier:
    backbone = create_backbone(ctx.cfg.model.arch)
    return Classifier(backbone, NormedLinear(backbone.out_dim, ctx.num_classes, p.scale))


def train_stage2(ctx, out) -> None:
    p, cfg = ctx.cfg.methods["ldam_drw"].train, ctx.cfg.stage1
    counts = ctx.meta["train_counts"]
    loss = LDAMLoss(counts, p.max_margin, p.scale).to(ctx.device)
    weights = effective_number_weights(counts, p.beta).to(ctx.device)
    drw_epoch = int(p.drw_start * cfg.epochs)

    def step(model, x, y, epoch):
        logits = model(x)
        return loss(logits, y, weight=weights if epoch >= drw_epoch else None), logits

    torch.manual_seed(ctx.cfg.seed)
    ctx.train_and_save(out, ctx.to_device(build(ctx, p)), cfg, step=step, key_parts=(p,))


def logits(ctx) -> MethodOutput:
    model = ctx.load_model(STAGE2, build(ctx, ctx.cfg.methods["ldam_drw"].train))
    return MethodOutput(ctx.predict_splits(model), ctx.cost(model))


METHOD = Method(
    name="ldam_drw",
    summary="trains from scratch with a cosine classifier, the LDAM margin loss and deferred re-weighting",
    params_cls=LdamDrwParams,
    logits=logits,
    train_stage2=train_stage2,
    trained_in=("stage2",),
)
