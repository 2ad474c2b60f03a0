"""CIFAR-10 / CIFAR-100 in torchvision's python-pickle layout, under data.root.

The archives are read with the file lists of torchvision's CIFAR10 / CIFAR100 classes; when they are
missing, torchvision downloads them where the machine has internet. The long-tailed cut (seed 0, the
profile of LDAM-DRW / RIDE / TADE) happens in the splits stage. As in those code bases, the balanced
test set also serves as the val set (their trait in ltr.config.datasets.cifar). The other CIFAR's
test set is the open set (CIFAR-10 for CIFAR-100 and the reverse), so both archives must be under
data.root.
"""

import pickle
from pathlib import Path

import numpy as np

from ltr.config import DataConfig
from ltr.config.datasets import dataset
from ltr.data.prepared import traits_record
from ltr.errors import LtrError


def _dataset_class(name: str):
    from torchvision.datasets import CIFAR10, CIFAR100  # torchvision: only this preparer pays its import

    return {"cifar10": CIFAR10, "cifar100": CIFAR100}[name]


def read_cifar(name: str, root: Path, train: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """uint8 images (N, 32, 32, 3), labels (N,) and class names of one CIFAR split."""
    cls = _dataset_class(name)
    folder = Path(root) / cls.base_folder
    files = cls.train_list if train else cls.test_list
    if not all((folder / f).exists() for f, _ in files):
        try:
            cls(str(root), train=train, download=True)
        except Exception as e:  # offline, or a broken archive: the user has to put it there
            raise LtrError(
                f"{name} is not under data.root = {str(root)!r} ({folder}/) and could not be downloaded "
                f"({type(e).__name__}); put torchvision's python archive there"
            ) from None
    images, labels = [], []
    for f, _ in files:
        entry = read_batch(folder / f, ("data", "labels" if name == "cifar10" else "fine_labels"))
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels += list(entry["labels" if name == "cifar10" else "fine_labels"])
    names = read_batch(folder / cls.meta["filename"], (cls.meta["key"],))[cls.meta["key"]]
    return np.concatenate(images), np.asarray(labels, dtype=np.int64), [_text(n) for n in names]


def _text(value) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else value


def read_batch(path: Path, keys: tuple[str, ...]) -> dict:
    """One pickled CIFAR file with its keys as text, whether they were pickled as str (torchvision's
    archives, read with encoding="latin1") or as bytes (a file re-saved after pickle.load(...,
    encoding="bytes")); a key of `keys` that is missing is one line naming the file."""
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as e:
        raise LtrError(f"{path} is not a readable CIFAR batch ({e})") from None
    if not isinstance(entry, dict):
        raise LtrError(f"{path} is not a CIFAR batch: it holds a {type(entry).__name__}, not a dict")
    entry = {_text(k): v for k, v in entry.items()}
    missing = next((k for k in keys if k not in entry), None)
    if missing is not None:
        raise LtrError(f"{path} is not a CIFAR batch: it has no {missing!r} (its keys: {', '.join(sorted(entry))})")
    return entry


def prepare_cifar(cfg: DataConfig) -> dict:
    root = Path(cfg.root)
    other = "cifar100" if cfg.name == "cifar10" else "cifar10"
    train_x, train_y, names = read_cifar(cfg.name, root, train=True)
    test_x, test_y, _ = read_cifar(cfg.name, root, train=False)
    open_x, _, _ = read_cifar(other, root, train=False)
    images = np.concatenate([train_x, test_x, open_x])
    labels = np.concatenate([train_y, test_y, np.full(len(open_x), -1)])
    pools = ["train"] * len(train_x) + ["test"] * len(test_x) + ["open"] * len(open_x)
    record = traits_record(dataset(cfg.name).traits)
    info = {"name": cfg.name, "num_classes": len(names), "class_names": names, **record}
    return {"images": images, "labels": labels, "pools": pools, "info": info}


def prepare(data: DataConfig) -> dict:
    """The entry that ltr.data.prepared.read_dataset calls for the data sets this module reads."""
    return prepare_cifar(data)
