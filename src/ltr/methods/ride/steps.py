"""RIDE: routing diverse distribution-aware experts (Wang et al., "Long-tailed Recognition by Routing
Diverse Distribution-Aware Experts", ICLR 2021), without the expert-assignment router.

Stage 2 trains a multi-expert network from scratch under its own schedule (stage 1's by default) with the RIDE loss:
LDAM with deferred re-weighting for every expert, plus the distribution-aware diversity term. The
prediction is the mean of all experts' logits. The optional router (stage 2 of the paper, which saves
computation by sending easy images to fewer experts) is not built: every image uses every expert.
"""

import torch

from ltr.engine.context import Context, MethodOutput
from ltr.losses.ride import RIDELoss
from ltr.methods.ride.params import RideParams, RideTrain
from ltr.models.multi_expert import MultiExpertNet


def build(arch: str, num_classes: int, t: RideTrain, seed: int) -> MultiExpertNet:
    torch.manual_seed(seed)
    return MultiExpertNet(arch, num_classes, t.experts, t.reduce_dimension, t.expert_stages, t.scale)


def train_stage2(ctx: Context, p: RideParams) -> None:
    t = p.train
    loss = RIDELoss(
        ctx.data.meta["train_counts"],
        t.max_margin,
        t.scale,
        t.diversity_weight,
        t.temperature,
        t.reweight_factor,
        t.beta,
    ).to(ctx.device)
    drw_epoch = int(t.drw_start * t.epochs)

    def step(model, x, y, epoch):
        expert_logits = model.expert_logits(x)
        return loss(expert_logits, y, reweight=epoch >= drw_epoch), expert_logits.mean(dim=1)

    model = build(ctx.models.arch, ctx.data.num_classes, t, ctx.seed)
    ctx.models.train(ctx.models.to_device(model), t, step=step)


def logits(ctx: Context, p: RideParams) -> MethodOutput:
    trained = ctx.models.trained("stage2", RideTrain)
    model = ctx.models.load("stage2", build(trained.arch, ctx.data.num_classes, trained.train, ctx.seed))
    return MethodOutput(ctx.data.predict_splits(model), ctx.models.cost("stage2"))
