"""Data-parallel training under torchrun, on CPU with the gloo backend and two processes."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
import yaml

from conftest import run, write_params
from ltr import processes
from ltr.engine.checkpoint import load_checkpoint

# Two processes against one on the same data: a model without BatchNorm (whose batch statistics are
# the one thing that is per process), a class-aware sampler, crop-and-flip augmentation, a batch size
# the val list is not a multiple of. Writes the trained weights, the val logits and what the
# processes gathered.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import torch
    from ltr.config import TrainConfig
    from ltr.data.loader import TensorBatches
    from ltr.data.samplers import ClassAwareSampler
    from ltr import processes
    from ltr.engine.checkpoint import ResumeState
    from ltr.engine.train import fit, predict

    out = Path(sys.argv[1])
    processes.init(torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (96, 3, 8, 8), generator=g, dtype=torch.uint8)
    labels = torch.arange(96) % 4
    norm = dict(mean=[0.5] * 3, std=[0.25] * 3)
    sampler = ClassAwareSampler(labels.numpy(), 4, 2, 96)
    train = TensorBatches(images, labels, batch_size=16, augment="crop_flip", drop_last=True, sampler=sampler, **norm)
    val = TensorBatches(images[:37], labels[:37], batch_size=8, **norm)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(8, 4),
    )
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.1, warmup_epochs=0)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=5e-4)
    rank = processes.rank()
    result = fit(model, opt, train, val, cfg, device=torch.device("cpu"), amp=False,
                 resume=ResumeState(out / f"resume{rank}"), live_dir=out / f"live{rank}", name="ddp")
    logits, val_labels = predict(model, val, torch.device("cpu"), False)
    keys = processes.concat_all(torch.full((2, 3), float(rank)))
    torch.save({"state": model.state_dict(), "logits": logits, "labels": val_labels, "keys": keys,
                "history": result.history}, out / f"rank{rank}.pt")
    processes.shutdown()
    """
)


def _train(tmp_path, nproc: int) -> list[dict]:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / f"n{nproc}"
    out.mkdir()
    launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"] if nproc > 1 else []
    # outside the project's DVC repository, which dvclive would otherwise open
    cmd = [sys.executable, *launcher, str(script), str(out)]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(nproc)]


def test_two_processes_train_the_same_model_as_one(tmp_path, one_torchrun_at_a_time):
    (one,) = _train(tmp_path, 1)
    first, second = _train(tmp_path, 2)
    for name, weight in one["state"].items():
        assert torch.allclose(first["state"][name], weight, atol=1e-5), name
        assert torch.equal(first["state"][name], second["state"][name]), name  # the processes agree exactly
    # val logits predicted in slices and gathered: all 37 rows, in order, on both processes
    assert torch.equal(first["labels"], one["labels"]) and len(first["labels"]) == 37
    assert torch.allclose(first["logits"], one["logits"], atol=1e-4)
    assert torch.equal(first["logits"], second["logits"])
    # the epoch rows sum both processes' slices
    assert [r["train_loss"] for r in first["history"]] == pytest.approx([r["train_loss"] for r in one["history"]])
    timeless = [[{k: v for k, v in r.items() if k != "img_per_s"} for r in p["history"]] for p in (first, second)]
    assert timeless[0] == timeless[1]
    assert torch.equal(first["keys"], torch.tensor([[0.0] * 3] * 2 + [[1.0] * 3] * 2))


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
