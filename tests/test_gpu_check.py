"""`make gpu-check` (bench/gpu_check.py) on this CPU machine: without CUDA it measures nothing and says
so; its parts rehearse on the CPU at toy sizes (`--device cpu --tiny`), the pipeline part on the tiny
repository, whose committed metrics the same CPU must reproduce exactly."""

import os
import subprocess
import sys

import pytest

from conftest import REPO, run

GPU_CHECK = [sys.executable, str(REPO / "bench" / "gpu_check.py")]


def test_without_cuda_it_says_so_in_one_line_and_exits_0(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU even where the machine has one
    result = subprocess.run(
        [*GPU_CHECK, "--out", str(tmp_path / "table.md")], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "gpu-check: no CUDA device on this machine (torch.cuda.is_available() is False); nothing was run"
    ]
    assert not (tmp_path / "table.md").exists()


@pytest.mark.e2e
def test_every_part_rehearses_on_the_cpu(tiny_repo, tmp_path, one_torchrun_at_a_time):
    out = tmp_path / "table.md"
    printed = run([*GPU_CHECK, "--device", "cpu", "--tiny", "--project", str(tiny_repo), "--out", str(out)], tmp_path)
    table = out.read_text()
    assert table in printed.stdout and "not a GPU measurement" in table.splitlines()[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    parts = {}
    for part, what, value in rows:
        parts.setdefault(part.lstrip("| "), {})[what] = value.rstrip(" |")
    assert list(parts) == ["pipeline", "stage1", "lists", "ddp"], table
    compared = {what: value for what, value in parts["pipeline"].items() if "committed / this run" in what}
    assert len(compared) == 8
    for what, value in compared.items():  # the same CPU and params: the committed metrics, to the digit
        committed, this_run = value.split(" (")[0].split(" / ")
        assert committed == this_run, f"{what}: {value}"
    speeds = [v for p in ("stage1", "lists") for w, v in parts[p].items() if "images/s" in w]
    speeds += [v for w, v in parts["ddp"].items() if "images/s" in w]
    assert len(speeds) == 6 and all(float(v) > 0 for v in speeds), table
    assert parts["ddp"]["largest weight difference between the 2 processes"] == "0.0e+00"
