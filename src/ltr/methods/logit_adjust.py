"""Post-hoc logit adjustment (Menon et al., "Long-Tail Learning via Logit Adjustment", ICLR 2021):
no training; the stage-1 logits minus tau * log(training prior). With tau = 1 this is the Bayes
correction for a uniform test distribution."""

from dataclasses import dataclass

import numpy as np

from ltr.config import param
from ltr.layout import STAGE1
from ltr.methods import Method, NoSettings
from ltr.pipeline import MethodOutput


@dataclass(frozen=True)
class LogitAdjustParams:
    tau: float = param(1.0, ge=0.0)
    train: NoSettings = param(NoSettings())


def adjust(logits: np.ndarray, prior: np.ndarray, tau: float) -> np.ndarray:
    return logits - tau * np.log(prior)


def logits(ctx) -> MethodOutput:
    model = ctx.load_model(STAGE1)
    prior = ctx.prior().cpu().numpy()
    tau = ctx.cfg.methods["logit_adjust"].tau
    out = {k: adjust(v, prior, tau) for k, v in ctx.predict_splits(model).items()}
    return MethodOutput(out, ctx.cost(model), {"tau": tau})


METHOD = Method(
    name="logit_adjust",
    summary="post-hoc: stage-1 logits minus tau * log(training prior)",
    params_cls=LogitAdjustParams,
    logits=logits,
)
