"""Build every split list and meta.json from a prepared data set (the `splits` stage)."""

import numpy as np

from ltr.config import DataConfig, SplitsConfig
from ltr.data.long_tail import (
    counted_indices,
    long_tailed_indices,
    one_tail_profile,
    per_class_permutations,
    shifted_counts,
    shifted_indices,
)
from ltr.data.prepared import PreparedImages
from ltr.errors import LtrError
from ltr.layout import OPEN_LABEL, SHIFT_FACTORS
from ltr.metrics.groups import describe_rule, shot_groups


def build_splits(images: PreparedImages, data: DataConfig, cfg: SplitsConfig) -> tuple[dict, dict]:
    """Returns ({split name: (ids, labels)}, meta). What it does with the data set follows its traits."""
    info, traits = images.info, images.traits
    num_classes = info["num_classes"]
    ids = np.asarray(images.ids)
    lists = {}

    def pool(name):
        idx = np.flatnonzero(images.pools == name)
        return ids[idx], images.labels[idx]

    train_ids, train_labels = pool("train")
    if traits.official_train_list:  # long-tailed already: used verbatim
        lists["train"] = (train_ids, train_labels)
    elif data.profile == "one_tail":
        counts = one_tail_profile(num_classes, data.one_tail.head_count, data.one_tail.tail_count)
        available = int(np.bincount(train_labels, minlength=num_classes).min())
        if max(counts) > available:
            raise LtrError(
                f"data.one_tail asks for {max(counts)} training images of a class; the data set has {available} "
                f"per class: choose counts <= {available}"
            )
        keep = counted_indices(train_labels, counts, cfg.seed)
        lists["train"] = (train_ids[keep], train_labels[keep])
    elif traits.own_counts_at_imbalance_one and data.imb_factor == 1:  # a tree that is long-tailed already
        lists["train"] = (train_ids, train_labels)
    else:
        keep = long_tailed_indices(train_labels, num_classes, data.imb_factor, cfg.seed)
        lists["train"] = (train_ids[keep], train_labels[keep])
    train_counts = np.bincount(lists["train"][1], minlength=num_classes)
    if (train_counts == 0).any():
        empty = int(np.flatnonzero(train_counts == 0)[0])
        if traits.official_train_list:
            raise LtrError(f"the training list has no image of class {empty}; every class needs at least one")
        raise LtrError(
            f"data.imb_factor = {data.imb_factor} leaves class {empty} with no training image; "
            f"lower data.imb_factor (at most {min(np.bincount(train_labels))})"
        )
    lists["val"] = pool(traits.val_pool)  # CIFAR-LT protocols validate on the test set
    test_ids, test_labels = pool("test")
    lists["test"] = (test_ids, test_labels)
    open_ids, _ = pool("open")
    if traits.open_set and len(open_ids):  # no list without open images (synthetic with 0 open classes)
        lists["open"] = (open_ids, np.full(len(open_ids), OPEN_LABEL))

    perms = per_class_permutations(test_labels, num_classes, cfg.seed)
    img_max = min(len(p) for p in perms)
    position = {p: i for i, p in enumerate(test_ids)}
    for factor in SHIFT_FACTORS:
        for direction in ("forward", "backward"):
            name = f"test_{direction}{factor}"
            given = images.shifted(name)  # TADE's lists where the data set has them
            if given is not None:
                keep = np.array([position[p] for p in given], dtype=np.int64)
            else:
                counts = shifted_counts(train_counts, img_max, factor, backward=direction == "backward")
                keep = shifted_indices(perms, counts)
            lists[name] = (test_ids[keep], test_labels[keep])

    groups = shot_groups(train_counts, cfg.many_threshold, cfg.few_threshold, cfg.group_rule)
    meta = {
        "dataset": info["name"],
        "num_classes": num_classes,
        "class_names": info["class_names"],
        "train_counts": train_counts.tolist(),
        "shot_groups": groups.tolist(),
        "group_sizes": {g: int((groups == g).sum()) for g in ("many", "medium", "few")},
        "group_rule": {"name": cfg.group_rule, **describe_rule(cfg.many_threshold, cfg.few_threshold, cfg.group_rule)},
        "imb_factor": round(float(train_counts.max() / train_counts.min()), 2),
        "image_size": info["image_size"],
        "mean": info["mean"],
        "std": info["std"],
        "splits": {name: len(v[0]) for name, v in lists.items()},
        "shifted_lists_given": info.get("shifted_lists", []),  # used verbatim; the other shifted lists are drawn
        **({"val_held_out": info["val_held_out"]} if "val_held_out" in info else {}),  # an image folder without val/
    }
    return lists, meta
