"""LDAM-DRW (Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
NeurIPS 2019): trained from scratch in stage 2 under its own schedule (stage 1's by default), with a
cosine classifier (scale 30), the LDAM margin loss, and deferred re-weighting: class-balanced weights
(effective number, beta 0.9999) switch on for the last epochs (CIFAR: after epoch 160 of 200)."""

import torch

from ltr.layout import STAGE2
from ltr.losses.class_balanced import effective_number_weights
from ltr.losses.ldam import LDAMLoss
from ltr.models import Classifier, create_backbone
from ltr.models.heads import NormedLinear
from ltr.pipeline import MethodOutput


def build(arch: str, num_classes: int, t) -> Classifier:
    backbone = create_backbone(arch)
    return Classifier(backbone, NormedLinear(backbone.out_dim, num_classes, t.scale))


def train_stage2(ctx, p, out) -> None:
    t = p.train
    counts = ctx.meta["train_counts"]
    loss = LDAMLoss(counts, t.max_margin, t.scale).to(ctx.device)
    weights = effective_number_weights(counts, t.beta).to(ctx.device)
    drw_epoch = int(t.drw_start * t.epochs)

    def step(model, x, y, epoch):
        logits = model(x)
        return loss(logits, y, weight=weights if epoch >= drw_epoch else None), logits

    torch.manual_seed(ctx.cfg.seed)
    ctx.train_and_save(out, ctx.to_device(build(ctx.cfg.model.arch, ctx.num_classes, t)), t, step=step)


def logits(ctx, p) -> MethodOutput:
    trained = ctx.trained(STAGE2, type(p.train))
    model = ctx.load_model(STAGE2, build(trained.arch, ctx.num_classes, trained.train))
    return MethodOutput(ctx.predict_splits(model), ctx.cost(STAGE2))
