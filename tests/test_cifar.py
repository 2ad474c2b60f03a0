"""CIFAR-10/100 read from small archives written here in torchvision's exact python-pickle layout."""

import pickle

import numpy as np
import pytest

from ltr.config import DataConfig, SplitsConfig
from ltr.data.cifar import prepare_cifar, read_cifar
from ltr.data.prepared import PreparedImages, write_prepared
from ltr.data.splits import build_splits
from ltr.errors import LtrError


def _dump(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def make_cifar10(root, per_class_train=6, per_class_test=2):
    rng = np.random.RandomState(0)
    folder = root / "cifar-10-batches-py"
    labels = np.tile(np.arange(10), per_class_train)
    chunks = np.array_split(np.arange(len(labels)), 5)
    for i, idx in enumerate(chunks, start=1):
        data = rng.randint(0, 256, (len(idx), 3072), dtype=np.uint8)
        _dump(
            folder / f"data_batch_{i}",
            {
                "batch_label": f"batch {i}",
                "labels": labels[idx].tolist(),
                "data": data,
                "filenames": [f"t{j}.png" for j in idx],
            },
        )
    test = np.tile(np.arange(10), per_class_test)
    _dump(
        folder / "test_batch", {"labels": test.tolist(), "data": rng.randint(0, 256, (len(test), 3072), dtype=np.uint8)}
    )
    _dump(folder / "batches.meta", {"label_names": [f"c10_{c}" for c in range(10)], "num_vis": 3072})


def make_cifar100(root, per_class_train=10, per_class_test=2):
    rng = np.random.RandomState(1)
    folder = root / "cifar-100-python"
    for split, n in (("train", per_class_train), ("test", per_class_test)):
        fine = np.tile(np.arange(100), n)
        _dump(
            folder / split,
            {
                "fine_labels": fine.tolist(),
                "coarse_labels": (fine // 5).tolist(),
                "data": rng.randint(0, 256, (len(fine), 3072), dtype=np.uint8),
            },
        )
    _dump(
        folder / "meta",
        {"fine_label_names": [f"c100_{c}" for c in range(100)], "coarse_label_names": [f"s{c}" for c in range(20)]},
    )


def test_read_cifar_layout(tmp_path):
    make_cifar10(tmp_path)
    images, labels, names = read_cifar("cifar10", tmp_path, train=True)
    assert images.shape == (60, 32, 32, 3) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [6] * 10 and names[3] == "c10_3"
    # the 3072 bytes of a row are the R plane, then G, then B (CIFAR's layout)
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        row = pickle.load(f, encoding="latin1")["data"][0]
    assert images[0, 0, 1, 2] == row[2 * 1024 + 1]


def test_cifar100_lt_splits(tmp_path):
    make_cifar10(tmp_path)
    make_cifar100(tmp_path)
    prepared = prepare_cifar(DataConfig(name="cifar100", root=str(tmp_path), imb_factor=5))
    write_prepared(tmp_path, **prepared)
    lists, meta = build_splits(PreparedImages(tmp_path), DataConfig(name="cifar100", imb_factor=5), SplitsConfig())
    # int(10 * 0.2 ** (i / 99)): 10 for class 0, 2 for class 99
    assert meta["train_counts"][0] == 10 and meta["train_counts"][99] == 2
    assert meta["splits"]["val"] == meta["splits"]["test"] == 200  # CIFAR-LT protocols validate on test
    assert list(lists["val"][0]) == list(lists["test"][0])
    assert meta["splits"]["open"] == 20  # CIFAR-10's test set
    assert meta["class_names"][7] == "c100_7"


def test_missing_archive_is_a_clear_error(tmp_path, monkeypatch):
    make_cifar100(tmp_path)  # no CIFAR-10 for the open set, and its download fails (as offline)
    import ltr.data.cifar as cifar

    real = cifar._dataset_class

    class Offline(real("cifar10")):
        def __init__(self, *args, **kwargs):
            raise OSError("no network")

    monkeypatch.setattr(cifar, "_dataset_class", lambda name: Offline if name == "cifar10" else real(name))
    with pytest.raises(LtrError, match="cifar10 is not under data.root"):
        prepare_cifar(DataConfig(name="cifar100", root=str(tmp_path)))


def test_a_batch_pickled_with_bytes_keys_reads_the_same(tmp_path):
    """pickle.load(..., encoding="bytes") and saved again: the keys are bytes, the content the same."""
    make_cifar10(tmp_path / "text")
    make_cifar10(tmp_path / "bytes")
    for path in (tmp_path / "bytes" / "cifar-10-batches-py").iterdir():
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="bytes")
        _dump(path, {k if isinstance(k, bytes) else k.encode(): v for k, v in entry.items()})
    text, as_bytes = read_cifar("cifar10", tmp_path / "text", True), read_cifar("cifar10", tmp_path / "bytes", True)
    assert (text[0] == as_bytes[0]).all() and (text[1] == as_bytes[1]).all() and text[2] == as_bytes[2]


def test_a_batch_without_its_data_is_one_line(tmp_path):
    make_cifar10(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    _dump(batch, {"labels": [0, 1]})
    with pytest.raises(LtrError, match=r"data_batch_2 is not a CIFAR batch: it has no 'data' \(its keys: labels\)"):
        read_cifar("cifar10", tmp_path, train=True)
