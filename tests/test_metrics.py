"""Shot groups, accuracies, the open-set protocol, calibration and the full evaluation summary."""

import math

import numpy as np
import pytest

from ltr.data.long_tail import lt_profile
from ltr.layout import SPLIT_NAMES
from ltr.metrics.accuracy import group_accuracy, per_class_accuracy, top1
from ltr.metrics.calibration import expected_calibration_error, negative_log_likelihood, reliability_bins
from ltr.metrics.groups import shot_groups
from ltr.metrics.open_set import open_set_auroc, open_set_f_measure, softmax, thresholded_predictions
from ltr.metrics.summary import evaluate

# --- shot groups ---------------------------------------------------------------------------------


def test_strict_groups_on_cifar100_lt():
    groups = shot_groups(lt_profile(500, 100, 100)).tolist()
    assert groups.count("many") == 35
    assert groups.count("medium") == 35
    assert groups.count("few") == 30
    # profile[34] = 102 (many), profile[35] = 98 (medium), profile[69] = 20 (medium), profile[70] = 19 (few)
    assert groups[34] == "many" and groups[35] == "medium"
    assert groups[69] == "medium" and groups[70] == "few"


def test_strict_rule_boundaries():
    assert shot_groups([101, 100, 20, 19]).tolist() == ["many", "medium", "medium", "few"]


def test_oltr_rule_boundaries():
    assert shot_groups([101, 100, 20, 19], rule="oltr").tolist() == ["many", "many", "few", "few"]


def test_custom_thresholds():
    assert shot_groups([11, 10, 3, 2], many_threshold=10, few_threshold=3).tolist() == [
        "many",
        "medium",
        "medium",
        "few",
    ]


def test_unknown_rule_raises():
    with pytest.raises(ValueError, match="unknown shot-group rule"):
        shot_groups([1, 2], rule="loose")


# --- accuracy ------------------------------------------------------------------------------------


def test_per_class_accuracy_nan_for_empty_class():
    labels = np.array([0, 1, 1, 0])
    preds = np.array([0, 0, 1, 2])
    acc = per_class_accuracy(preds, labels, 4)
    # class 0: samples 0 (right), 3 (wrong) -> 0.5; class 1: samples 1 (wrong), 2 (right) -> 0.5
    assert acc[0] == 0.5
    assert acc[1] == 0.5
    assert np.isnan(acc[2])
    assert np.isnan(acc[3])


def test_group_accuracy_ignores_nan_and_nan_for_empty_group():
    class_acc = np.array([1.0, 0.5, np.nan, 0.0, np.nan])
    groups = np.array(["many", "many", "medium", "few", "few"])
    out = group_accuracy(class_acc, groups)
    assert out["many"] == 0.75  # (1.0 + 0.5) / 2
    assert out["few"] == 0.0  # the nan class 4 is ignored
    assert math.isnan(out["medium"])  # its only class has no sample
    assert list(out) == ["many", "medium", "few"]


def test_top1_is_sample_accuracy_not_class_mean():
    labels = np.array([0, 0, 0, 1])
    preds = np.array([0, 0, 0, 0])
    assert top1(preds, labels) == 0.75  # 3 of 4 samples
    class_mean = np.nanmean(per_class_accuracy(preds, labels, 2))
    assert class_mean == 0.5  # (1 + 0) / 2: differs from top1


def test_top1_empty_is_nan():
    assert math.isnan(top1(np.array([], dtype=int), np.array([], dtype=int)))


# --- open set ------------------------------------------------------------------------------------

# known: labels 0 1 2 0 1, preds 0 1 0 -1 1 -> TP = 3 (samples 0, 1, 4), FP = 2 (sample 2 wrong, sample 3 rejected)
# open:  labels -1 -1 -1,  preds -1 2 -1  -> FN = 1 (sample 6 accepted); rejected open samples count nowhere
# P = 3/5, R = 3/4, F = 2 * 0.6 * 0.75 / 1.35 = 0.9 / 1.35 = 2/3
KNOWN_LABELS = [0, 1, 2, 0, 1]
KNOWN_PREDS = [0, 1, 0, -1, 1]
OPEN_LABELS = [-1, -1, -1]
OPEN_PREDS = [-1, 2, -1]


