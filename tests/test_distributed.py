"""Data-parallel training under torchrun, on CPU with the gloo backend and two processes."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, TINY, everywhere, run, stage_in_process, write_params
from ltr import processes
from ltr.engine.checkpoint import load_checkpoint
from ltr.presets import merge

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())

# Every training step of every method, in one process and in two, on the same tiny data and the same
# stage-1 model: the script trains each (the method's own step, as its stage calls it) and writes each
# process's weights. BatchNorm normalises with fixed statistics here: its batch statistics are per
# process (see ltr.processes), the one thing two processes do not compute as one, so a model with
# real BatchNorm cannot match; test_stage1_under_torchrun_from_dvc runs that case.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    import torch
    import torch.nn.functional as F

    class FixedStatisticsBatchNorm2d(torch.nn.BatchNorm2d):
        def forward(self, x):
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)

    torch.nn.BatchNorm2d = FixedStatisticsBatchNorm2d  # before any model is built

    from ltr import processes
    from ltr.config import load_config
    from ltr.methods import section, steps
    from ltr.pipeline import stage_context

    out, runs = Path(sys.argv[1]), json.loads(sys.argv[2])
    processes.init(torch.device("cpu"))
    for name, _, stage, step, args in runs:
        cfg = load_config(f"params/{name}.yaml")
        dest = out / f"rank{processes.rank()}" / name
        dest.mkdir(parents=True)
        ctx = stage_context(cfg, stage, dest, dest / "live")
        if stage == "stage1":  # as stages/stage1.py, predictions of every split list included
            model = ctx.models.new()
            ctx.models.train(model, cfg.stage1)
            ctx.models.save_predictions(model)
        else:  # as ltr.method_stage: pretrain's step also takes the shared pretrain section
            shared = [cfg.pretrain] if step == "pretrain" else []
            getattr(steps(cfg.method), step)(ctx, section(cfg), *args, *shared)
        ctx.models.finish()

    # OLTR's repelling hinge shut for the whole batch though open on rank 0's slice (features near the
    # centroids) and shut on rank 1's (far from them): the centroids' gradient, averaged by DDP
    from ltr.losses.disc_centroids import DiscCentroidsLoss

    def hinge_gradient():  # its DDP wrapper is freed on return, before the process group is destroyed
        torch.manual_seed(0)
        loss = DiscCentroidsLoss(4, 3, margin=10.0)
        labels = torch.arange(16) % 4
        features = torch.randn(16, 3) * torch.tensor([0.1] * 8 + [5.0] * 8)[:, None]
        mine = processes.local_slice(16)
        wrapped = processes.data_parallel(loss, torch.device("cpu"))  # its reducer averages at backward
        wrapped(features[mine], labels[mine]).backward()
        return loss.centroids.grad

    torch.save(hinge_gradient(), out / f"rank{processes.rank()}" / "hinge.pt")
    processes.shutdown()
    """
)
# (run name, method, stage, the method's step, its arguments); every method with a training step
RUNS = [
    ("stage1", "softmax", "stage1", None, []),
    *[(m, m, "stage2", "train_stage2", []) for m in ("balanced_softmax", "ldam_drw", "tde", "ride", "tade")],
    *[(m, m, "stage2", "train_stage2", []) for m in ("crt", "lws", "oltr")],  # from the stage-1 model
    *[(f"experts_{s}", "experts", f"experts@{s}", "train_expert", [s]) for s in ("many", "medium", "few")],
    ("ssp_rotation", "ssp", "pretrain", "pretrain", []),
    ("ssp_moco", "ssp", "pretrain", "pretrain", []),
    ("ssp", "ssp", "stage2", "train_stage2", []),
]


