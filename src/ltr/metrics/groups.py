"""Shot groups from training counts.

"strict" is the Decoupling / TDE / TADE convention used by default: many n > 100, medium
20 <= n <= 100, few n < 20. "oltr" is OLTR's shot_acc after its 2019-08 fix: many n >= 100,
few n <= 20, medium in between.
"""

import numpy as np

GROUPS = ("many", "medium", "few")


def shot_groups(train_counts, many_threshold: int = 100, few_threshold: int = 20, rule: str = "strict") -> np.ndarray:
    counts = np.asarray(train_counts)
    if rule == "strict":
        many, few = counts > many_threshold, counts < few_threshold
    elif rule == "oltr":
        many, few = counts >= many_threshold, counts <= few_threshold
    else:
        raise ValueError(f"unknown shot-group rule {rule!r}; allowed: strict, oltr")
    return np.where(many, "many", np.where(few, "few", "medium"))


def describe_rule(many_threshold: int, few_threshold: int, rule: str) -> dict:
    if rule == "strict":
        return {
            "many": f"n > {many_threshold}",
            "medium": f"{few_threshold} <= n <= {many_threshold}",
            "few": f"n < {few_threshold}",
        }
    return {
        "many": f"n >= {many_threshold}",
        "medium": f"{few_threshold} < n < {many_threshold}",
        "few": f"n <= {few_threshold}",
    }


def class_ranks(train_counts) -> np.ndarray:
    """Rank of each class by training count, descending; ties keep the lower class index first."""
    order = np.argsort(-np.asarray(train_counts), kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order))
    return ranks
