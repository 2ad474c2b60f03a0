"""RIDE: routing diverse distribution-aware experts (Wang et al., "Long-tailed Recognition by Routing
Diverse Distribution-Aware Experts", ICLR 2021), without the expert-assignment router.

Stage 2 trains a multi-expert network from scratch under the stage-1 schedule with the RIDE loss:
LDAM with deferred re-weighting for every expert, plus the distribution-aware diversity term. The
prediction is the mean of all experts' logits. The optional router (stage 2 of the paper, which saves
computation by sending easy images to fewer experts) is not built: every image uses every expert.
"""

from dataclasses import dataclass

import torch

from ltr.config import param
from ltr.layout import STAGE2
from ltr.losses.ride import RIDELoss
from ltr.methods import Method
from ltr.models.multi_expert import MultiExpertNet
from ltr.pipeline import MethodOutput


@dataclass(frozen=True)
class RideTrain:
    experts: int = param(3, ge=1)
    reduce_dimension: bool = True
    expert_stages: int = param(2, ge=1, le=2)
    scale: float = param(30.0, gt=0.0)
    max_margin: float = param(0.5, ge=0.0)  # LDAM
    diversity_weight: float = param(-0.45, le=0.0)  # lambda: CIFAR-100 -0.45, ImageNet-LT / iNat -0.2
    temperature: float = param(1.0, gt=0.0)  # T0 of the diversity term
    reweight_factor: float = param(0.05, ge=0.0, le=1.0)  # of the class temperatures (ImageNet 0.02, iNat 0.015)
    drw_start: float = param(0.8, ge=0.0, le=1.0)  # fraction of the epochs before re-weighting (160 / 200)
    beta: float = param(0.9999, ge=0.0, lt=1.0)


@dataclass(frozen=True)
class RideParams:
    train: RideTrain = param(RideTrain())


def build(ctx, t: RideTrain) -> MultiExpertNet:
    torch.manual_seed(ctx.cfg.seed)
    return MultiExpertNet(ctx.cfg.model.arch, ctx.num_classes, t.experts, t.reduce_dimension, t.expert_stages, t.scale)


def train_stage2(ctx, out) -> None:
    t, cfg = ctx.cfg.methods["ride"].train, ctx.cfg.stage1
    loss = RIDELoss(
        ctx.meta["train_counts"], t.max_margin, t.scale, t.diversity_weight, t.temperature, t.reweight_factor, t.beta
    ).to(ctx.device)
    drw_epoch = int(t.drw_start * cfg.epochs)

    def step(model, x, y, epoch):
        expert_logits = model.expert_logits(x)
        return loss(expert_logits, y, reweight=epoch >= drw_epoch), expert_logits.mean(dim=1)

    ctx.train_and_save(out, ctx.to_device(build(ctx, t)), cfg, step=step, key_parts=(t,))


def logits(ctx) -> MethodOutput:
    model = ctx.load_model(STAGE2, build(ctx, ctx.cfg.methods["ride"].train))
    return MethodOutput(ctx.predict_splits(model), ctx.cost(model))


METHOD = Method(
    name="ride",
    summary="multi-expert network with per-expert LDAM-DRW and a diversity loss (no router)",
    params_cls=RideParams,
    logits=logits,
    train_stage2=train_stage2,
    trained_in=("stage2",),
)
