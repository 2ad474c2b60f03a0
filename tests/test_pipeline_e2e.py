"""The real `dvc repro` and `dvc exp run` on tiny params in a temporary git repository."""

import json

import numpy as np
import pytest
import yaml

from conftest import REPO, commit, ran_stages, run, write_params

pytestmark = pytest.mark.e2e

STAGES = [
    "check_params",
    "prepare",
    "splits",
    "pretrain",
    "stage1",
    "stage2",
    "experts@many",
    "experts@medium",
    "experts@few",
    "predict",
    "logits",
    "evaluate",
]
AGNOSTIC = [
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


def test_repro_runs_every_stage_and_writes_every_metric(tiny_repo):
    lock = yaml.safe_load((tiny_repo / "dvc.lock").read_text())
    assert list(lock["stages"]) == STAGES
    headline = json.loads((tiny_repo / "metrics" / "metrics.json").read_text())
    metrics = json.loads((tiny_repo / "metrics" / "details.json").read_text())
    assert headline == {
        "top1": metrics["closed"]["top1"],
        "many": metrics["closed"]["many"],
        "medium": metrics["closed"]["medium"],
        "few": metrics["closed"]["few"],
        "ece": metrics["closed"]["ece"],
        "open_f": metrics["open"]["f_measure"],
        "open_auroc": metrics["open"]["auroc"],
        "forward50": metrics["agnostic"]["forward50"],
        "backward50": metrics["agnostic"]["backward50"],
        "gmacs": metrics["cost"]["gmacs"],
    }
    assert list(metrics["closed"]) == ["top1", "many", "medium", "few", "macro_f1", "ece", "nll"]
    assert list(metrics["open"]) == ["f_measure", "auroc", "many", "medium", "few"]
    assert list(metrics["agnostic"]) == AGNOSTIC
    # counts, no timings: two epochs of stage 1 on its 199 images (the last, partial batch of 7 kept)
    assert metrics["cost"] == {**metrics["cost"], "train_images": 2 * 199}
    assert list(metrics["cost"]) == ["params_m", "gmacs", "train_images"]
    assert all(0 <= v <= 100 for v in metrics["closed"].values() if v is not None)
    assert metrics["agnostic"]["uniform"] == metrics["closed"]["top1"]
    assert metrics["splits"]["test"]["top1"] == metrics["closed"]["top1"]
    for name in [
        "per_class.csv",
        "agnostic.csv",
        "confusion.csv",
        "reliability.csv",
        "training.csv",
        "per_class.png",
        "agnostic.png",
        "reliability.png",
        "training.png",
    ]:
        assert (tiny_repo / "plots" / name).stat().st_size > 0, name
    meta = json.loads((tiny_repo / "data" / "splits" / "meta.json").read_text())
    assert meta["train_counts"] == [50, 38, 29, 23, 17, 13, 10, 8, 6, 5]
    assert meta["group_sizes"] == {"many": 2, "medium": 5, "few": 3}
    with np.load(tiny_repo / "data" / "logits" / "test_backward5.npz") as f:
        assert f["logits"].shape == (meta["splits"]["test_backward5"], 10)
    with np.load(tiny_repo / "data" / "logits" / "open.npz") as f:
        assert (f["labels"] == -1).all() and len(f["labels"]) == 20
    assert json.loads((tiny_repo / "data" / "models" / "stage2" / "manifest.json").read_text()) == {"used": False}


def test_second_repro_does_nothing(tiny_copy):
    out = run(["dvc", "repro"], tiny_copy).stdout
    assert "Data and pipelines are up to date." in out
    assert "Running stage" not in out


def test_stage1_does_not_depend_on_method():
    dvc_yaml = yaml.safe_load((REPO / "dvc.yaml").read_text())
    assert "method" not in dvc_yaml["stages"]["stage1"]["params"]
    assert "method" not in dvc_yaml["stages"]["prepare"]["params"]


def test_imbalance_change_reuses_the_prepared_images(tiny_copy):
    write_params(tiny_copy, {"data": {"imb_factor": 5}})
    changed = json.loads(run(["dvc", "status", "--json"], tiny_copy).stdout)
    # check_params reads every param; prepare does not read data.imb_factor; the rest follows splits
    assert list(changed) == ["check_params", "splits"]


def test_experiments_and_comparisons(tiny_copy):
    # 0.5: well above the tiny model's typical confidence, so that rejection surely changes the F-measure
    out = run(["dvc", "exp", "run", "-S", "eval.open_threshold=0.5", "-n", "thr02"], tiny_copy).stdout
    assert ran_stages(out) == {"check_params", "evaluate"}
    shown = run(["dvc", "exp", "show", "--md", "--no-pager"], tiny_copy).stdout
    assert "thr02" in shown
    diff = json.loads(run(["dvc", "metrics", "diff", "HEAD", "--json"], tiny_copy).stdout)
    assert "open_f" in diff["metrics/metrics.json"]
    plots = json.loads(run(["dvc", "plots", "diff", "HEAD", "thr02", "--json"], tiny_copy).stdout)["data"]
    per_class = plots["per_class_accuracy"][0]["content"]  # the vega-lite spec DVC renders into its HTML
    assert per_class["encoding"]["x"]["scale"] == {"type": "log"}
    assert {row["rev"] for row in per_class["data"]["values"]} == {"HEAD", "thr02"}
    shifted = plots["shifted_test_distributions"][0]["content"]
    assert {row["distribution"] for row in shifted["data"]["values"]} == set(AGNOSTIC)
    assert shifted["encoding"]["x"]["sort"] == {"field": "order", "op": "min"}  # forward50 ... backward50
    commit(tiny_copy, "open threshold 0.5")
    old = run(["dvc", "metrics", "diff", "HEAD~1", "--md"], tiny_copy).stdout
    assert "open_f" in old


def test_multi_expert_methods(tiny_copy):
    out = run(["dvc", "exp", "run", "-S", "method=tade", "-S", "tade.logits.test_time.epochs=1"], tiny_copy).stdout
    assert "Stage 'stage1' didn't change, skipping" in out
    info = json.loads((tiny_copy / "metrics/method.json").read_text())
    weights = info["weights"]
    assert set(weights) == {"test", *(f"test_{d}{n}" for d in ("forward", "backward") for n in (2, 5, 10, 25, 50))}
    assert set(info["plain_mean_top1"]) == set(weights)
    details = json.loads((tiny_copy / "metrics/details.json").read_text())
    assert info["plain_mean_top1"]["test"] == details["closed"]["top1"]  # closed.*: the plain mean, as test.py
    assert all(len(w) == 3 and abs(sum(w) - 1) < 1e-3 for w in weights.values())
    gmacs = json.loads((tiny_copy / "metrics/metrics.json").read_text())["gmacs"]
    assert gmacs > 0.0123  # three experts cost more than ResNet-8 alone (0.0122 GMACs)


def test_experts_are_separate_stages(tiny_copy):
    settings = [
        "method=experts",
        "experts.many_threshold=30",
        *(f"experts.{s}.epochs=1" for s in ("many", "medium", "few")),
    ]
    out = run(["dvc", "exp", "run", *(arg for setting in settings for arg in ("-S", setting))], tiny_copy).stdout
    assert "Stage 'stage1' didn't change, skipping" in out
    for subset in ("many", "medium", "few"):
        assert f"Running stage 'experts@{subset}'" in out
    method = json.loads((tiny_copy / "metrics/method.json").read_text())
    assert method["calibration_epoch"] >= 1
    out = run(["dvc", "exp", "run", "-S", "experts.few.lr=0.02"], tiny_copy).stdout
    assert ran_stages(out) == {"check_params", "experts@few", "logits", "evaluate"}  # the other experts are reused


def test_ssp_pretrains_then_tde_restores_stage1_and_tunes_alpha_post_hoc(tiny_copy):
    import torch

    ssp = ["-S", "method=ssp", "-S", "pretrain.kind=moco", "-S", "pretrain.stage1_lr=0.02"]
    out = run(["dvc", "exp", "run", *ssp], tiny_copy).stdout
    assert {"pretrain", "stage1", "stage2", "logits", "evaluate"} <= ran_stages(out)
    models = tiny_copy / "data" / "models"
    manifest = json.loads((models / "pretrain" / "manifest.json").read_text())
    assert {k: manifest[k] for k in ("used", "method", "kind", "stage1_lr")} == {
        "used": True,
        "method": "ssp",
        "kind": "moco",
        "stage1_lr": 0.02,
    }
    # stage 1 from the pre-trained backbone trains at pretrain.stage1_lr, not at stage1.lr
    history = json.loads((models / "stage1" / "train_summary.json").read_text())["history"]
    assert 0 < max(h["lr"] for h in history) <= 0.02
    reported = json.loads((tiny_copy / "metrics/method.json").read_text())["pretrain"]
    assert reported == {"kind": "moco", "val_top1": manifest["val_top1"], "stage1_lr": 0.02}
    stage1 = torch.load(models / "stage1" / "model.pt", weights_only=True)["state_dict"]
    stage2 = torch.load(models / "stage2" / "model.pt", weights_only=True)["state_dict"]
    backbone = {k: v for k, v in stage1.items() if k.startswith("backbone.")}
    statistics = [k for k in backbone if "running_" in k]
    assert statistics
    # stage 2 (cRT) trained its new classifier only: the backbone's weights are stage 1's, while its
    # BatchNorm statistics were re-estimated under class-aware sampling, as the original's train()
    for key, value in backbone.items():
        if key in statistics:
            assert not torch.equal(stage2[f"backbone.{key}"], value), key
        elif "num_batches_tracked" not in key:
            assert torch.equal(stage2[f"backbone.{key}"], value), key

    # a method without pre-training gets the committed stage 1 back from the run-cache, untrained
    out = run(["dvc", "exp", "run", "-S", "method=tde"], tiny_copy).stdout
    assert "Stage 'stage1' is cached - skipping run, checking out outputs" in out
    assert "Running stage 'stage2'" in out
    assert json.loads((tiny_copy / "metrics/method.json").read_text()) == {"alpha": 1.5}  # the original's
    # TDE's alpha is post-hoc: only the logits and what follows them run again, here choosing it on val
    out = run(["dvc", "exp", "run", "-S", "tde.logits.alpha=auto"], tiny_copy).stdout
    assert ran_stages(out) == {"check_params", "logits", "evaluate"}
    chosen = json.loads((tiny_copy / "metrics/method.json").read_text())
    assert chosen["alpha"] in [i / 4 for i in range(13)] and 0 <= chosen["val_top1_at_alpha"] <= 100


def test_a_re_run_of_stage_1_re_runs_nothing_after_it(tiny_copy):
    run(["dvc", "repro", "--force", "--single-item", "stage1"], tiny_copy)
    out = run(["dvc", "repro"], tiny_copy).stdout
    assert "Running stage" not in out, out  # same weights, bit for bit: the timings are in no output
    lock = yaml.safe_load((tiny_copy / "dvc.lock").read_text())["stages"]["stage1"]["outs"]
    assert [o["path"] for o in lock] == ["data/models/stage1"]


def test_code_edits_re_run_only_the_stages_that_load_the_code(tiny_copy):
    def changed():
        return set(json.loads(run(["dvc", "status", "--json"], tiny_copy).stdout))

    with open(tiny_copy / "src/ltr/methods/tde/steps.py", "a") as f:
        f.write("# an edit of another method\n")
    (tiny_copy / "src/ltr/models/new_head.py").write_text('"""A module no stage imports yet."""\n')
    assert changed() == set()  # the workspace runs softmax: nothing loads tde's steps or the new file
    with open(tiny_copy / "src/ltr/methods/softmax/steps.py", "a") as f:
        f.write("# an edit of the method in use\n")
    # the stages that load the method in use (the training ones, to learn that it trains nothing there)
    assert changed() == {"pretrain", "stage2", "experts@many", "experts@medium", "experts@few", "logits"}
    run(["git", "checkout", "src"], tiny_copy)
    with open(tiny_copy / "src/ltr/config/sections.py", "a") as f:
        f.write("# an edit of the shared params\n")
    assert {"prepare", "stage1"} <= changed()
