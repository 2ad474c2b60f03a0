"""tau-normalisation (Kang et al., "Decoupling Representation and Classifier for Long-Tailed
Recognition", ICLR 2020): no training. Each class weight of the stage-1 classifier is divided by its
norm to the power tau, w_j / |w_j|^tau, which shrinks the large head-class weights; the bias is kept,
so tau = 0 gives the stage-1 logits. tau is given, or chosen on the val split."""

import math
from dataclasses import dataclass

import numpy as np
import torch

from ltr.config import param
from ltr.errors import LtrError
from ltr.layout import STAGE1
from ltr.methods import Method, NoSettings, best_on_val
from ltr.pipeline import MethodOutput

TAU_GRID = np.round(np.arange(0.0, 2.01, 0.1), 2)  # searched when tau is "auto"


@dataclass(frozen=True)
class TauNormParams:
    tau: float | str = param("auto")  # a number >= 0, or "auto": the best val top-1 over 0, 0.1, ..., 2
    train: NoSettings = param(NoSettings())

    def __post_init__(self):
        valid = self.tau == "auto" if isinstance(self.tau, str) else math.isfinite(self.tau) and self.tau >= 0
        if not valid:
            raise LtrError(f"params.yaml: tau_norm.tau = {self.tau!r} is not allowed; give a number >= 0 or 'auto'")


def tau_normalized_logits(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, tau: float):
    return features @ (weight / weight.norm(dim=1, keepdim=True) ** tau).t() + bias


def logits(ctx) -> MethodOutput:
    model = ctx.load_model(STAGE1)
    features = {k: torch.from_numpy(v) for k, v in ctx.predict_splits(model, forward=model.features).items()}
    weight, bias = model.head.weight.detach().float().cpu(), model.head.bias.detach().float().cpu()
    tau = ctx.cfg.methods["tau_norm"].tau
    info = {}
    if tau == "auto":
        labels = torch.from_numpy(ctx.split("val").labels)
        tau, info["val_top1_at_tau"] = best_on_val(
            TAU_GRID, lambda t: tau_normalized_logits(features["val"], weight, bias, t), labels
        )
    info["tau"] = float(tau)
    out = {k: tau_normalized_logits(f, weight, bias, tau).numpy() for k, f in features.items()}
    return MethodOutput(out, ctx.cost(model), info)


METHOD = Method(
    name="tau_norm",
    summary="post-hoc: divides each stage-1 class weight by its norm to the power tau (tau from val)",
    params_cls=TauNormParams,
    logits=logits,
)
