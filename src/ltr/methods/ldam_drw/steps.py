"""LDAM-DRW (Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
NeurIPS 2019): trained from scratch in stage 2 under its own schedule (stage 1's by default), with a
cosine classifier (scale 30), the LDAM margin loss, and deferred re-weighting: class-balanced weights
(effective number, beta 0.9999) switch on for the last epochs (CIFAR: after epoch 160 of 200)."""

import torch

from ltr.engine.context import Context, MethodOutput
from ltr.losses.class_balanced import effective_number_weights
from ltr.losses.ldam import LDAMLoss
from ltr.methods.ldam_drw.params import LdamDrwParams, LdamDrwTrain
from ltr.models import Classifier, create_backbone
from ltr.models.heads import NormedLinear


def build(arch: str, num_classes: int, t: LdamDrwTrain) -> Classifier:
    backbone = create_backbone(arch)
    return Classifier(backbone, NormedLinear(backbone.out_dim, num_classes, t.scale))


def train_stage2(ctx: Context, p: LdamDrwParams) -> None:
    t = p.train
    counts = ctx.data.meta["train_counts"]
    loss = LDAMLoss(counts, t.max_margin, t.scale).to(ctx.device)
    weights = effective_number_weights(counts, t.beta).to(ctx.device)
    drw_epoch = int(t.drw_start * t.epochs)

    def step(model, x, y, epoch):
        logits = model(x)
        return loss(logits, y, weight=weights if epoch >= drw_epoch else None), logits

    torch.manual_seed(ctx.seed)
    ctx.models.train(ctx.models.to_device(build(ctx.models.arch, ctx.data.num_classes, t)), t, step=step)


def logits(ctx: Context, p: LdamDrwParams) -> MethodOutput:
    trained = ctx.models.trained("stage2", LdamDrwTrain)
    model = ctx.models.load("stage2", build(trained.arch, ctx.data.num_classes, trained.train))
    return MethodOutput(ctx.data.predict_splits(model), ctx.models.cost("stage2"))
