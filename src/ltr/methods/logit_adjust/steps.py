"""Post-hoc logit adjustment (Menon et al., "Long-Tail Learning via Logit Adjustment", ICLR 2021):
no training; the stage-1 logits (as stage 1 wrote them) minus tau * log(training prior). With tau = 1 this is the Bayes
correction for a uniform test distribution."""

import numpy as np

from ltr.engine.context import Context, MethodOutput
from ltr.methods.logit_adjust.params import LogitAdjustParams


def adjust(logits: np.ndarray, prior: np.ndarray, tau: float) -> np.ndarray:
    return logits - tau * np.log(prior)


def logits(ctx: Context, p: LogitAdjustParams) -> MethodOutput:
    prior = ctx.data.prior().cpu().numpy()
    tau = p.logits.tau
    out = {split: adjust(z, prior, tau) for split, (z, _) in ctx.models.stage1_predictions().items()}
    return MethodOutput(out, ctx.models.cost("stage1"), {"tau": tau})