def test_open_set_f_measure_hand_case():
    preds = np.array(KNOWN_PREDS + OPEN_PREDS)
    labels = np.array(KNOWN_LABELS + OPEN_LABELS)
    assert open_set_f_measure(preds, labels) == pytest.approx(2 / 3)


def test_rejected_known_counts_as_false_positive():
    labels = np.array(KNOWN_LABELS + OPEN_LABELS)
    rejected = np.array(KNOWN_PREDS + OPEN_PREDS)
    wrong = rejected.copy()
    wrong[3] = 1  # the rejected known sample (label 0) is now accepted but wrong: still one FP
    assert open_set_f_measure(wrong, labels) == pytest.approx(2 / 3)
    assert open_set_f_measure(rejected, labels) == pytest.approx(open_set_f_measure(wrong, labels))
    right = rejected.copy()
    right[3] = 0  # now TP = 4, FP = 1, FN = 1: P = 4/5, R = 4/5, F = 0.8
    assert open_set_f_measure(right, labels) == pytest.approx(0.8)


def test_rejected_open_samples_do_not_count():
    base = open_set_f_measure(np.array(KNOWN_PREDS + OPEN_PREDS), np.array(KNOWN_LABELS + OPEN_LABELS))
    # drop both rejected open samples
    fewer = open_set_f_measure(np.array(KNOWN_PREDS + [2]), np.array(KNOWN_LABELS + [-1]))
    # add ten more rejected open samples
    more = open_set_f_measure(
        np.array(KNOWN_PREDS + OPEN_PREDS + [-1] * 10), np.array(KNOWN_LABELS + OPEN_LABELS + [-1] * 10)
    )
    assert fewer == pytest.approx(base)
    assert more == pytest.approx(base)
    # but an accepted open sample does count (FN 1 -> 2): P = 3/5, R = 3/5, F = 0.6
    extra_fn = open_set_f_measure(np.array(KNOWN_PREDS + OPEN_PREDS + [0]), np.array(KNOWN_LABELS + OPEN_LABELS + [-1]))
    assert extra_fn == pytest.approx(0.6)


def test_open_set_f_measure_no_tp_is_zero():
    assert open_set_f_measure(np.array([1, -1, 0]), np.array([0, 1, -1])) == 0.0


def test_thresholded_predictions_rejects_below_threshold():
    probs = np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33], [0.1, 0.4, 0.5], [0.2, 0.4, 0.4]])
    # max probs 0.5, 0.34, 0.5, 0.4; threshold 0.4: only 0.34 is below; 0.4 is not below (kept)
    assert thresholded_predictions(probs, 0.4).tolist() == [0, -1, 2, 1]
    assert thresholded_predictions(probs, 0.6).tolist() == [-1, -1, -1, -1]
    assert thresholded_predictions(probs, 0.0).tolist() == [0, 0, 2, 1]


def test_softmax_rows_sum_to_one():
    probs = softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    assert probs[0].tolist() == [0.5, 0.5]
    assert probs[1, 0] == pytest.approx(1.0)
    assert np.allclose(probs.sum(1), 1.0)


def test_open_set_auroc_perfect_and_reversed():
    labels = np.array([0, 1, -1, -1])
    confident_known = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])  # known max 0.9, 0.8 > 0.6, 0.5
    assert open_set_auroc(confident_known, labels) == 1.0
    confident_open = np.array([[0.6, 0.4], [0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])  # known max 0.6, 0.5 < 0.9, 0.8
    assert open_set_auroc(confident_open, labels) == 0.0


def test_open_set_auroc_half_mixed():
    labels = np.array([0, 0, -1, -1])
    # known 0.9, 0.6; open 0.7, 0.5: pairs (known > open): 0.9>0.7, 0.9>0.5, 0.6>0.5, 0.6<0.7 -> 3/4
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.5, 0.5]])
    assert open_set_auroc(probs, labels) == pytest.approx(0.75)


