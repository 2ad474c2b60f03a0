"""Bad input to a stage: one clear line on stderr, exit status 2, no outputs left behind."""

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_repo, run, stage_env, write_params

pytestmark = pytest.mark.e2e


def _fails(repo, stage_args, output, *expected):
    """Run a stage script after removing its output (as DVC does); it must fail cleanly."""
    target = repo / output
    if target.exists():
        shutil.rmtree(target)
    result = run(["python", *stage_args], repo, check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0]
    assert not target.exists()
    assert not list(target.parent.glob(f".{target.name}.*")), "a temporary output was left behind"
    return lines[0]


def test_unknown_method_lists_the_registered_ones(tiny_copy):
    write_params(tiny_copy, {"method": "foo"})
    _fails(tiny_copy, ["stages/pretrain.py"], "data/models/pretrain", "method = 'foo'", "softmax")


def test_imbalance_factor_below_one(tiny_copy):
    write_params(tiny_copy, {"data": {"imb_factor": 0.5}})
    _fails(tiny_copy, ["stages/splits.py"], "data/splits", "data.imb_factor = 0.5", ">= 1")


def test_malformed_split_line(tiny_copy):
    train = tiny_copy / "data/splits/train.txt"
    lines = train.read_text().splitlines()
    lines[3] = lines[3] + " extra"
    train.write_text("\n".join(lines) + "\n")
    _fails(tiny_copy, ["stages/stage1.py"], "data/models/stage1", "train.txt:4:", "malformed")


def test_label_outside_the_class_range(tiny_copy):
    val = tiny_copy / "data/splits/val.txt"
    lines = val.read_text().splitlines()
    lines[0] = lines[0].split()[0] + " 10"
    val.write_text("\n".join(lines) + "\n")
    _fails(tiny_copy, ["stages/stage1.py"], "data/models/stage1", "val.txt:1:", "label 10", "0..9")


def test_stage_before_its_inputs_exist(tmp_path):
    repo = make_repo(tmp_path / "fresh")
    _fails(repo, ["stages/stage1.py"], "data/models/stage1", "missing", "dvc repro")
    _fails(repo, ["stages/evaluate.py"], "metrics", "data/splits/meta.json is missing")


def test_corrupt_checkpoint_and_truncated_logits(tiny_copy):
    model = tiny_copy / "data/models/stage1/model.pt"
    data = model.read_bytes()
    model.unlink()  # DVC may link outputs to its cache: never write through them
    model.write_bytes(data[: len(data) // 3])
    _fails(tiny_copy, ["stages/logits.py"], "data/logits", "model.pt is corrupt")
    run(["dvc", "checkout", "logits"], tiny_copy)  # back from DVC's cache
    logits = tiny_copy / "data/logits/test.npz"
    raw = logits.read_bytes()
    logits.unlink()
    logits.write_bytes(raw[:100])
    _fails(tiny_copy, ["stages/evaluate.py"], "metrics", "test.npz is unreadable")


def test_experts_stage_names_its_subsets(tiny_copy):
    _fails(tiny_copy, ["stages/experts.py", "tail"], "data/models/experts/tail", "many, medium, few")


def test_a_relative_data_root_missing_from_a_temp_workspace(tiny_copy):
    """The tree exists in the workspace but is git-ignored, so `--temp`'s copy lacks it: check_params
    says so in one line, before prepare, and the results stay."""
    (tiny_copy / "data/raw/mytree/train").mkdir(parents=True)
    metrics = (tiny_copy / "metrics/metrics.json").read_bytes()
    result = run(["dvc", "exp", "run", "--temp", "-S", "data.root=data/raw/mytree"], tiny_copy, check=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode != 0 and len(errors) == 1, result.stderr
    assert "data.root = 'data/raw/mytree' does not exist" in errors[0] and "absolute path" in errors[0]
    assert "Running stage 'prepare'" not in result.stdout
    assert (tiny_copy / "metrics/metrics.json").read_bytes() == metrics


def test_ctrl_c_while_a_stage_imports_torch(tiny_copy):
    """SIGINT before the stage has finished importing: one line, exit 130, no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "stages/logits.py"],
        cwd=tiny_copy,
        env=stage_env(tiny_copy),
        stderr=subprocess.PIPE,
        text=True,
    )
    maps, deadline = Path(f"/proc/{proc.pid}/maps"), time.monotonic() + 60
    while "libtorch" not in maps.read_text():  # torch's import has begun: its libraries are mapped
        assert proc.poll() is None and time.monotonic() < deadline, "the stage ended before importing torch"
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "error: interrupted (Ctrl-C); it saved no epoch and wrote no output: `dvc repro` runs it again "
        "(resuming where an earlier run stopped, if one did)"
    ]
