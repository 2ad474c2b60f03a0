"""The logits stage's files, data/logits/<split>.npz: `logits` (N x C float32) and `labels` (N)."""

from pathlib import Path

import numpy as np

from ltr.errors import LtrError


def write_logits(path: Path, logits: np.ndarray, labels: np.ndarray) -> None:
    np.savez(path, logits=logits.astype(np.float32), labels=labels)


def read_logits(path: Path, num_classes: int) -> tuple:
    """(logits N x C float32, labels N int64) from a logits .npz, validated against the class count."""
    try:
        with np.load(path) as f:
            logits, labels = f["logits"], f["labels"]
    except FileNotFoundError:
        raise LtrError(f"{path} is missing: run `dvc repro logits`") from None
    except Exception as e:  # truncated zip, missing key, not an npz
        raise LtrError(
            f"{path} is unreadable or incomplete ({type(e).__name__}: {e}); re-run `dvc repro logits`"
        ) from None
    if logits.ndim != 2 or logits.shape[1] != num_classes or len(logits) != len(labels):
        raise LtrError(
            f"{path}: logits of shape {logits.shape} for {len(labels)} labels do not match "
            f"{num_classes} classes; re-run `dvc repro logits`"
        )
    return logits.astype(np.float32), labels.astype(np.int64)
