"""TADE: test-agnostic long-tailed recognition (Zhang et al., "Test-Agnostic Long-Tailed Recognition
by Test-Time Aggregating Diverse Experts with Self-Supervision", 2021; SADE at NeurIPS 2022).

Stage 2 trains a three-expert network from scratch, under its own schedule (stage 1's by default),
with the diverse-expert loss (forward, uniform and backward experts). In the logits stage each test
split gets its own aggregation: the model frozen in eval mode, three weights w = softmax(a) (a
starting uniform) are learned by maximising the cosine between the aggregated predictions of two
augmentations (TADE's test-time view) of the same unlabeled images of that split (SGD, 5 epochs,
stopping after an epoch in which a weight falls below 0.05); predictions use the clean images.

Reported as the original reports: the closed-set numbers (the uniform test split, hence closed.* and
agnostic.uniform) come from the plain mean of the experts, as its test.py computes them, and so do
val, train and the open set, scored with the same model as its known images; test-time aggregation
is its protocol for the shifted test splits, whose logits use their own learned weights, learned on
that unlabeled test split and applied to its clean images, as in the original's test_training.py.
metrics/method.json has the weights of every test split, the top-1 they give on the uniform one
(`test_time_uniform_top1`), and the plain mean's top-1 on every test split (`plain_mean_top1`), so
that what aggregation adds on each reads beside agnostic.* in metrics/details.json.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ltr.engine.context import Context, MethodOutput
from ltr.losses.diverse_experts import DiverseExpertLoss
from ltr.methods.tade.params import AggregationParams, TadeParams, TadeTrain
from ltr.models.multi_expert import MultiExpertNet


def build(arch: str, num_classes: int, t: TadeTrain, seed: int) -> MultiExpertNet:
    torch.manual_seed(seed)
    return MultiExpertNet(arch, num_classes, 3, t.reduce_dimension, t.expert_stages, t.scale)


def train_stage2(ctx: Context, p: TadeParams) -> None:
    t = p.train
    loss = DiverseExpertLoss(ctx.data.prior(), t.tau)

    def step(model, x, y, epoch):
        expert_logits = model.expert_logits(x)
        return loss(expert_logits, y), expert_logits.mean(dim=1)

    model = build(ctx.models.arch, ctx.data.num_classes, t, ctx.seed)
    ctx.models.train(ctx.models.to_device(model), t, step=step)


def aggregation_loss(
    weights: torch.Tensor, view1: torch.Tensor, view2: torch.Tensor, entropy_weight: float = 0.0
) -> torch.Tensor:
    """Negative cosine between the predictions of two views, each from expert logits (B, E, C)
    aggregated with the weights (E,) before the softmax; minus entropy_weight times the two
    predictions' entropies (mean over all entries): on iNaturalist the original maximises the
    predictions' entropy, a push away from confident predictions."""
    p1 = F.softmax(torch.einsum("e,bec->bc", weights, view1), dim=1)
    p2 = F.softmax(torch.einsum("e,bec->bc", weights, view2), dim=1)
    loss = -F.cosine_similarity(p1, p2, dim=1, eps=1e-6).mean()
    if entropy_weight:
        entropy = -(p1 * torch.log(p1 + 1e-12)).mean() - (p2 * torch.log(p2 + 1e-12)).mean()
        loss = loss - entropy_weight * entropy
    return loss


def learn_weights(ctx: Context, model: MultiExpertNet, split: str, p: AggregationParams) -> tuple[list[float], int]:
    """Aggregation weights learned on one unlabeled split; returns them and the epochs run."""
    raw = torch.full((3,), 1 / 3, device=ctx.device, requires_grad=True)
    optimizer = torch.optim.SGD([raw], lr=p.lr, momentum=0.9, nesterov=True, weight_decay=p.weight_decay)
    batches = ctx.data.batches(ctx.data.split(split), p.batch_size, augment="tade", shuffle=True, seed=ctx.seed)
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


def logits(ctx: Context, p: TadeParams) -> MethodOutput:
    trained = ctx.models.trained("stage2", TadeTrain)
    model = ctx.models.load("stage2", build(trained.arch, ctx.data.num_classes, trained.train, ctx.seed))
    expert_logits = ctx.data.predict_splits(model, forward=model.expert_logits)  # (N, 3, C), clean images
    weights, epochs = {}, {}
    for split in ("test", *ctx.data.shifted_splits):
        weights[split], epochs[split] = learn_weights(ctx, model, split, p.logits.test_time)
    out = reported_logits(expert_logits, weights, ctx.data.shifted_splits)
    uniform = aggregate(weights["test"], expert_logits["test"]).argmax(1) == ctx.data.split("test").labels
    info = {
        "weights": {s: [round(v, 4) for v in w] for s, w in weights.items()},
        "test_time_epochs": epochs,
        "test_time_uniform_top1": round(100 * float(uniform.mean()), 3),
        "plain_mean_top1": {s: plain_mean_top1(expert_logits[s], ctx.data.split(s).labels) for s in weights},
    }
    return MethodOutput(out, ctx.models.cost("stage2"), info)


def plain_mean_top1(expert_logits: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 (%) of the plain mean of the experts' logits (N, E, C): test.py's prediction."""
    return round(100 * float((expert_logits.mean(axis=1).argmax(1) == labels).mean()), 3)


def aggregate(weights: list[float], expert_logits: np.ndarray) -> np.ndarray:
    return np.einsum("e,nec->nc", np.asarray(weights, dtype=np.float32), expert_logits)


def reported_logits(
    expert_logits: dict[str, np.ndarray], weights: dict[str, list[float]], shifted: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The plain mean of the experts for every split, as the original's test.py; the shifted test
    splits aggregated with the weights learned on each."""
    out = {split: z.mean(axis=1) for split, z in expert_logits.items()}
    for split in shifted:
        out[split] = aggregate(weights[split], expert_logits[split])
    return out
