"""tau-normalisation (Kang et al., "Decoupling Representation and Classifier for Long-Tailed
Recognition", ICLR 2020): no training. Each class weight of the stage-1 classifier is divided by its
norm to the power tau, w_j / |w_j|^tau, which shrinks the large head-class weights. The stage-1 bias
is left out, as the original's tau-norm scores f . w_j / |w_j|^tau (so tau = 0 gives the stage-1 logits
without their bias). tau is given, or chosen on the val split. The features are the ones stage 1
wrote for every split list."""

import numpy as np
import torch

from ltr.engine.context import Context, MethodOutput
from ltr.methods.shared.val_selection import best_on_val
from ltr.methods.tau_norm.params import TauNormParams

TAU_GRID = np.round(np.arange(0.0, 2.01, 0.1), 2)  # searched when tau is "auto"


def tau_normalized_logits(features: torch.Tensor, weight: torch.Tensor, tau: float) -> torch.Tensor:
    return features @ (weight / weight.norm(dim=1, keepdim=True) ** tau).t()


def logits(ctx: Context, p: TauNormParams) -> MethodOutput:
    features = {split: torch.from_numpy(f) for split, (_, f) in ctx.models.stage1_predictions().items()}
    head = ctx.models.checkpoint("stage1")["state_dict"]
    weight = head["head.weight"].float()
    tau = p.logits.tau
    info = {}
    if tau == "auto":
        labels = torch.from_numpy(ctx.data.split("val").labels)
        tau, info["val_top1_at_tau"] = best_on_val(
            TAU_GRID, lambda t: tau_normalized_logits(features["val"], weight, t), labels
        )
    info["tau"] = float(tau)
    out = {k: tau_normalized_logits(f, weight, tau).numpy() for k, f in features.items()}
    return MethodOutput(out, ctx.models.cost("stage1"), info)