@pytest.fixture(scope="module")
def method_data(tmp_path_factory):
    """Tiny data, split lists and a stage-1 model; params/<run>.yaml for every run: 1 epoch of 2 steps
    (so the weights kept, those of the best val epoch, are the trained ones; DDP finds a parameter
    left without a gradient at the second) at batch 16, 12 for pre-training, ldam_drw's and ride's
    re-weighting from the start, val predicted in batches of 15 (its 50 images end with a batch of 5,
    split 2 + 3). Float sums in other orders leave the two runs up to 2.4e-6 apart here (3 steps:
    1.05e-5, the first conv of an expert at lr 0.1); each whole-batch normalisation, removed, moves
    some weight by 1.9e-4 (OLTR's counts) to 5.1e-2 (DRW's weights); OLTR's hinge has a case below."""
    work = tmp_path_factory.mktemp("methods")
    params = everywhere(merge(PARAMS, TINY), {"epochs": 1, "batch_size": 16})
    params = merge(params, {"runtime": {"max_steps": 2}, "logits": {"batch_size": 15}})
    params = merge(params, {"pretrain": {"batch_size": 12}})  # slices of 6: rotations not in whole cycles of 4
    params = merge(params, {m: {"train": {"drw_start": 0.0}} for m in ("ldam_drw", "ride")})
    params = merge(params, {"oltr": {"train": {"samples_per_class": 3}}})  # a class in both slices of a batch
    params = merge(params, {"experts": {"many_threshold": 30, "few_threshold": 10}})
    (work / "params").mkdir()
    for name, method, *_ in RUNS:
        kind = {"kind": "moco" if name == "ssp_moco" else "rotation"}
        (work / "params" / f"{name}.yaml").write_text(
            yaml.safe_dump(merge(params, {"method": method, "pretrain": kind}))
        )
    (work / "params.yaml").write_text(yaml.safe_dump(merge(params, {"method": "softmax"})))
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(work)
    try:
        for script in ("prepare", "splits", "pretrain", "stage1"):
            stage_in_process(script, monkeypatch=monkeypatch)
    finally:
        monkeypatch.undo()
    return work


