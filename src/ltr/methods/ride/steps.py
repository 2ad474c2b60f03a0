"""RIDE: routing diverse distribution-aware experts (Wang et al., "Long-tailed Recognition by Routing
Diverse Distribution-Aware Experts", ICLR 2021), without the expert-assignment router.

Stage 2 trains a multi-expert network from scratch under its own schedule (stage 1's by default) with the RIDE loss:
LDAM with deferred re-weighting for every expert, plus the distribution-aware diversity term. The
prediction is the mean of all experts' logits. The optional router (stage 2 of the paper, which saves
computation by sending easy images to fewer experts) is not built: every image uses every expert.
"""

import torch

from ltr.layout import STAGE2
from ltr.losses.ride import RIDELoss
from ltr.models.multi_expert import MultiExpertNet
from ltr.pipeline import MethodOutput


def build(arch: str, num_classes: int, t, seed: int) -> MultiExpertNet:
    torch.manual_seed(seed)
    return MultiExpertNet(arch, num_classes, t.experts, t.reduce_dimension, t.expert_stages, t.scale)


def train_stage2(ctx, p, out) -> None:
    t = p.train
    loss = RIDELoss(
        ctx.meta["train_counts"], t.max_margin, t.scale, t.diversity_weight, t.temperature, t.reweight_factor, t.beta
    ).to(ctx.device)
    drw_epoch = int(t.drw_start * t.epochs)

    def step(model, x, y, epoch):
        expert_logits = model.expert_logits(x)
        return loss(expert_logits, y, reweight=epoch >= drw_epoch), expert_logits.mean(dim=1)

    model = build(ctx.cfg.model.arch, ctx.num_classes, t, ctx.cfg.seed)
    ctx.train_and_save(out, ctx.to_device(model), t, step=step)


def logits(ctx, p) -> MethodOutput:
    trained = ctx.trained(STAGE2, type(p.train))
    model = ctx.load_model(STAGE2, build(trained.arch, ctx.num_classes, trained.train, ctx.cfg.seed))
    return MethodOutput(ctx.predict_splits(model), ctx.cost(STAGE2))
