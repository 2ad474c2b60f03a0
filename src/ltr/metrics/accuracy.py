"""Sample accuracy, per-class accuracy and shot-group means (nan-safe)."""

import numpy as np

from ltr.metrics.groups import GROUPS


def top1(preds: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(preds == labels)) if len(labels) else float("nan")


def per_class_accuracy(preds: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Accuracy of each class over its samples; nan for a class with no sample."""
    total = np.bincount(labels, minlength=num_classes).astype(float)
    right = np.bincount(labels[preds == labels], minlength=num_classes).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, right / np.maximum(total, 1), np.nan)


def group_accuracy(class_accuracy: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Mean of the per-class accuracies inside each shot group, ignoring classes without samples;
    nan for a group that has no class with samples."""
    out = {}
    for g in GROUPS:
        values = class_accuracy[(groups == g) & ~np.isnan(class_accuracy)]
        out[g] = float(values.mean()) if len(values) else float("nan")
    return out
