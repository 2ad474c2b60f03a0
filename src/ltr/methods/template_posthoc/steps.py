"""A post-hoc method to copy (README, "Add a method"): temperature scaling (Guo et al., "On Calibration
of Modern Neural Networks", ICML 2017). No training: the stage-1 logits, as stage 1 wrote them for
every split list, divided by one temperature T, given or chosen on the val split (the lowest negative
log-likelihood). Every argmax, so every accuracy, stays softmax's; the confidences change, and with
them ECE, NLL and open-set rejection.

Your own: `ltr new-method <name>` copies this folder to src/ltr/methods/<name>/, the one folder a
method is; then replace `scaled` with your formula.
"""

import numpy as np

from ltr.engine.context import Context, MethodOutput
from ltr.methods.template_posthoc.params import TemplatePosthocParams
from ltr.metrics.calibration import negative_log_likelihood

TEMPERATURE_GRID = np.round(np.arange(0.5, 3.01, 0.1), 2)  # searched when temperature is "auto"


def scaled(logits: np.ndarray, temperature: float) -> np.ndarray:
    return logits / temperature


def best_temperature(logits: np.ndarray, labels: np.ndarray, grid=TEMPERATURE_GRID) -> tuple[float, float]:
    """The grid value with the lowest NLL of (logits, labels), the first on ties, and that NLL."""
    losses = [negative_log_likelihood(scaled(logits, t), labels) for t in grid]
    best = int(np.argmin(losses))
    return float(grid[best]), round(losses[best], 5)


def logits(ctx: Context, p: TemplatePosthocParams) -> MethodOutput:
    stage1 = {split: z for split, (z, _features) in ctx.models.stage1_predictions().items()}
    temperature, info = p.logits.temperature, {}
    if temperature == "auto":  # chosen on val, never on a test split
        temperature, info["val_nll"] = best_temperature(stage1["val"], ctx.data.split("val").labels)
    info["temperature"] = float(temperature)
    out = {split: scaled(z, temperature) for split, z in stage1.items()}
    return MethodOutput(out, ctx.models.cost("stage1"), info)  # info: metrics/method.json
