"""The comparison table of `make report`, built from a recorded `dvc exp show --json` (DVC 3.67, a
`make report --methods softmax tau_norm lws` on the tests' tiny params; deps and outs trimmed; its
training times moved from metrics.json into the live/<stage>/metrics.json entries the stages now write)."""

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from ltr.report.plots import agnostic_comparison_figure, group_bars_figure, per_class_comparison_figure
from ltr.report.table import comparison_frame, experiment_records, markdown_table, runs_of, workspace_params

SAMPLE = json.loads((Path(__file__).parent / "data" / "exp_show.json").read_text())
METHODS = ["softmax", "oltr", "tau_norm", "lws"]


def test_records_hold_flat_params_and_metrics():
    records = experiment_records(SAMPLE)
    assert [r["name"] for r in records] == ["report-lws", "report-tau_norm", "report-softmax"]
    lws = records[0]
    assert lws["params"]["method"] == "lws" and lws["params"]["stage1.epochs"] == 2
    assert lws["metrics"]["closed.top1"] == 16.0 and lws["metrics"]["agnostic.backward50"] == 0.0
    assert len(lws["rev"]) == 40


def test_runs_are_the_workspace_params_with_only_method_changed():
    sample = copy.deepcopy(SAMPLE)
    experiments = sample[1]["experiments"]
    # an ablation of lws, newer than the plain run: it must not stand for lws in the table
    ablation = copy.deepcopy(next(e for e in experiments if e["name"] == "report-lws"))
    data = ablation["revs"][0]["data"]
    data["params"]["params.yaml"]["data"]["lws"]["train"]["samples_per_class"] = 8
    data["timestamp"] = "2030-01-01T00:00:00"
    data["metrics"]["metrics/metrics.json"]["data"]["closed"]["top1"] = 1.0
    # a failed experiment: an error and no metrics
    failed = copy.deepcopy(next(e for e in experiments if e["name"] == "report-tau_norm"))
    failed["revs"][0]["error"] = {"type": "ReproductionError", "msg": "failed to reproduce 'stage2'"}
    failed["revs"][0]["data"]["metrics"] = {}
    failed["revs"][0]["data"]["timestamp"] = "2030-01-01T00:00:00"
    experiments += [ablation, failed]

    runs = runs_of(experiment_records(sample), workspace_params(sample), METHODS)
    assert sorted(runs) == ["lws", "softmax", "tau_norm"]  # oltr has no experiment in the sample
    assert runs["lws"]["metrics"]["closed.top1"] == 16.0
    assert runs["tau_norm"]["metrics"]["closed.top1"] == 17.0


def test_newest_identical_run_wins():
    sample = copy.deepcopy(SAMPLE)
    rerun = copy.deepcopy(sample[1]["experiments"][0])
    rerun["revs"][0]["data"]["timestamp"] = "2030-01-01T00:00:00"
    rerun["revs"][0]["data"]["metrics"]["metrics/metrics.json"]["data"]["closed"]["top1"] = 63.0
    sample[1]["experiments"].append(rerun)
    runs = runs_of(experiment_records(sample), workspace_params(sample), METHODS)
    assert runs["lws"]["metrics"]["closed.top1"] == 63.0


def test_markdown_table_rows_follow_the_method_order():
    runs = runs_of(experiment_records(SAMPLE), workspace_params(SAMPLE), METHODS)
    runs["tau_norm"]["metrics"]["closed.few"] = None  # a group with no class: shown as '-'
    table = markdown_table(comparison_frame(runs, METHODS)).splitlines()
    assert table[0] == (
        "| method | top-1 | many | medium | few | open F | open AUROC | forward-50 | uniform | backward-50 "
        "| ECE | GMACs | train s |"
    )
    assert table[1] == "|---|" + "---|" * 12
    assert [row.split(" | ")[0] for row in table[2:]] == ["| softmax", "| tau_norm", "| lws"]
    lws = table[4].split(" | ")
    assert lws[1:5] == ["16.00", "50.00", "12.00", "0.00"]
    assert lws[8] == lws[1]  # the uniform test distribution is the test split
    assert lws[11] == "0.0122"  # ResNet-8 at 32x32: 0.01224 GMACs, four decimals under 0.1
    assert lws[12] == "1 |"  # seconds, whole
    assert table[3].split(" | ")[4] == "-"


def test_workspace_entry_is_required():
    with pytest.raises(ValueError, match="workspace"):
        workspace_params(SAMPLE[1:])


def test_comparison_figures_are_written(tmp_path):
    per_class = pd.DataFrame({"train_count": [500, 50, 5], "accuracy": [90.0, 50.0, 10.0]})
    agnostic = pd.DataFrame({"distribution": ["forward50", "uniform", "backward50"], "position": [0, 5, 10]})
    agnostic["top1"] = [70.0, 45.0, 15.0]
    groups = pd.DataFrame({"many": [80.0, 75.0], "medium": [40.0, 55.0], "few": [None, 30.0]}, index=["a", "b"])
    per_class_comparison_figure(
        {"a": per_class, "b": per_class.assign(accuracy=[80.0, 60.0, 40.0])}, tmp_path / "p.png"
    )
    agnostic_comparison_figure({"a": agnostic, "b": agnostic}, tmp_path / "s.png")
    group_bars_figure(groups, tmp_path / "g.png")
    assert all((tmp_path / f).stat().st_size > 5000 for f in ("p.png", "s.png", "g.png"))


# -- the tail-class study --------------------------------------------------------------------------------


def test_tail_study_points_and_panels(tmp_path):
    from ltr.report.tail_study import HEAD, SIMILARITY, TAIL, panel_rows, study_points, tail_study_figure

    base = {"method": "softmax", SIMILARITY: 0.5, HEAD: 500, TAIL: 50, "stage1.epochs": 30}
    knobs = [(0.5, 500, 50), (0.1, 500, 50), (0.9, 500, 50), (0.5, 100, 50), (0.5, 500, 10), (0.1, 500, 10)]
    records = [
        {
            "name": f"e{i}",
            "rev": f"r{i}",
            "timestamp": f"2026-01-0{i + 1}",
            "params": {**base, SIMILARITY: s, HEAD: h, TAIL: t},
        }
        for i, (s, h, t) in enumerate(knobs)
    ]
    records.append({**records[0], "name": "other", "rev": "x", "params": {**base, "stage1.epochs": 5}})
    accuracy = {f"r{i}": 10.0 * i for i in range(len(knobs))}

    def per_class(rev):  # three classes; the last is the tail
        return pd.DataFrame({"class": [2, 0, 1], "accuracy": [accuracy[rev], 90.0, 80.0]})

    points = study_points(records, base, per_class)
    assert len(points) == 6  # the run with other epochs is not part of the study
    assert points.loc[0, "tail_accuracy"] == 0.0 and points.loc[0, "others_accuracy"] == 85.0
    assert panel_rows(points, SIMILARITY, base)[SIMILARITY].tolist() == [0.1, 0.5, 0.9]
    assert panel_rows(points, HEAD, base)[HEAD].tolist() == [100, 500]
    tail = panel_rows(points, TAIL, base)  # (0.1, 500, 10) moves two knobs: in no panel
    assert tail[TAIL].tolist() == [10, 50] and tail["tail_accuracy"].tolist() == [40.0, 0.0]
    tail_study_figure(points, base, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 5000
