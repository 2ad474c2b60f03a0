"""The long-tailed profile and the shifted test distributions (README, "Metric definitions").

The profile is the one of LDAM-DRW, RIDE, TADE and TDE: class i of C keeps
`int(img_max * f ** (i / (C - 1)))` images with f = 1 / imb_factor; each class's images are shuffled by
one legacy numpy generator seeded once, visiting classes in label order, so seed 0 keeps exactly the
CIFAR-100-LT images of those code bases.
"""

import numpy as np

from ltr.metrics.groups import class_ranks


def lt_profile(img_max: int, num_classes: int, imb_factor: float) -> list[int]:
    """Images per class position 0..C-1 (position 0 is the head)."""
    if num_classes == 1:
        return [int(img_max)]
    f = 1.0 / imb_factor
    return [int(img_max * f ** (i / (num_classes - 1))) for i in range(num_classes)]


def one_tail_profile(num_classes: int, head_count: int, tail_count: int) -> list[int]:
    """The toy cases of "Investigate the Essence of Long-Tailed Recognition from a Unified Perspective"
    (Liu & Liu, 2021): every class keeps head_count images but the last, which keeps tail_count."""
    return [head_count] * (num_classes - 1) + [tail_count]


def per_class_permutations(labels: np.ndarray, num_classes: int, seed: int) -> list[np.ndarray]:
    """For each class in label order, its sample indices shuffled by one RandomState(seed)."""
    rng = np.random.RandomState(seed)
    perms = []
    for c in range(num_classes):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        perms.append(idx)
    return perms


def long_tailed_indices(labels: np.ndarray, num_classes: int, imb_factor: float, seed: int) -> np.ndarray:
    """Indices into `labels` kept by the LT cut, img_max = the smallest class's pool size."""
    perms = per_class_permutations(labels, num_classes, seed)
    counts = lt_profile(min(len(p) for p in perms), num_classes, imb_factor)
    return np.sort(np.concatenate([p[:n] for p, n in zip(perms, counts, strict=True)]))


def counted_indices(labels: np.ndarray, counts: list[int], seed: int) -> np.ndarray:
    """Indices into `labels` keeping the first counts[c] of each class's fixed permutation."""
    perms = per_class_permutations(labels, len(counts), seed)
    return np.sort(np.concatenate([p[:n] for p, n in zip(perms, counts, strict=True)]))


def shifted_counts(train_counts, img_max: int, factor: float, backward: bool) -> np.ndarray:
    """Test images per class for forward-N (head classes keep most) or backward-N (reversed)."""
    ranks = class_ranks(train_counts)
    profile = np.asarray(lt_profile(img_max, len(ranks), factor))
    return profile[len(ranks) - 1 - ranks] if backward else profile[ranks]


def shifted_indices(perms: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
    """The first counts[c] of each class's fixed permutation: splits nest across factors."""
    return np.sort(np.concatenate([p[:n] for p, n in zip(perms, counts, strict=True)]))
