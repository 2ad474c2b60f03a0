"""The long-tailed profile, class ranks, the LT cut and the shifted test distributions (README,
"Metric definitions")."""

import numpy as np
import pytest

from ltr.data.long_tail import (
    long_tailed_indices,
    lt_profile,
    per_class_permutations,
    shifted_counts,
    shifted_indices,
)
from ltr.metrics.groups import class_ranks

CIFAR100_TRAIN = lt_profile(500, 100, 100)


# --- lt_profile ----------------------------------------------------------------------------------


def test_cifar100_lt_profile_head_tail_and_total():
    profile = lt_profile(500, 100, 100)
    assert len(profile) == 100
    assert profile[:5] == [500, 477, 455, 434, 415]
    assert profile[-5:] == [6, 5, 5, 5, 5]
    assert sum(profile) == 10847


@pytest.mark.parametrize(("imb_factor", "total"), [(100, 10847), (50, 12608), (10, 19573)])
def test_cifar100_lt_totals(imb_factor, total):
    assert sum(lt_profile(500, 100, imb_factor)) == total


def test_cifar10_lt_profile():
    assert lt_profile(5000, 10, 100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_imb_factor_one_is_balanced():
    assert lt_profile(500, 100, 1) == [500] * 100
    assert lt_profile(7, 4, 1.0) == [7, 7, 7, 7]


def test_profile_values_are_ints():
    assert all(type(n) is int for n in lt_profile(500, 100, 100))


# --- class_ranks ---------------------------------------------------------------------------------


def test_class_ranks_descending_ties_lower_index_first():
    assert class_ranks([5, 9, 9, 1]).tolist() == [2, 0, 1, 3]


def test_class_ranks_already_sorted_is_identity():
    assert class_ranks([500, 477, 455, 5]).tolist() == [0, 1, 2, 3]


def test_class_ranks_all_equal_keeps_label_order():
    assert class_ranks([3, 3, 3]).tolist() == [0, 1, 2]


# --- shifted test distributions ------------------------------------------------------------------


@pytest.mark.parametrize(("factor", "total"), [(50, 2486), (25, 2956), (10, 3876), (5, 4932), (2, 7166)])
def test_cifar100_shifted_totals(factor, total):
    forward = shifted_counts(CIFAR100_TRAIN, 100, factor, backward=False)
    backward = shifted_counts(CIFAR100_TRAIN, 100, factor, backward=True)
    assert int(forward.sum()) == total
    assert int(backward.sum()) == total


def test_forward50_head_gets_100_rarest_gets_2():
    forward = shifted_counts(CIFAR100_TRAIN, 100, 50, backward=False)
    assert forward[0] == 100  # class 0 is the most frequent training class
    assert forward[99] == 2  # class 99 is the rarest
    assert forward[:5].tolist() == [100, 96, 92, 88, 85]


def test_backward50_mirrors_forward50_on_cifar100():
    forward = shifted_counts(CIFAR100_TRAIN, 100, 50, backward=False)
    backward = shifted_counts(CIFAR100_TRAIN, 100, 50, backward=True)
    assert backward[0] == 2
    assert backward[99] == 100
    # train counts are descending here, so rank r is class r and backward is forward reversed
    assert backward.tolist() == forward[::-1].tolist()


def test_shifted_counts_follow_rank_not_label_order():
    # ranks of [10, 50, 30, 50]: class 1 -> 0, class 3 -> 1 (tie, higher index), class 2 -> 2, class 0 -> 3
    # profile lt_profile(100, 4, 8) = [100, 50, 25, 12]
    train = [10, 50, 30, 50]
    assert shifted_counts(train, 100, 8, backward=False).tolist() == [12, 100, 25, 50]
    # backward: class with rank r gets profile[3 - r]
    assert shifted_counts(train, 100, 8, backward=True).tolist() == [100, 12, 50, 25]


@pytest.mark.parametrize("factor", [50, 25, 10, 5, 2])
def test_backward_is_rank_mirror_of_forward(factor):
    rng = np.random.RandomState(3)
    train = rng.permutation(CIFAR100_TRAIN)  # classes no longer in rank order
    forward = shifted_counts(train, 100, factor, backward=False)
    backward = shifted_counts(train, 100, factor, backward=True)
    ranks = class_ranks(train)
    class_of_rank = np.argsort(ranks)
    c = len(train)
    for cls in range(c):
        assert backward[cls] == forward[class_of_rank[c - 1 - ranks[cls]]]


def test_shifted_uniform_factor_one():
    assert shifted_counts(CIFAR100_TRAIN, 100, 1, backward=False).tolist() == [100] * 100


# --- long_tailed_indices: the LDAM / TADE CIFAR-LT recipe ------------------------------------------


def _reference_ldam_cut(labels, num_classes, imb_factor, seed):
    """IMBALANCECIFAR.gen_imbalanced_data of LDAM-DRW / TADE, written out independently."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        img_max = len(labels) // num_classes
        kept = []
        for c in range(num_classes):
            n_c = int(img_max * (1 / imb_factor) ** (c / (num_classes - 1)))
            idx = np.where(labels == c)[0]
            np.random.shuffle(idx)
            kept.extend(idx[:n_c].tolist())
        return kept
    finally:
        np.random.set_state(state)


@pytest.mark.parametrize(("seed", "imb_factor"), [(0, 100), (0, 10), (1, 50), (7, 100)])
def test_long_tailed_indices_interleaved_labels_match_reference(seed, imb_factor):
    labels = np.tile(np.arange(10), 50)  # 10 classes x 50 images, interleaved 0, 1, ..., 9, 0, 1, ...
    got = long_tailed_indices(labels, 10, imb_factor, seed)
    ref = _reference_ldam_cut(labels, 10, imb_factor, seed)
    assert sorted(got.tolist()) == sorted(ref)
    assert len(got) == len(ref)


def test_long_tailed_indices_shuffled_labels_match_reference():
    labels = np.random.RandomState(123).permutation(np.repeat(np.arange(10), 50))  # CIFAR-like random order
    got = long_tailed_indices(labels, 10, 100, 0)
    ref = _reference_ldam_cut(labels, 10, 100, 0)
    assert set(got.tolist()) == set(ref)
    # per-class counts: int(50 * 0.01 ** (c / 9)); c=1: 50 * 0.5995 = 29.97 -> 29
    assert np.bincount(labels[got], minlength=10).tolist() == [50, 29, 17, 10, 6, 3, 2, 1, 0, 0]


def test_long_tailed_indices_sorted_and_unique():
    labels = np.tile(np.arange(10), 50)
    got = long_tailed_indices(labels, 10, 10, 0)
    assert got.tolist() == sorted(set(got.tolist()))


def test_long_tailed_indices_does_not_touch_global_rng():
    labels = np.tile(np.arange(10), 50)
    np.random.seed(42)
    expected = np.random.rand()
    np.random.seed(42)
    long_tailed_indices(labels, 10, 100, 0)
    assert np.random.rand() == expected


# --- shifted_indices -------------------------------------------------------------------------------


def test_shifted_indices_nest_across_factors():
    num_classes = 10
    labels = np.tile(np.arange(num_classes), 20)  # balanced test split, 20 per class
    train = lt_profile(500, num_classes, 100)
    perms = per_class_permutations(labels, num_classes, 0)
    f50_counts = shifted_counts(train, 20, 50, backward=False)
    f25_counts = shifted_counts(train, 20, 25, backward=False)
    f50 = shifted_indices(perms, f50_counts)
    f25 = shifted_indices(perms, f25_counts)
    assert len(f50) == int(f50_counts.sum())
    assert len(f25) == int(f25_counts.sum())
    assert len(f50) < len(f25)
    assert set(f50.tolist()) <= set(f25.tolist())
    # per class, the kept images are the counts asked for
    assert np.bincount(labels[f50], minlength=num_classes).tolist() == f50_counts.tolist()


def test_shifted_indices_backward_nest_too():
    num_classes = 10
    labels = np.tile(np.arange(num_classes), 20)
    train = lt_profile(500, num_classes, 100)
    perms = per_class_permutations(labels, num_classes, 5)
    b50 = shifted_indices(perms, shifted_counts(train, 20, 50, backward=True))
    b10 = shifted_indices(perms, shifted_counts(train, 20, 10, backward=True))
    uniform = shifted_indices(perms, shifted_counts(train, 20, 1, backward=True))
    assert set(b50.tolist()) <= set(b10.tolist()) <= set(uniform.tolist())
    assert uniform.tolist() == list(range(len(labels)))


def test_per_class_permutations_are_permutations_of_each_class():
    labels = np.tile(np.arange(4), 5)
    perms = per_class_permutations(labels, 4, 0)
    assert len(perms) == 4
    for c, p in enumerate(perms):
        assert sorted(p.tolist()) == [c, c + 4, c + 8, c + 12, c + 16]
