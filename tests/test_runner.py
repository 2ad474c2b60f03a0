"""How a stage stops: one line and an exit status for a user error, Ctrl-C, SIGTERM and a full disk;
what it says was kept; the refusal of params changed under a running experiment."""

import errno
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ltr import layout
from ltr.config import load_config
from ltr.engine import checkpoint
from ltr.errors import LtrError
from ltr.runner import Terminated, run_stage


def _stopped(main, capsys) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as stop:
        run_stage(main)
    return stop.value.code, capsys.readouterr().err.splitlines()


@pytest.fixture
def saved(monkeypatch):
    monkeypatch.setattr(layout, "SAVED_EPOCH", {})
    return layout.SAVED_EPOCH


def _raise(error):
    def main():
        raise error

    return main


def test_each_way_of_stopping_is_one_line_with_its_status(capsys, saved):
    assert _stopped(_raise(LtrError("bad value")), capsys) == (2, ["error: bad value"])
    assert _stopped(_raise(KeyboardInterrupt()), capsys) == (
        130,
        [
            "error: interrupted (Ctrl-C); it saved no epoch and wrote no output: `dvc repro` runs it again "
            "(resuming where an earlier run stopped, if one did)"
        ],
    )
    saved.update(stage="stage1", epoch=3)
    assert _stopped(_raise(Terminated()), capsys) == (
        143,
        ["error: stopped by SIGTERM; kept stage1's state after epoch 3: `dvc repro` resumes from it"],
    )
    disk = OSError(errno.ENOSPC, "No space left on device", "data/logits/test.npz")
    assert _stopped(_raise(disk), capsys) == (
        2,
        [
            "error: cannot write data/logits/test.npz (No space left on device); "
            "kept stage1's state after epoch 3: `dvc repro` resumes from it"
        ],
    )
    with pytest.raises(OSError):  # any other OSError is a bug and keeps its traceback
        run_stage(_raise(OSError(errno.EACCES, "denied")))


def test_a_checkpoint_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, saved):
    def full(obj, path):
        path.write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file")

    monkeypatch.setattr(torch, "save", full)
    saved.update(stage="stage1", epoch=2)
    with pytest.raises(
        LtrError,
        match=r"cannot write .*state.tmp \(.*PytorchStreamWriter.*\), is the disk full\? "
        r"kept stage1's state after epoch 2",
    ):
        checkpoint.ResumeState(tmp_path / "stage1-abc").save({"epoch": 3})
    assert not (tmp_path / "stage1-abc" / "state.tmp").exists()


def test_resume_states_are_bounded_oldest_first(tmp_path, monkeypatch):
    checkpoint.ResumeState(tmp_path / "a").save({"x": torch.zeros(200)})
    size = (tmp_path / "a" / "state.pt").stat().st_size
    monkeypatch.setattr(checkpoint, "RESUME_MAX_GB", 2.5 * size / 2**30)  # room for two of them
    for name in ["b", "c"]:
        time.sleep(0.01)  # distinct times: a is the oldest
        checkpoint.ResumeState(tmp_path / name).save({"x": torch.zeros(200)})
    assert sorted(p.parent.name for p in tmp_path.glob("*/state.pt")) == ["b", "c"]
    assert not (tmp_path / "a").exists()


def test_params_changed_under_a_running_experiment_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "params.yaml").write_text("method: softmax\n")
    load_config()  # not under `dvc exp run`: nothing recorded
    assert not (tmp_path / ".dvc" / "tmp").exists()
    monkeypatch.setenv("DVC_EXP_NAME", "first")
    load_config()  # the run's first stage records the params
    load_config()  # a later stage of the same run, same params
    (tmp_path / "params.yaml").write_text("method: tde\n")  # another `dvc exp run` wrote its -S values
    with pytest.raises(LtrError, match="params.yaml changed while this experiment runs"):
        load_config()


def test_the_dvc_process_is_found_through_a_shell_and_its_end_stops_the_stage(tmp_path):
    # dash (/bin/sh, what DVC runs commands with where SHELL is unset) keeps itself between `dvc` and
    # the stage; "; true" makes any shell do so
    found = subprocess.run(
        ["sh", "-c", f'{sys.executable} -c "from ltr.dvc_process import dvc_process; print(dvc_process())"; true'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(found.stdout) == os.getpid()

    stage = (
        "import pathlib, signal, sys, time\n"
        "from ltr.dvc_process import sigterm_when_dvc_ends\n"
        f"out = pathlib.Path({str(tmp_path)!r})\n"
        "signal.signal(signal.SIGTERM, lambda *_: (out.joinpath('stopped').write_text('yes'), sys.exit(143)))\n"
        "out.joinpath('watched').write_text(str(sigterm_when_dvc_ends(poll_s=0.05)))\n"
        "time.sleep(60)\n"
    )
    (tmp_path / "stage.py").write_text(stage)
    dvc_stand_in = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess; subprocess.run(['sh', '-c', '{sys.executable} stage.py; true'])"],
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "watched").exists():
        assert time.monotonic() < deadline, "the stage never started its watch"
        time.sleep(0.02)
    assert (tmp_path / "watched").read_text() == "True"
    os.kill(dvc_stand_in.pid, signal.SIGKILL)  # `dvc` ends without passing anything on
    dvc_stand_in.wait()
    deadline = time.monotonic() + 10
    while not (tmp_path / "stopped").exists():
        assert time.monotonic() < deadline, "the stage runs on after dvc ended"
        time.sleep(0.02)
