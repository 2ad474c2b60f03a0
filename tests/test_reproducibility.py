"""The same numbers on every machine: the thread count is a tracked param of every stage that computes
with torch, and the stage runner holds torch's CPU back-ends at AVX2 before torch loads."""

import os
import subprocess
import sys

import pytest
import torch
import yaml

from conftest import REPO
from ltr import runner
from ltr.config import RuntimeConfig
from ltr.device import use_threads

STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
TRAINING = {"pretrain", "stage1", "stage2", "experts"}


def _definition(name: str) -> dict:
    return STAGES[name]["do"] if "foreach" in STAGES[name] else STAGES[name]


def test_every_stage_that_sets_torch_threads_tracks_the_count():
    """A stage whose code loads ltr.device sets torch's threads from runtime.threads, so DVC must key
    its outputs on it: the training stages (whose weights depend on the count) first of all."""
    setting = {name for name in STAGES if "src/ltr/device.py" in _definition(name)["deps"]}
    assert TRAINING <= setting
    untracked = [name for name in setting if "runtime.threads" not in _definition(name)["params"]]
    assert untracked == []


def test_use_threads_sets_torchs_count():
    before = torch.get_num_threads()
    try:
        use_threads(RuntimeConfig(threads=before + 1))  # not the count the process has
        assert torch.get_num_threads() == before + 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("has_avx2", [True, False])
def test_pinning_sets_what_is_unset_and_keeps_what_is_set(monkeypatch, has_avx2):
    monkeypatch.setattr(runner, "_has_avx2", lambda: has_avx2)
    for name in runner.CPU_ISA_PINS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")  # the user's own choice wins
    runner.pin_cpu_isa()
    if has_avx2:
        assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2" and os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    else:  # a CPU without AVX2 would fault on AVX2 kernels: nothing is pinned
        assert "ATEN_CPU_CAPABILITY" not in os.environ and "ONEDNN_MAX_CPU_ISA" not in os.environ
    assert os.environ["MKL_CBWR"] == "COMPATIBLE"


def test_a_stage_runs_torch_on_the_pinned_kernels():
    """In a stage's process torch itself reports AVX2, on an AVX-512 machine too (without AVX2, what
    torch finds)."""
    script = (
        "from ltr.runner import run_stage\n"
        "def main():\n"
        "    import torch\n"
        "    print(torch.backends.cpu.get_cpu_capability())\n"
        "run_stage(main)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in runner.CPU_ISA_PINS}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("AVX2" if runner._has_avx2() else torch.backends.cpu.get_cpu_capability())
