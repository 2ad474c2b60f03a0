"""Post-hoc logit adjustment (Menon et al., "Long-Tail Learning via Logit Adjustment", ICLR 2021):
no training; the stage-1 logits (as stage 1 wrote them) minus tau * log(training prior). With tau = 1 this is the Bayes
correction for a uniform test distribution."""

import numpy as np

from ltr.layout import STAGE1
from ltr.pipeline import MethodOutput


def adjust(logits: np.ndarray, prior: np.ndarray, tau: float) -> np.ndarray:
    return logits - tau * np.log(prior)


def logits(ctx, p) -> MethodOutput:
    prior = ctx.prior().cpu().numpy()
    tau = p.logits.tau
    out = {split: adjust(z, prior, tau) for split, (z, _) in ctx.stage1_predictions().items()}
    return MethodOutput(out, ctx.cost(STAGE1), {"tau": tau})
