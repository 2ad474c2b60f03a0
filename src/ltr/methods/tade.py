"""TADE: test-agnostic long-tailed recognition (Zhang et al., "Test-Agnostic Long-Tailed Recognition
by Test-Time Aggregating Diverse Experts with Self-Supervision", 2021; SADE at NeurIPS 2022).

Stage 2 trains a three-expert network from scratch, under the stage-1 schedule, with the diverse-
expert loss (forward, uniform and backward experts). In the logits stage each test split gets its own
aggregation: the model frozen in eval mode, three weights w = softmax(a) (a starting uniform) are
learned by maximising the cosine between the aggregated predictions of two strong augmentations of
the same unlabeled images of that split (SGD, 5 epochs, stopping after an epoch in which a weight
falls below 0.05); predictions use the clean images. val, train and open use the weights learned on
the uniform test split, so the open set is scored with the same model as its known images.

Not repeated from the original: the test-time set is the test split itself (not the training split
with the test imbalance), and shifted test sets are predicted from clean images.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ltr.config import param
from ltr.layout import SHIFTED_SPLITS, STAGE2
from ltr.losses.diverse_experts import DiverseExpertLoss
from ltr.methods import Method
from ltr.models.multi_expert import MultiExpertNet
from ltr.pipeline import MethodOutput


@dataclass(frozen=True)
class TadeTrain:
    reduce_dimension: bool = True  # narrower expert stages (CIFAR 24/48, ImageNet 192/384 planes)
    expert_stages: int = param(2, ge=1, le=2)  # residual stages each expert owns (Places-LT: 1)
    tau: float = param(2.0, ge=0.0)  # the backward expert's inverse-prior strength (lambda: CIFAR 2, iNat 1)
    scale: float = param(30.0, gt=0.0)  # of the cosine classifiers


@dataclass(frozen=True)
class AggregationParams:
    epochs: int = param(5, ge=1)
    lr: float = param(0.1, gt=0.0)  # the training lr of the original configs (CIFAR 0.1, ImageNet 0.025)
    weight_decay: float = param(5e-4, ge=0.0)
    batch_size: int = param(128, ge=1)
    stop_below: float = param(0.05, ge=0.0, lt=1.0)  # stop after an epoch in which a weight is below this
    entropy_weight: float = param(0.0, ge=0.0)  # iNaturalist: 0.01, a bonus for confident predictions


@dataclass(frozen=True)
class TadeParams:
    test_time: AggregationParams = param(AggregationParams())
    train: TadeTrain = param(TadeTrain())


def build(ctx, t: TadeTrain) -> MultiExpertNet:
    torch.manual_seed(ctx.cfg.seed)
    return MultiExpertNet(ctx.cfg.model.arch, ctx.num_classes, 3, t.reduce_dimension, t.expert_stages, t.scale)


def train_stage2(ctx, out) -> None:
    t = ctx.cfg.methods["tade"].train
    loss = DiverseExpertLoss(ctx.prior(), t.tau)

    def step(model, x, y, epoch):
        expert_logits = model.expert_logits(x)
        return loss(expert_logits, y), expert_logits.mean(dim=1)

    ctx.train_and_save(out, ctx.to_device(build(ctx, t)), ctx.cfg.stage1, step=step, key_parts=(t,))


def aggregation_loss(
    weights: torch.Tensor, view1: torch.Tensor, view2: torch.Tensor, entropy_weight: float = 0.0
) -> torch.Tensor:
    """Negative cosine between the predictions of two views, each from expert logits (B, E, C)
    aggregated with the weights (E,) before the softmax; minus entropy_weight times the two
    predictions' entropies (mean over all entries), which the original adds on iNaturalist."""
    p1 = F.softmax(torch.einsum("e,bec->bc", weights, view1), dim=1)
    p2 = F.softmax(torch.einsum("e,bec->bc", weights, view2), dim=1)
    loss = -F.cosine_similarity(p1, p2, dim=1, eps=1e-6).mean()
    if entropy_weight:
        entropy = -(p1 * torch.log(p1 + 1e-12)).mean() - (p2 * torch.log(p2 + 1e-12)).mean()
        loss = loss - entropy_weight * entropy
    return loss


def learn_weights(ctx, model: MultiExpertNet, split: str, p: AggregationParams) -> tuple[list[float], int]:
    """Aggregation weights learned on one unlabeled split; returns them and the epochs run."""
    raw = torch.full((3,), 1 / 3, device=ctx.device, requires_grad=True)
    optimizer = torch.optim.SGD([raw], lr=p.lr, momentum=0.9, nesterov=True, weight_decay=p.weight_decay)
    batches = ctx.batches(ctx.split(split), p.batch_size, augment="strong", shuffle=True, seed=ctx.cfg.seed)
    model.eval()
    for epoch in range(p.epochs):
        for (view1, view2), _ in batches.epoch(epoch, views=2):
            with torch.no_grad():
                z1, z2 = model.expert_logits(view1).float(), model.expert_logits(view2).float()
            loss = aggregation_loss(F.softmax(raw, dim=0), z1, z2, p.entropy_weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        weights = F.softmax(raw.detach(), dim=0)
        if (torch.round(weights, decimals=2) < p.stop_below).any():
            break
    return weights.cpu().tolist(), epoch + 1


def logits(ctx) -> MethodOutput:
    p = ctx.cfg.methods["tade"]
    model = ctx.load_model(STAGE2, build(ctx, p.train))
    expert_logits = ctx.predict_splits(model, forward=model.expert_logits)  # (N, 3, C), clean images
    weights, epochs = {}, {}
    for split in ("test", *SHIFTED_SPLITS):
        weights[split], epochs[split] = learn_weights(ctx, model, split, p.test_time)
    out = {}
    for split, z in expert_logits.items():
        w = np.asarray(weights.get(split, weights["test"]), dtype=np.float32)
        out[split] = np.einsum("e,nec->nc", w, z)
    info = {"weights": {s: [round(v, 4) for v in w] for s, w in weights.items()}, "test_time_epochs": epochs}
    return MethodOutput(out, ctx.cost(model), info)


METHOD = Method(
    name="tade",
    summary="three experts for forward / uniform / backward label distributions, aggregated per test split "
    "by test-time self-supervision",
    params_cls=TadeParams,
    logits=logits,
    train_stage2=train_stage2,
    trained_in=("stage2",),
)
