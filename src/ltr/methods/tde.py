"""Causal TDE (Tang et al., "Long-Tailed Classification by Keeping the Good and Removing the Bad
Momentum Causal Effect", NeurIPS 2020).

Single-stage: trained from scratch in stage 2 under the stage-1 schedule with plain cross-entropy on
a multi-head causal-norm classifier, while a moving average of the batch-mean feature is kept as in
the original: embed <- mu * embed + mean(f) (no (1 - mu) factor), with mu fixed (CIFAR) or tied to
the learning rate, mu = 1 - (1 - momentum) * min(50 * lr, 1), for the large data sets. It is saved in
the checkpoint. At inference the logits are the factual ones minus alpha times the counterfactual
effect of the moving-average direction (ltr.models.heads.CausalNormClassifier). Model selection
during training uses TDE logits, as the original does, at train.selection_alpha.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.config import param
from ltr.engine.schedule import lr_factor
from ltr.errors import LtrError
from ltr.layout import STAGE2
from ltr.methods import Method, best_on_val
from ltr.models import create_backbone
from ltr.models.heads import CausalNormClassifier
from ltr.pipeline import MethodOutput

ALPHA_GRID = np.round(np.arange(0.0, 3.01, 0.25), 2)  # searched when alpha is "auto"


@dataclass(frozen=True)
class TdeTrain:
    heads: int = param(2, ge=1)  # K
    tau: float = param(16.0, gt=0.0)
    gamma: float = param(0.03125, ge=0.0)  # 1/32: w / (|w| + gamma)
    momentum: float = param(0.9, ge=0.0, lt=1.0)  # mu of the moving-average feature
    momentum_schedule: str = param("constant", choices=("constant", "lr"))  # lr: ImageNet-LT / Places-LT
    selection_alpha: float = param(1.5, ge=0.0)  # alpha of the TDE logits that pick the best epoch


@dataclass(frozen=True)
class TdeParams:
    alpha: float | str = param("auto")  # at inference: a number >= 0, or auto: the best val top-1 over 0..3
    train: TdeTrain = param(TdeTrain())

    def __post_init__(self):
        valid = self.alpha == "auto" if isinstance(self.alpha, str) else math.isfinite(self.alpha) and self.alpha >= 0
        if not valid:
            raise LtrError(f"params.yaml: tde.alpha = {self.alpha!r} is not allowed; give a number >= 0 or 'auto'")


class TDEModel(nn.Module):
    def __init__(self, backbone: nn.Module, num_classes: int, t: TdeTrain):
        super().__init__()
        self.backbone = backbone
        self.classifier = CausalNormClassifier(backbone.out_dim, num_classes, t.heads, t.tau, t.gamma)
        self.register_buffer("embed", torch.zeros(backbone.out_dim))  # the moving-average feature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.backbone(x))

    @torch.no_grad()
    def update_embed(self, features: torch.Tensor, mu: float) -> None:
        self.embed.mul_(mu).add_(features.detach().float().mean(0))

    def tde(self, x: torch.Tensor, alpha: float) -> torch.Tensor:
        return self.classifier.tde_logits(self.backbone(x), self.embed, alpha)


def momentum(t: TdeTrain, lr: float) -> float:
    if t.momentum_schedule == "constant":
        return t.momentum
    return 1 - (1 - t.momentum) * min(50 * lr, 1.0)


def build(ctx, t: TdeTrain) -> TDEModel:
    torch.manual_seed(ctx.cfg.seed)
    return TDEModel(create_backbone(ctx.cfg.model.arch), ctx.num_classes, t)


def train_stage2(ctx, out) -> None:
    t, cfg = ctx.cfg.methods["tde"].train, ctx.cfg.stage1
    model = ctx.to_device(build(ctx, t))
    steps = len(ctx.split("train").labels) // cfg.batch_size
    factor = lr_factor(cfg, steps)

    def step(model, x, y, epoch):
        features = model.backbone(x)
        logits = model.classifier(features)
        model.update_embed(features, momentum(t, cfg.lr * factor(epoch * steps)))  # mu of the epoch's lr
        return F.cross_entropy(logits, y), logits

    ctx.train_and_save(
        out, model, cfg, step=step, val_forward=lambda x: model.tde(x, t.selection_alpha), key_parts=(t,)
    )


def logits(ctx) -> MethodOutput:
    p = ctx.cfg.methods["tde"]
    model = ctx.load_model(STAGE2, build(ctx, p.train))
    features = ctx.predict_splits(model, forward=model.backbone)
    classifier, embed = model.classifier.cpu().float(), model.embed.cpu()
    with torch.no_grad():
        factual = {k: classifier(torch.from_numpy(f)) for k, f in features.items()}
        counter = {k: classifier.counterfactual(torch.from_numpy(f), embed) for k, f in features.items()}
    info = {}
    alpha = p.alpha
    if alpha == "auto":
        labels = torch.from_numpy(ctx.split("val").labels)
        alpha, top1 = best_on_val(ALPHA_GRID, lambda a: factual["val"] - a * counter["val"], labels)
        info["val_top1_at_alpha"] = top1
    info["alpha"] = float(alpha)
    out = {k: (factual[k] - alpha * counter[k]).numpy() for k in features}
    return MethodOutput(out, ctx.cost(model), info)


METHOD = Method(
    name="tde",
    summary="causal-norm classifier with a moving-average feature; counterfactual TDE logits at inference",
    params_cls=TdeParams,
    logits=logits,
    train_stage2=train_stage2,
    trained_in=("stage2",),
)
