"""Data sets the prepare stage can build: name -> function(DataConfig) -> the arguments of write_prepared."""

import numpy as np

from ltr.config import DataConfig
from ltr.data.cifar import prepare_cifar
from ltr.data.image_folder import prepare_image_folder
from ltr.data.image_lists import prepare_image_lists
from ltr.data.synthetic import SyntheticSpec, generate


def synthetic(cfg: DataConfig) -> dict:
    s = cfg.synthetic
    spec = SyntheticSpec(s.num_classes, s.num_superclasses, s.open_classes, s.similarity, s.difficulty, s.image_size)
    pools = {"train": s.train_per_class, "val": s.val_per_class, "test": s.test_per_class}
    out = generate(spec, pools, open_per_class=s.test_per_class, seed=cfg.seed)
    labels = out["labels"].numpy()
    labels[labels >= s.num_classes] = -1
    superclass = out["superclass"][: s.num_classes].tolist()
    names = [f"super{sc:02d}_class{c:03d}" for c, sc in enumerate(superclass)]
    info = {"name": "synthetic", "num_classes": s.num_classes, "class_names": names, "superclass": superclass}
    return {"images": out["images"].numpy(), "labels": labels, "pools": out["pool"], "info": info}


DIGITS_KNOWN = 8  # digits 0-7 are the known classes; the test images of 8 and 9 form the open set
DIGITS_PER_CLASS = {"val": 10, "test": 40}  # held out per class before the rest becomes the train pool


def digits(cfg: DataConfig) -> dict:
    """scikit-learn's bundled 8x8 handwritten digits, upscaled 4x to 32x32 RGB."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images * (255 / 16)).round().astype(np.uint8)
    images = np.repeat(np.repeat(images, 4, axis=1), 4, axis=2)[..., None].repeat(3, axis=3)
    rng = np.random.RandomState(cfg.seed)
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


PREPARERS = {
    "cifar10": prepare_cifar,
    "cifar100": prepare_cifar,
    "synthetic": synthetic,
    "digits": digits,
    "imagenet_lt": prepare_image_lists,
    "places_lt": prepare_image_lists,
    "inat2018": prepare_image_lists,
    "folder": prepare_image_folder,
}