def test_open_set_auroc_nan_without_both_kinds():
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert math.isnan(open_set_auroc(probs, np.array([0, 1])))
    assert math.isnan(open_set_auroc(probs, np.array([-1, -1])))


# --- calibration ---------------------------------------------------------------------------------


def test_ece_hand_case():
    # bins = 4, edges 0, .25, .5, .75, 1
    # A: conf 0.9 right -> bin 3: |1 - 0.9| = 0.1
    # B: conf 0.6 wrong -> bin 2: |0 - 0.6| = 0.6
    # C: conf 0.4 right -> bin 1: |1 - 0.4| = 0.6
    # ECE = (0.1 + 0.6 + 0.6) / 3 = 1.3 / 3 = 0.433333...
    probs = np.array([[0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.4, 0.35, 0.25]])
    labels = np.array([0, 1, 0])
    assert expected_calibration_error(probs, labels, bins=4) == pytest.approx(1.3 / 3)


def test_ece_two_samples_same_bin():
    # bins = 2: both confidences (0.9, 0.6) in (0.5, 1]; accuracy 1/2, mean confidence 0.75
    # ECE = 2/2 * |0.5 - 0.75| = 0.25
    probs = np.array([[0.9, 0.1], [0.6, 0.4]])
    labels = np.array([0, 1])
    assert expected_calibration_error(probs, labels, bins=2) == pytest.approx(0.25)


def test_ece_zero_when_confidence_equals_accuracy():
    # bin (0.5, 1]: four samples of confidence 0.75, three right -> accuracy 0.75
    # bin (0, 0.5]: two samples of confidence 0.5, one right -> accuracy 0.5
    probs = np.array([[0.75, 0.25]] * 4 + [[0.5, 0.5]] * 2)
    labels = np.array([0, 0, 0, 1, 0, 1])
    assert expected_calibration_error(probs, labels, bins=2) == pytest.approx(0.0, abs=1e-12)


def test_reliability_bins_edges_are_right_closed():
    # confidence exactly 0.5 with bins = 2 goes to bin 0 ((0, 0.5]); 0.75 to bin 1
    probs = np.array([[0.5, 0.5], [0.75, 0.25]])
    rows = reliability_bins(probs, np.array([0, 0]), bins=2)
    assert [r["count"] for r in rows] == [1, 1]
    assert rows[0]["confidence"] == 0.5 and rows[1]["confidence"] == 0.75


def test_nll_two_class_hand_case():
    # logits [0, 0] -> p = 1/2 -> -log(1/2) = log 2
    assert negative_log_likelihood(np.array([[0.0, 0.0]]), np.array([0])) == pytest.approx(math.log(2))
    # logits [0, log 3] label 1 -> p = 3/4 -> log(4/3); the mean with log 2 is (log 2 + log(4/3)) / 2
    logits = np.array([[0.0, 0.0], [0.0, math.log(3)]])
    expected = (math.log(2) + math.log(4 / 3)) / 2
    assert negative_log_likelihood(logits, np.array([0, 1])) == pytest.approx(expected)


def test_nll_stable_for_large_logits():
    # logits [1000, 0] label 1 -> -log softmax = 1000 (up to exp(-1000))
    assert negative_log_likelihood(np.array([[1000.0, 0.0]]), np.array([1])) == pytest.approx(1000.0)


# --- summary.evaluate ----------------------------------------------------------------------------

CONFIDENT = 10.0


def _one_hot(cls: int) -> list[float]:
    row = [0.0, 0.0, 0.0]
    row[cls] = CONFIDENT
    return row


