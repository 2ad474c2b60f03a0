"""The prepared form of a data set, and its loading.

data/prepared/ holds `index.csv` (id, label, pool: train / val / test / open) and `info.json`
(the data set's name, classes, image size, normalisation). data/content/ fingerprints the images'
bytes, apart from the index, so that each stage depends on the images it reads (README, "File
contracts"): `training.txt` (the train and val pools, what the training stages read) and `all.txt`
(every image, what the stages that predict read); for an image-file data set also `images.csv` (id,
md5 of the file). An in-memory data set's pixels are data/prepared/images.npy itself, which every
stage depends on, so its content files are constant. An in-memory data set (Pixels.MEMORY) also holds
`images.npy` (uint8, N x H x W x 3, CIFAR's layout) and its ids are `<pool>/<running number>`; an
image-file data set (Pixels.FILES) names each image by its path under `info["root"]`. Split lists
name images by these ids. Open-set images have label -1.

What a stage does with a data set follows its traits, which the registry gives for the name that
info.json records (ltr.config.datasets); info.json's older record of them (`kind`, `long_tailed`,
`own_counts`, `val_from`) is still written, so that a prepared data set keeps its hash, and never read.
"""

import csv
import hashlib
import importlib
from pathlib import Path

import numpy as np

from ltr.config import DataConfig
from ltr.config.datasets import Pixels, Traits, dataset
from ltr.errors import LtrError
from ltr.layout import PREPARED, read_json, write_json


def read_dataset(data: DataConfig) -> dict:
    """The base data set of data.name, as write_prepared takes it, from the reader its registry entry
    names: loaded here, by name, so that the registry stays torch-free and below this layer."""
    return importlib.import_module(dataset(data.name).reader).prepare(data)


def traits_record(traits: Traits) -> dict:
    """info.json's record of the traits that the splits stage once read from it, in its order."""
    return {
        **({"long_tailed": True} if traits.official_train_list else {}),
        **({"own_counts": True} if traits.own_counts_at_imbalance_one else {}),
        **({"val_from": "test"} if traits.val_from_test else {}),
    }


def write_prepared(
    out: Path,
    images: np.ndarray | None,
    labels,
    pools: list[str],
    info: dict,
    ids=None,
    shifted: dict | None = None,
    digests: list[str] | None = None,
    content: Path | None = None,
) -> None:
    """Write the index (and the image array of an in-memory set, whose ids are generated here), and
    the given shifted test lists as shifted/<split>.txt, one id per line; with `content`, the
    fingerprints of the images' bytes there (`digests`: the md5 of each image file, in `ids` order)."""
    out, traits = Path(out), dataset(info["name"]).traits
    if content is not None:
        write_content(Path(content), ids, pools, digests, traits.val_pool)
    if shifted:
        (out / "shifted").mkdir()
        for name, paths in shifted.items():
            (out / "shifted" / f"{name}.txt").write_text("".join(f"{p}\n" for p in paths))
        info = {**info, "shifted_lists": sorted(shifted)}
    counters: dict[str, int] = {}
    if ids is None:
        ids = []
        for pool in pools:
            ids.append(f"{pool}/{counters.get(pool, 0):06d}")
            counters[pool] = counters.get(pool, 0) + 1
    with open(out / "index.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label", "pool"])
        writer.writerows(zip(ids, np.asarray(labels).tolist(), pools, strict=True))
    info = {
        "kind": traits.pixels.value,
        **info,
        "pools": {p: pools.count(p) for p in dict.fromkeys(pools)},
    }
    if traits.pixels is Pixels.MEMORY:
        np.save(out / "images.npy", images)
        mean, std = channel_stats(images[np.asarray(pools) == "train"])
        info.update(image_size=int(images.shape[1]), mean=mean, std=std)
    write_json(out / "info.json", info)


IN_MEMORY = "the pixels are data/prepared/images.npy, a dependency of every stage that reads them\n"


def write_content(out: Path, ids, pools: list[str], digests: list[str] | None, val_pool: str) -> None:
    """training.txt and all.txt: one md5 over the (id, file md5) rows of the training stages' pools and
    of every image; images.csv: those rows."""
    if digests is None:
        for name in ("training.txt", "all.txt"):
            (out / name).write_text(IN_MEMORY)
        return
    rows = [f"{i},{d}\n" for i, d in zip(ids, digests, strict=True)]
    (out / "images.csv").write_text("id,md5\n" + "".join(rows))
    training = [r for r, pool in zip(rows, pools, strict=True) if pool in ("train", val_pool)]
    for name, part in (("training.txt", training), ("all.txt", rows)):
        (out / name).write_text(hashlib.md5("".join(part).encode()).hexdigest() + "\n")


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
    """The index of a prepared data set; for an in-memory one, looks up images by id (the array is
    memory-mapped and only the rows asked for are read)."""

    def __init__(self, root: Path = PREPARED):
        root = Path(root)
        for name in ("index.csv", "info.json"):
            if not (root / name).exists():
                raise LtrError(f"{root / name} is missing: run `dvc repro prepare`")
        self.root = root
        self.info = read_json(root / "info.json")
        self.traits = dataset(self.info["name"]).traits
        self.in_memory = self.traits.pixels is Pixels.MEMORY
        with open(root / "index.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        self.row = {r["id"]: i for i, r in enumerate(rows)}
        self.labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
        self.pools = np.array([r["pool"] for r in rows])
        self.ids = [r["id"] for r in rows]
        self._images = np.load(root / "images.npy", mmap_mode="r") if self.in_memory else None

    def shifted(self, name: str) -> list[str] | None:
        """The ids of a shifted test list given with the data set (TADE's), or None."""
        if name not in self.info.get("shifted_lists", []):
            return None
        return (self.root / "shifted" / f"{name}.txt").read_text().splitlines()

    def rows(self, paths: list[str], source: str = "split list") -> np.ndarray:
        """Row of each id in the index; an id the prepared data set lacks is an error naming the list."""
        try:
            return np.fromiter((self.row[p] for p in paths), dtype=np.int64, count=len(paths))
        except KeyError as e:
            raise LtrError(f"{source}: image {e.args[0]!r} is not in {PREPARED}/index.csv") from None

    def load(self, paths: list[str], source: str = "split list"):
        """uint8 tensor (N, 3, H, W) of the images with these ids (in-memory data sets)."""
        import torch  # here: the splits stage reads the index only, and needs no torch

        rows = self.rows(paths, source)
        return torch.from_numpy(np.ascontiguousarray(self._images[rows])).permute(0, 3, 1, 2)
