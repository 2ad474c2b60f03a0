"""A post-hoc method to copy (README, "Add a method"): temperature scaling (Guo et al., "On Calibration
of Modern Neural Networks", ICML 2017). No training: the stage-1 logits, as stage 1 wrote them for
every split list, divided by one temperature T, given or chosen on the val split (the lowest negative
log-likelihood). Every argmax, so every accuracy, stays softmax's; the confidences change, and with
them ECE, NLL and open-set rejection.

Your own: copy this file and src/ltr/config/methods/template_posthoc.py to <name>.py, copy its
params.yaml section to <name>:, and replace `scaled` with your formula.
"""

import numpy as np

from ltr.layout import STAGE1
from ltr.metrics.calibration import negative_log_likelihood
from ltr.pipeline import MethodOutput

TEMPERATURE_GRID = np.round(np.arange(0.5, 3.01, 0.1), 2)  # searched when temperature is "auto"


def scaled(logits: np.ndarray, temperature: float) -> np.ndarray:
    return logits / temperature


def best_temperature(logits: np.ndarray, labels: np.ndarray, grid=TEMPERATURE_GRID) -> tuple[float, float]:
    """The grid value with the lowest NLL of (logits, labels), the first on ties, and that NLL."""
    losses = [negative_log_likelihood(scaled(logits, t), labels) for t in grid]
    best = int(np.argmin(losses))
    return float(grid[best]), round(losses[best], 5)


def logits(ctx, p) -> MethodOutput:
    stage1 = {split: z for split, (z, _features) in ctx.stage1_predictions().items()}
    temperature, info = p.logits.temperature, {}
    if temperature == "auto":  # chosen on val, never on a test split
        temperature, info["val_nll"] = best_temperature(stage1["val"], ctx.split("val").labels)
    info["temperature"] = float(temperature)
    out = {split: scaled(z, temperature) for split, z in stage1.items()}
    return MethodOutput(out, ctx.cost(STAGE1), info)  # info: metrics/method.json
