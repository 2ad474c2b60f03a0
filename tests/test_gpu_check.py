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


def _table(project, tmp_path, *parts: str) -> dict[str, dict[str, str]]:
    """{part: {what: value}} of the table that `--device cpu --tiny` printed and wrote."""
    out = tmp_path / "table.md"
    cmd = [*GPU_CHECK, "--device", "cpu", "--tiny", "--project", str(project), "--out", str(out), "--parts", *parts]
    printed = run(cmd, tmp_path)
    table = out.read_text()
    assert table in printed.stdout and "not a GPU measurement" in table.splitlines()[0]
    parts_seen: dict[str, dict[str, str]] = {}
    for line in table.splitlines()[4:]:
        part, what, value = line.strip("| ").split(" | ")
        parts_seen.setdefault(part, {})[what] = value
    assert list(parts_seen) == list(parts), table
    return parts_seen


@pytest.mark.e2e
def test_the_pipeline_and_speed_parts_rehearse_on_the_cpu(tiny_repo, tmp_path):
    parts = _table(tiny_repo, tmp_path, "pipeline", "stage1", "lists")
    compared = {what: value for what, value in parts["pipeline"].items() if "committed / this run" in what}
    assert len(compared) == 8
    for what, value in compared.items():  # the same CPU and params: the committed metrics, to the digit
        committed, this_run = value.split(" (")[0].split(" / ")
        assert committed == this_run, f"{what}: {value}"
    speeds = [v for p in ("stage1", "lists") for w, v in parts[p].items() if "images/s" in w]
    assert len(speeds) == 4 and all(float(v) > 0 for v in speeds), parts


def test_the_two_process_part_rehearses_over_gloo(tiny_repo, tmp_path, one_torchrun_at_a_time):
    rows = _table(tiny_repo, tmp_path, "ddp")["ddp"]
    assert float(rows["stage-1 training images/s, 1 process"]) > 0
    assert float(rows["stage-1 training images/s, 2 processes (gloo)"]) > 0
    assert rows["largest weight difference between the 2 processes"] == "0.0e+00"
