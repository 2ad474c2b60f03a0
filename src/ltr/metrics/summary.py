"""Every metric of the README's file contracts from the logits of each split and the split metadata."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from ltr.layout import SHIFT_FACTORS
from ltr.metrics.accuracy import group_accuracy, per_class_accuracy, top1
from ltr.metrics.calibration import expected_calibration_error, negative_log_likelihood, reliability_bins
from ltr.metrics.groups import GROUPS, class_ranks
from ltr.metrics.open_set import open_set_auroc, open_set_f_measure, softmax, thresholded_predictions

# agnostic.* key -> split list, from the most head-heavy test distribution to the most tail-heavy
AGNOSTIC = {
    **{f"forward{n}": f"test_forward{n}" for n in SHIFT_FACTORS},
    "uniform": "test",
    **{f"backward{n}": f"test_backward{n}" for n in reversed(SHIFT_FACTORS)},
}


# metrics/metrics.json: what `dvc metrics show` and `dvc metrics diff` compare, one flat key each (DVC
# prints a column per key, sorted by name, so short names keep its table narrow); every metric, under
# the same part names as here, is in metrics/details.json
HEADLINE = {
    "top1": ("closed", "top1"),
    "many": ("closed", "many"),
    "medium": ("closed", "medium"),
    "few": ("closed", "few"),
    "ece": ("closed", "ece"),
    "open_f": ("open", "f_measure"),
    "open_auroc": ("open", "auroc"),
    "forward50": ("agnostic", "forward50"),
    "backward50": ("agnostic", "backward50"),
    "gmacs": ("cost", "gmacs"),
}


def headline(metrics: dict) -> dict:
    return {name: metrics[part][key] for name, (part, key) in HEADLINE.items()}


def _pct(x: float) -> float | None:
    """Percent, rounded; None (JSON null) for an undefined value such as an empty shot group."""
    return round(100.0 * x, 3) if np.isfinite(x) else None


@dataclass
class Evaluation:
    metrics: dict  # every metric: closed, open, agnostic, cost (headline() of it is metrics.json)
    splits: dict  # per split list: top1, many, medium, few, images
    per_class: pd.DataFrame  # class, name, train_count, rank, group, accuracy
    agnostic: pd.DataFrame  # distribution, position, top1, many, medium, few
    reliability: pd.DataFrame
    confusion: pd.DataFrame  # actual, predicted, count: every cell of the C x C test confusion, in class order
    group_confusion: pd.DataFrame  # actual_group, predicted_group, percent of the actual group's test images


def confusion_counts(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> pd.DataFrame:
    """Every (actual, predicted) cell of the test confusion with its count, zeros included, actual-major
    in class order: a class never predicted keeps its column, so the diagonal is the true one."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (labels, preds), 1)
    actual, predicted = np.divmod(np.arange(num_classes * num_classes), num_classes)
    return pd.DataFrame({"actual": actual, "predicted": predicted, "count": counts.ravel()})


def group_confusion(labels: np.ndarray, preds: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    """The confusion between shot groups: of each actual group's test images, the percent predicted
    as a class of each group; many, medium, few in that order, the groups without a class left out."""
    present = [g for g in GROUPS if (groups == g).any()]
    actual, predicted = groups[labels], groups[preds]
    rows = []
    for a in present:
        images = int((actual == a).sum())
        for p in present:
            share = ((actual == a) & (predicted == p)).sum() / images if images else float("nan")
            rows.append({"actual_group": a, "predicted_group": p, "percent": _pct(share)})
    return pd.DataFrame(rows, columns=["actual_group", "predicted_group", "percent"])


def _scores(logits: np.ndarray, labels: np.ndarray, meta: dict) -> tuple[dict, np.ndarray]:
    preds = logits.argmax(1)
    acc = per_class_accuracy(preds, labels, meta["num_classes"])
    groups = group_accuracy(acc, np.asarray(meta["shot_groups"]))
    return {"top1": _pct(top1(preds, labels)), **{g: _pct(v) for g, v in groups.items()}}, acc


def evaluate(
    split_logits: dict[str, tuple[np.ndarray, np.ndarray]], meta: dict, open_threshold: float, ece_bins: int, cost: dict
) -> Evaluation:
    groups = np.asarray(meta["shot_groups"])
    test_logits, test_labels = split_logits["test"]
    test_probs = softmax(test_logits)
    test_preds = test_logits.argmax(1)
    closed, class_acc = _scores(test_logits, test_labels, meta)
    closed["macro_f1"] = _pct(
        f1_score(test_labels, test_preds, average="macro", labels=np.arange(meta["num_classes"]), zero_division=0)
    )
    closed["ece"] = _pct(expected_calibration_error(test_probs, test_labels, ece_bins))
    closed["nll"] = round(negative_log_likelihood(test_logits, test_labels), 5)

    no_open = (np.zeros((0, test_logits.shape[1]), np.float32), np.zeros(0, np.int64))
    open_logits, open_labels = split_logits.get("open", no_open)  # a data set may have no open set
    both_probs = softmax(np.concatenate([test_logits, open_logits]))
    both_labels = np.concatenate([test_labels, open_labels])
    both_preds = thresholded_predictions(both_probs, open_threshold)
    known = both_labels >= 0
    open_groups = group_accuracy(per_class_accuracy(both_preds[known], both_labels[known], meta["num_classes"]), groups)
    open_metrics = {
        "f_measure": _pct(open_set_f_measure(both_preds, both_labels) if len(open_labels) else float("nan")),
        "auroc": _pct(open_set_auroc(both_probs, both_labels)),
        **{g: _pct(v) for g, v in open_groups.items()},
    }

    splits, agnostic_rows = {}, []
    for name, (logits, labels) in split_logits.items():
        if name != "open":
            splits[name] = {**_scores(logits, labels, meta)[0], "images": len(labels)}
    for position, (key, split) in enumerate(AGNOSTIC.items()):
        agnostic_rows.append({"distribution": key, "position": position, **splits[split]})
    agnostic = pd.DataFrame(agnostic_rows)

    ranks = class_ranks(meta["train_counts"])
    per_class = pd.DataFrame(
        {
            "class": np.arange(meta["num_classes"]),
            "name": meta["class_names"],
            "train_count": meta["train_counts"],
            "rank": ranks,
            "group": groups,
            "accuracy": np.round(100 * class_acc, 3),
        }
    )
    metrics = {
        "closed": closed,
        "open": open_metrics,
        "agnostic": {row["distribution"]: row["top1"] for row in agnostic_rows},
        "cost": cost,
    }
    reliability = pd.DataFrame(reliability_bins(test_probs, test_labels, ece_bins))
    confusion = confusion_counts(test_labels, test_preds, meta["num_classes"])
    by_group = group_confusion(test_labels, test_preds, groups)
    return Evaluation(metrics, splits, per_class, agnostic, reliability, confusion, by_group)