def _train_methods(work, nproc: int) -> dict:
    """{run name: [rank 0's weights, rank 1's, ...]} and the stage-1 predictions of each process."""
    script = work / "train_methods.py"
    script.write_text(SCRIPT)
    out = work / f"n{nproc}"
    launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"] if nproc > 1 else []
    # the faulthandler prints every thread's Python stack should a process abort in native code (CI
    # saw rank 0 end once with SIGABRT, "terminate called without an active exception", after every
    # run had trained; not reproduced here in 58 runs under load)
    env = {**os.environ, "LTR_RESUME_DIR": str(out / "resume"), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    cmd = [sys.executable, *launcher, str(script), str(out), json.dumps(RUNS)]
    result = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    trained = {}
    for name, *_ in RUNS:
        ranks = [out / f"rank{r}" / name for r in range(nproc)]
        trained[name] = [load_checkpoint(d / "model.pt")["state_dict"] for d in ranks]
        trained[name + ".history"] = [json.loads((d / "train_summary.json").read_text())["history"] for d in ranks]
    trained["hinge"] = [torch.load(out / f"rank{r}" / "hinge.pt", weights_only=True) for r in range(nproc)]
    trained["predictions"] = [dict(np.load(out / f"rank{r}" / "stage1" / "predictions.npz")) for r in range(nproc)]
    return trained


def test_two_processes_train_every_method_as_one(method_data, one_torchrun_at_a_time):
    one, two = _train_methods(method_data, 1), _train_methods(method_data, 2)
    for name, *_ in RUNS:
        (single,), (first, second) = one[name], two[name]
        assert single.keys() == first.keys()
        for key, weight in single.items():
            assert torch.equal(first[key], second[key]), f"{name}: {key} differs between the processes"
            if weight.is_floating_point():
                gap = (first[key] - weight).abs().max().item()
                assert gap <= 1e-5, f"{name}: {key} is {gap:.2e} from the one-process weights"
            else:
                assert torch.equal(first[key], weight), f"{name}: {key}"
        # every epoch's row sums both processes' slices: the loss of the whole batch
        rows = [[r["train_loss"], r["train_top1"]] for r in one[name + ".history"][0]]
        assert [[r["train_loss"], r["train_top1"]] for r in two[name + ".history"][0]] == [
            pytest.approx(r, abs=1e-4) for r in rows
        ], name
    assert torch.allclose(two["hinge"][0], one["hinge"][0], atol=1e-6) and torch.equal(*two["hinge"])
    # predictions in slices, gathered in order on both processes (val: a last batch of 5 split 2 + 3)
    (single,), (first, second) = one["predictions"], two["predictions"]
    for key, value in single.items():
        assert first[key].shape == value.shape and np.array_equal(first[key], second[key]), key
        # the weights differ by float summation order (<= 1e-5); a forward pass through them moves the
        # features by up to a few 1e-4 of their size
        np.testing.assert_allclose(first[key], value, rtol=1e-3, atol=1e-4, err_msg=key)


def test_gather_batches_restores_the_order_of_uneven_slices(monkeypatch):
    # three processes, batches of 5, 5 and 2 rows: rebuild what each process would send
    sizes, world = [5, 5, 2], 3
    full = torch.arange(12)
    local = {r: [] for r in range(world)}
    start = 0
    for n in sizes:
        for r in range(world):
            local[r].append(full[start + r * n // world : start + (r + 1) * n // world])
        start += n
    sent = {r: torch.cat(local[r]) for r in range(world)}
    pad = max(len(t) for t in sent.values())

    class FakeDist:
        ReduceOp = None

        @staticmethod
        def all_gather(parts, tensor):
            for r in range(world):
                parts[r].zero_()
                parts[r][: len(sent[r])] = sent[r]
            assert len(tensor) == pad

    monkeypatch.setattr(processes, "world_size", lambda: world)
    monkeypatch.setattr(processes, "rank", lambda: 1)
    monkeypatch.setattr(processes, "dist", FakeDist)
    assert processes.local_slice(5) == slice(1, 3)
    assert torch.equal(processes.gather_batches(local[1], sizes), full)


def test_stage1_under_torchrun_from_dvc(tiny_copy, one_torchrun_at_a_time):
    """`runtime.nproc: 2` runs stage 1 in two processes: one model, written once, close to the
    one-process model (BatchNorm statistics are per process, so not equal). The process count says how
    a stage runs, not what it computes: changing it alone re-runs nothing."""
    one = json.loads((tiny_copy / "data/models/stage1/train_summary.json").read_text())
    write_params(tiny_copy, {"runtime": {"nproc": 2}})
    # only the validation of params.yaml sees the change (its output stays the same)
    status = run(["dvc", "status"], tiny_copy).stdout
    assert [line[:-1] for line in status.splitlines() if not line.startswith("\t")] == ["check_params"], status
    result = run(["dvc", "repro", "--force", "--single-item", "stage1"], tiny_copy)
    assert "running under torchrun with 2 processes" in result.stdout
    assert result.stdout.count("stage1: best val top-1") == 1  # only rank 0 prints
    two = json.loads((tiny_copy / "data/models/stage1/train_summary.json").read_text())
    assert two["train_images"] == one["train_images"]  # every image of every epoch, once
    print(f"best val top-1: one process {one['best_val_top1']}, two processes {two['best_val_top1']}")
    assert abs(two["best_val_top1"] - one["best_val_top1"]) <= 15.0
    assert not list((tiny_copy / "data/models").glob(".stage1.*"))
    assert not (tiny_copy / ".cache/ltr").exists() or not any((tiny_copy / ".cache/ltr").iterdir())
    ckpt = load_checkpoint(tiny_copy / "data/models/stage1/model.pt")
    assert ckpt["arch"] == yaml.safe_load((tiny_copy / "params.yaml").read_text())["model"]["arch"]
