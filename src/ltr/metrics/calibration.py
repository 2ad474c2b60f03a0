"""Calibration: expected calibration error over equal-width confidence bins, and the NLL."""

import numpy as np


def reliability_bins(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> list[dict]:
    """Per bin of max-probability confidence (lower, upper]: count, mean confidence, accuracy."""
    confidence = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    # bin b holds confidences in (edges[b], edges[b+1]]; a confidence of exactly 0 goes to bin 0
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        rows.append(
            {
                "bin": b,
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": n,
                "confidence": float(confidence[mask].mean()) if n else float("nan"),
                "accuracy": float(correct[mask].mean()) if n else float("nan"),
            }
        )
    return rows


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE = sum over bins of (bin size / N) * |accuracy - mean confidence| (Guo et al., ICML 2017)."""
    total = len(labels)
    return float(
        sum(
            r["count"] / total * abs(r["accuracy"] - r["confidence"])
            for r in reliability_bins(probs, labels, bins)
            if r["count"]
        )
    )


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits - logits.max(1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())
