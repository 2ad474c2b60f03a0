"""Faults and interruptions on the real pipeline: a rejected param leaves every result in place;
Ctrl-C and SIGTERM stop a training stage with one line and a state that the next run resumes to
bitwise the same weights; a killed --temp run resumes; two `dvc exp run` in one workspace do not
make one mixed experiment."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from conftest import run, stage_env, wait_for_saved_stage1_epoch, write_params

pytestmark = pytest.mark.e2e


def _snapshot(repo: Path) -> dict[str, bytes]:
    files = [*(repo / "metrics").iterdir(), *(repo / "plots").iterdir(), repo / "data/models/stage1/model.pt"]
    return {str(f.relative_to(repo)): f.read_bytes() for f in files}


def test_a_rejected_param_leaves_every_result_in_place(tiny_copy):
    before = _snapshot(tiny_copy)
    for setting, message in (
        ("eval.open_threshold=1.5", "eval.open_threshold = 1.5 is out of range: must be <= 1.0"),
        ("stage1.lr=-1", "stage1.lr = -1"),
        ("tde.train.heads=0", "tde.train.heads = 0 is out of range"),  # a method not in use: checked too
    ):
        result = run(["dvc", "exp", "run", "-S", setting], tiny_copy, check=False)
        assert result.returncode != 0 and message in result.stderr, result.stderr
        assert "Running stage 'check_params'" in result.stdout and "Running stage 'prepare'" not in result.stdout
        run(["git", "checkout", "params.yaml"], tiny_copy)
    assert _snapshot(tiny_copy) == before  # metrics/, plots/ and the stage-1 model, byte for byte


class Repro:
    """`dvc repro stage1` in its own process group, its output in files to watch."""

    def __init__(self, repo: Path, tag: str):
        self.repo, self.out, self.err = repo, repo / f"{tag}.out", repo / f"{tag}.err"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                ["dvc", "repro", "stage1"],
                cwd=repo,
                env=stage_env(repo),
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def wait_for(self, condition, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, f"stage 1 ended before {what}: {self.out.read_text()}"
            assert time.monotonic() < deadline, f"no {what}"
            time.sleep(0.01)

    def saved_epoch(self) -> int:
        states = list((self.repo / ".cache" / "ltr").glob("stage1-*/state.pt"))
        return torch.load(states[0], weights_only=True)["epoch"] if states else 0

    def error_lines(self) -> list[str]:
        self.proc.wait(timeout=60)
        # on a busy machine dvc can exit before its stage has written its last line (to the same file)
        deadline = time.monotonic() + 30
        while _stage_processes(self.repo) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.err.read_text().strip().splitlines()


def _stage_processes(repo: Path) -> list[int]:
    """The stage-1 processes running in repo (read from /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if b"stages/stage1.py" in (proc / "cmdline").read_bytes() and os.readlink(proc / "cwd") == str(repo):
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def test_ctrl_c_and_sigterm_stop_stage_1_with_one_line_and_the_next_run_resumes(tiny_copy):
    write_params(tiny_copy, {"stage1": {"epochs": 6}})

    shutil.rmtree(tiny_copy / ".cache", ignore_errors=True)  # only this run's states count below
    first = Repro(tiny_copy, "sigint")  # Ctrl-C: SIGINT to the terminal's process group, DVC and stage
    first.wait_for(lambda: first.saved_epoch() >= 1 and _stage_processes(tiny_copy), "saved epoch")
    os.killpg(first.proc.pid, signal.SIGINT)
    lines = first.error_lines()
    assert len(lines) <= 3 and not any("Traceback" in line for line in lines), lines
    seen = (lines, first.out.read_text()[-2000:])
    assert any("interrupted (Ctrl-C); kept stage1's state after epoch" in line for line in lines), seen
    assert not (tiny_copy / "data/models/stage1").exists()  # DVC removed it; nothing half-written replaced it

    second = Repro(tiny_copy, "sigterm")  # SIGTERM to `dvc` alone: the stage must not go on as an orphan
    second.wait_for(lambda: "resuming after epoch" in second.out.read_text(), "resume")
    resumed = second.saved_epoch()
    second.wait_for(lambda: second.saved_epoch() > resumed, "new epoch")
    second.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _stage_processes(tiny_copy):
        assert time.monotonic() < deadline, "the stage runs on after dvc ended"
        time.sleep(0.1)
    lines = second.error_lines()
    assert len(lines) <= 3 and not any("Traceback" in line for line in lines), lines
    assert any("stopped by SIGTERM; kept stage1's state after epoch" in line for line in lines), lines

    out = run(["dvc", "repro", "stage1"], tiny_copy).stdout
    assert "stage1: resuming after epoch" in out
    resumed = torch.load(tiny_copy / "data/models/stage1/model.pt", weights_only=True)["state_dict"]
    # an uninterrupted run of the same params, with a resume directory of its own
    env = {**stage_env(tiny_copy), "LTR_RESUME_DIR": str(tiny_copy / ".cache" / "fresh")}
    subprocess.run(["python", "stages/stage1.py"], cwd=tiny_copy, env=env, check=True, capture_output=True)
    uninterrupted = torch.load(tiny_copy / "data/models/stage1/model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in uninterrupted)


def test_a_killed_temp_run_resumes_when_run_again(tiny_copy):
    command = ["dvc", "exp", "run", "--temp", "-S", "stage1.epochs=4", "-S", "stage1.lr=0.05"]
    proc = subprocess.Popen(
        command,
        cwd=tiny_copy,
        env=stage_env(tiny_copy),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_saved_stage1_epoch(tiny_copy, proc)  # its state lies outside the temporary workspace
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    out = run(command, tiny_copy).stdout
    assert "stage1: resuming after epoch" in out


def test_a_second_exp_run_in_the_workspace_does_not_mix_into_the_first(tiny_copy):
    first = subprocess.Popen(
        ["dvc", "exp", "run", "-S", "stage1.epochs=5"],
        cwd=tiny_copy,
        env=stage_env(tiny_copy),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_saved_stage1_epoch(tiny_copy, first)  # the first is in stage 1
    second = run(["dvc", "exp", "run", "-S", "eval.open_threshold=0.3"], tiny_copy, check=False)
    assert second.returncode != 0  # DVC's lock refuses it, after it wrote its -S value into params.yaml
    _, err = first.communicate(timeout=300)
    assert first.returncode != 0
    assert "params.yaml changed while this experiment runs" in err, err
