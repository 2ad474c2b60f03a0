"""Post-hoc knobs chosen on the val split (tau-norm's tau, TDE's alpha)."""

from collections.abc import Callable


def best_on_val(grid, logits_for: Callable, labels) -> tuple[float, float]:
    """The grid value whose val logits give the best top-1 (the first, i.e. smallest, on ties), and that
    top-1 in percent."""
    scores = [float((logits_for(float(v)).argmax(1) == labels).float().mean()) for v in grid]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return float(grid[best]), round(100 * scores[best], 3)
