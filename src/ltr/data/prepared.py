"""The prepared form of an in-memory data set, and its loading.

data/prepared/ holds `images.npy` (uint8, N x H x W x 3, CIFAR's layout), `index.csv` (id, label,
pool) and `info.json` (classes, image size, per-channel mean and std of the training pool). An id is
`<pool>/<running number>`, the stable "path" that split lists name. Open-set images have label -1.
"""

import csv
from pathlib import Path

import numpy as np
import torch

from ltr.errors import LtrError
from ltr.layout import PREPARED, read_json, write_json


def write_prepared(out: Path, images: np.ndarray, labels: np.ndarray, pools: list[str], info: dict) -> None:
    out = Path(out)
    np.save(out / "images.npy", images)
    counters: dict[str, int] = {}
    with open(out / "index.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label", "pool"])
        for label, pool in zip(labels.tolist(), pools, strict=True):
            n = counters.get(pool, 0)
            counters[pool] = n + 1
            writer.writerow([f"{pool}/{n:06d}", label, pool])
    train = images[np.asarray(pools) == "train"].astype(np.float64) / 255
    info = {
        **info,
        "image_size": int(images.shape[1]),
        "mean": train.mean((0, 1, 2)).round(4).tolist(),
        "std": train.std((0, 1, 2)).round(4).tolist(),
        "pools": counters,
    }
    write_json(out / "info.json", info)


def channel_stats(images: np.ndarray, chunk: int = 4096) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (on a 0-1 scale) of uint8 images (N, H, W, 3), in chunks to bound memory."""
    total, total_sq, n = np.zeros(3), np.zeros(3), 0
    for start in range(0, len(images), chunk):
        x = images[start : start + chunk].reshape(-1, 3).astype(np.float64) / 255
        total += x.sum(0)
        total_sq += (x * x).sum(0)
        n += len(x)
    mean = total / n
    std = np.sqrt(np.maximum(total_sq / n - mean * mean, 0))
    return mean.round(4).tolist(), std.round(4).tolist()


class PreparedImages:
    """Looks up images by id; the array is memory-mapped and only the rows asked for are read."""

    def __init__(self, root: Path = PREPARED):
        root = Path(root)
        for name in ("images.npy", "index.csv", "info.json"):
            if not (root / name).exists():
                raise LtrError(f"{root / name} is missing: run `dvc repro prepare`")
        self.info = read_json(root / "info.json")
        with open(root / "index.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        self.row = {r["id"]: i for i, r in enumerate(rows)}
        self.labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
        self.pools = np.array([r["pool"] for r in rows])
        self.ids = [r["id"] for r in rows]
        self._images = np.load(root / "images.npy", mmap_mode="r")

    def load(self, paths: list[str], source: str = "split list") -> torch.Tensor:
        """uint8 tensor (N, 3, H, W) of the images with these ids."""
        try:
            rows = np.fromiter((self.row[p] for p in paths), dtype=np.int64, count=len(paths))
        except KeyError as e:
            raise LtrError(f"{source}: image {e.args[0]!r} is not in {PREPARED}/index.csv") from None
        return torch.from_numpy(np.ascontiguousarray(self._images[rows])).permute(0, 3, 1, 2)
