"""scikit-learn's bundled 8x8 handwritten digits, upscaled 4x to 32x32 RGB: digits 0-7 are the known
classes, the test images of 8 and 9 the open set."""

import numpy as np

from ltr.config import DataConfig

DIGITS_KNOWN = 8  # digits 0-7 are the known classes; the test images of 8 and 9 form the open set
DIGITS_PER_CLASS = {"val": 10, "test": 40}  # held out per class before the rest becomes the train pool


def prepare_digits(seed: int) -> dict:
    """The data set as write_prepared takes it; `seed` (data.seed) draws the held-out images."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images * (255 / 16)).round().astype(np.uint8)
    images = np.repeat(np.repeat(images, 4, axis=1), 4, axis=2)[..., None].repeat(3, axis=3)
    rng = np.random.RandomState(seed)
    labels, pools, order = [], [], []
    for c in range(10):
        idx = np.flatnonzero(bunch.target == c)
        rng.shuffle(idx)
        if c >= DIGITS_KNOWN:
            chunks = {"open": idx[: DIGITS_PER_CLASS["test"]]}
        else:
            n_val, n_test = DIGITS_PER_CLASS["val"], DIGITS_PER_CLASS["test"]
            chunks = {"val": idx[:n_val], "test": idx[n_val : n_val + n_test], "train": idx[n_val + n_test :]}
        for pool, chunk in chunks.items():
            order.append(chunk)
            pools += [pool] * len(chunk)
            labels.append(np.full(len(chunk), -1 if pool == "open" else c))
    order = np.concatenate(order)
    info = {"name": "digits", "num_classes": DIGITS_KNOWN, "class_names": [str(c) for c in range(DIGITS_KNOWN)]}
    return {"images": images[order], "labels": np.concatenate(labels), "pools": pools, "info": info}


def prepare(data: DataConfig) -> dict:
    """The entry that ltr.data.prepared.read_dataset calls for the data sets this module reads."""
    return prepare_digits(data.seed)