def _tiny_case():
    meta = {
        "num_classes": 3,
        "class_names": ["a", "b", "c"],
        "train_counts": [200, 50, 10],
        "shot_groups": ["many", "medium", "few"],
    }
    # test: labels 0 0 1 1 2 2; preds 0 0 1 0 2 1 -> 4 of 6 right
    test_logits = np.array(
        [_one_hot(0), _one_hot(0), _one_hot(1), [0.1, 0.0, 0.0], _one_hot(2), _one_hot(1)], dtype=np.float32
    )
    test_labels = np.array([0, 0, 1, 1, 2, 2])
    # open: o0 uniform (max prob 1/3 < 0.5: rejected), o1 confident (accepted: FN)
    open_logits = np.array([[0.0, 0.0, 0.0], _one_hot(0)], dtype=np.float32)
    open_labels = np.array([-1, -1])
    split_logits = {}
    for name in SPLIT_NAMES:
        split_logits[name] = (test_logits, test_labels)
    split_logits["open"] = (open_logits, open_labels)
    # forward-N keeps head samples 0, 1, 2 (all right); backward-N keeps tail samples 4, 5 (one right)
    for n in (50, 25, 10, 5, 2):
        split_logits[f"test_forward{n}"] = (test_logits[[0, 1, 2]], test_labels[[0, 1, 2]])
        split_logits[f"test_backward{n}"] = (test_logits[[4, 5]], test_labels[[4, 5]])
    return split_logits, meta


def test_evaluate_tiny_case():
    split_logits, meta = _tiny_case()
    ev = evaluate(split_logits, meta, open_threshold=0.5, ece_bins=15, cost={"seconds": 1})
    m = ev.metrics
    closed = m["closed"]
    assert closed["top1"] == pytest.approx(66.667)  # 4 / 6 in percent, rounded to 3 decimals
    # per class: 1.0, 0.5, 0.5 -> many 100, medium 50, few 50
    assert closed["many"] == 100.0
    assert closed["medium"] == 50.0
    assert closed["few"] == 50.0

    expected_keys = [
        "forward50",
        "forward25",
        "forward10",
        "forward5",
        "forward2",
        "uniform",
        "backward2",
        "backward5",
        "backward10",
        "backward25",
        "backward50",
    ]
    assert list(m["agnostic"]) == expected_keys
    assert m["agnostic"]["uniform"] == closed["top1"]
    assert m["agnostic"]["forward50"] == 100.0
    assert m["agnostic"]["backward50"] == 50.0

    # open set, threshold 0.5: test sample 3 (max prob ~0.35) is rejected -> FP; test sample 5 wrong -> FP;
    # TP = 4 (samples 0, 1, 2, 4); open o0 rejected (no count), o1 accepted -> FN = 1
    # P = 4/6, R = 4/5, F = 2 * (2/3) * (4/5) / (2/3 + 4/5) = (16/15) / (22/15) = 8/11 = 72.727%
    assert m["open"]["f_measure"] == pytest.approx(72.727)
    assert set(m["open"]) >= {"f_measure", "auroc", "many", "medium", "few"}
    # open-set group accuracies with rejection: class 1 has sample 3 rejected -> 0.5; class 2 -> 0.5
    assert m["open"]["many"] == 100.0
    assert m["open"]["medium"] == 50.0
    assert m["open"]["few"] == 50.0
    assert m["cost"] == {"seconds": 1}

    assert ev.agnostic["position"].tolist() == list(range(11))
    assert ev.agnostic["distribution"].tolist() == expected_keys
    assert ev.splits["test_forward50"]["images"] == 3
    assert ev.splits["test_backward50"]["images"] == 2
    assert "open" not in ev.splits

    assert ev.per_class["accuracy"].tolist() == [100.0, 50.0, 50.0]
    assert ev.per_class["rank"].tolist() == [0, 1, 2]
    # every cell of the 3 x 3 confusion, actual-major in class order, zeros included
    assert ev.confusion[["actual", "predicted"]].values.tolist() == [[a, p] for a in range(3) for p in range(3)]
    assert ev.confusion["count"].tolist() == [2, 0, 0, 1, 1, 0, 0, 1, 1]
    # the groups' confusion in percent of the actual group's images (class 0 many, 1 medium, 2 few)
    assert ev.group_confusion["actual_group"].tolist() == ["many"] * 3 + ["medium"] * 3 + ["few"] * 3
    assert ev.group_confusion["predicted_group"].tolist() == ["many", "medium", "few"] * 3
    assert ev.group_confusion["percent"].tolist() == [100.0, 0.0, 0.0, 50.0, 50.0, 0.0, 0.0, 50.0, 50.0]
    assert len(ev.reliability) == 15
