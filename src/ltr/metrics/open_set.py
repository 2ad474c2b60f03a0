"""Open-set evaluation with OLTR's protocol (Liu et al., CVPR 2019; F-measure as fixed in 2020).

A sample is rejected as "unknown" (-1) when its max softmax probability is below the threshold.
TP: a known sample classified right. FP: a known sample classified wrong *or rejected*. FN: an open
sample not rejected. Rejected open samples count nowhere. F = 2PR / (P + R).
"""

import numpy as np
from sklearn.metrics import roc_auc_score

from ltr.layout import OPEN_LABEL


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def thresholded_predictions(probs: np.ndarray, threshold: float) -> np.ndarray:
    preds = probs.argmax(1)
    preds[probs.max(1) < threshold] = OPEN_LABEL
    return preds


def open_set_f_measure(preds: np.ndarray, labels: np.ndarray) -> float:
    known = labels != OPEN_LABEL
    tp = np.sum(known & (preds == labels))
    fp = np.sum(known & (preds != labels))
    fn = np.sum(~known & (preds != OPEN_LABEL))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def open_set_auroc(probs: np.ndarray, labels: np.ndarray) -> float:
    """AUROC of the max softmax probability for telling known samples (positive) from open ones."""
    known = labels != OPEN_LABEL
    if known.all() or not known.any():
        return float("nan")
    return float(roc_auc_score(known, probs.max(1)))
