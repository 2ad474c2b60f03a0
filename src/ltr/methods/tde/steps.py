"""Causal TDE (Tang et al., "Long-Tailed Classification by Keeping the Good and Removing the Bad
Momentum Causal Effect", NeurIPS 2020).

Single-stage: trained from scratch in stage 2 under its own schedule (stage 1's by default) with plain
cross-entropy on a multi-head causal-norm classifier, while a moving average of the batch-mean feature
is kept as in the original: embed <- mu * embed + mean(f) (no (1 - mu) factor), with mu fixed (CIFAR)
or tied to the learning rate, mu = 1 - (1 - embed_momentum) * min(50 * lr, 1), for the large data sets.
It is saved in the checkpoint. At inference the logits are the factual ones minus alpha times the
counterfactual effect of the moving-average direction (ltr.models.heads.CausalNormClassifier). Model
selection during training uses TDE logits, as the original does, at train.selection_alpha.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.engine.context import Context, MethodOutput
from ltr.engine.schedule import lr_factor
from ltr.methods.shared.val_selection import best_on_val
from ltr.methods.tde.params import TdeParams, TdeTrain
from ltr.models import create_backbone
from ltr.models.heads import CausalNormClassifier

ALPHA_GRID = np.round(np.arange(0.0, 3.01, 0.25), 2)  # searched when alpha is "auto"


class TDEModel(nn.Module):
    def __init__(self, backbone: nn.Module, num_classes: int, t: TdeTrain):
        super().__init__()
        self.backbone = backbone
        self.classifier = CausalNormClassifier(backbone.out_dim, num_classes, t.heads, t.tau, t.norm_gamma)
        self.register_buffer("embed", torch.zeros(backbone.out_dim))  # the moving-average feature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.backbone(x))

    @torch.no_grad()
    def update_embed(self, features: torch.Tensor, mu: float) -> None:
        self.embed.mul_(mu).add_(features.detach().float().mean(0))

    def tde(self, x: torch.Tensor, alpha: float) -> torch.Tensor:
        return self.classifier.tde_logits(self.backbone(x), self.embed, alpha)


def embed_momentum(t: TdeTrain, lr: float) -> float:
    if t.momentum_schedule == "constant":
        return t.embed_momentum
    return 1 - (1 - t.embed_momentum) * min(50 * lr, 1.0)


def build(arch: str, num_classes: int, t: TdeTrain, seed: int) -> TDEModel:
    torch.manual_seed(seed)
    return TDEModel(create_backbone(arch), num_classes, t)


def train_stage2(ctx: Context, p: TdeParams) -> None:
    t = p.train
    model = ctx.models.to_device(build(ctx.models.arch, ctx.data.num_classes, t, ctx.seed))
    steps = ctx.data.steps_per_epoch(t)
    factor = lr_factor(t, steps)

    def step(model, x, y, epoch):
        features = model.backbone(x)
        logits = model.classifier(features)
        model.update_embed(features, embed_momentum(t, t.lr * factor(epoch * steps)))  # mu of the epoch's lr
        return F.cross_entropy(logits, y), logits

    ctx.models.train(model, t, step=step, val_forward=lambda x: model.tde(x, t.selection_alpha))


def logits(ctx: Context, p: TdeParams) -> MethodOutput:
    trained = ctx.models.trained("stage2", TdeTrain)
    model = ctx.models.load("stage2", build(trained.arch, ctx.data.num_classes, trained.train, ctx.seed))
    features = ctx.data.predict_splits(model, forward=model.backbone)
    classifier, embed = model.classifier.cpu().float(), model.embed.cpu()
    with torch.no_grad():
        factual = {k: classifier(torch.from_numpy(f)) for k, f in features.items()}
        counter = {k: classifier.counterfactual(torch.from_numpy(f), embed) for k, f in features.items()}
    info = {}
    alpha = p.logits.alpha
    if alpha == "auto":
        labels = torch.from_numpy(ctx.data.split("val").labels)
        alpha, top1 = best_on_val(ALPHA_GRID, lambda a: factual["val"] - a * counter["val"], labels)
        info["val_top1_at_alpha"] = top1
    info["alpha"] = float(alpha)
    out = {k: (factual[k] - alpha * counter[k]).numpy() for k in features}
    return MethodOutput(out, ctx.models.cost("stage2"), info)
