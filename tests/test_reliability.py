"""A lab's failure modes on the real pipeline: a stage killed with SIGKILL resumes from its last
finished epoch (and only from state of the same config); the whole tiny pipeline run twice gives the
same metrics to the last digit; two queued experiments run at once give their own results."""

import json
import os
import signal
import subprocess
import time

import pytest
import torch

from conftest import run, stage_env, wait_for_saved_stage1_epoch, write_params

pytestmark = pytest.mark.e2e


def _kill_after_first_saved_epoch(repo) -> int:
    """SIGKILL a forced `dvc repro` of stage 1 (DVC and the stage) once an epoch's state is saved."""
    proc = subprocess.Popen(
        ["dvc", "repro", "--force", "--single-item", "stage1"],
        cwd=repo,
        env=stage_env(repo),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_saved_stage1_epoch(repo, proc, timeout=120)
    os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


def test_killed_stage_resumes_and_ends_as_an_uninterrupted_run(tiny_copy):
    output = tiny_copy / "data" / "models" / "stage1"
    reference = torch.load(output / "model.pt", weights_only=True)["state_dict"]  # the fixture's uninterrupted run
    # --force: DVC would otherwise restore the committed result from its cache instead of training
    assert _kill_after_first_saved_epoch(tiny_copy) == -signal.SIGKILL
    assert not output.exists()  # no half-written output

    write_params(tiny_copy, {"stage1": {"lr": 0.05}})  # another config must not pick up that state
    assert "resuming" not in run(["python", "stages/stage1.py"], tiny_copy).stdout
    run(["git", "checkout", "params.yaml"], tiny_copy)

    out = run(["dvc", "repro", "--force", "--single-item", "stage1"], tiny_copy).stdout
    assert "stage1: resuming after epoch" in out
    resumed = torch.load(output / "model.pt", weights_only=True)["state_dict"]
    assert reference.keys() == resumed.keys()
    # bit-identical weights: every later stage and metric is that of the uninterrupted run (the
    # determinism test below checks that a full re-run reproduces every metric exactly)
    assert all(torch.equal(reference[k], resumed[k]) for k in reference)
    assert not list((tiny_copy / "data" / "models").glob(".stage1.*"))  # the killed run's temporary is gone
    assert not list((tiny_copy / ".cache" / "ltr").glob("stage1-*/state.pt"))  # finished: state dropped


def test_two_queued_experiments_at_once_and_a_second_full_run_is_identical(tiny_copy):
    # "again" re-runs every stage of the committed params (--force): the pipeline's second full run;
    # "open03" changes the evaluation only. Both run at the same time in two queue workers.
    run(["dvc", "exp", "run", "--queue", "--force", "-n", "again"], tiny_copy)
    run(["dvc", "exp", "run", "--queue", "-S", "eval.open_threshold=0.3", "-n", "open03"], tiny_copy)
    run(["dvc", "queue", "start", "-j", "2"], tiny_copy)
    deadline = time.monotonic() + 400
    while True:
        status = run(["dvc", "queue", "status"], tiny_copy).stdout
        if "Running" not in status and "Queued" not in status:
            break
        assert time.monotonic() < deadline, status
        time.sleep(2)
    assert status.count("Success") == 2, status

    def metrics_of(name):
        metrics = json.loads(run(["dvc", "exp", "show", "--json"], tiny_copy).stdout)
        for experiment in metrics[1]["experiments"]:
            if experiment["name"] == name:
                data = experiment["revs"][0]["data"]
                return data["metrics"]["metrics/metrics.json"]["data"], data["params"]["params.yaml"]["data"]
        raise AssertionError(f"no experiment {name}")

    committed = json.loads((tiny_copy / "metrics" / "metrics.json").read_text())
    again, _ = metrics_of("again")
    open03, params = metrics_of("open03")
    assert "Running stage 'stage1'" in run(["dvc", "queue", "logs", "again"], tiny_copy).stdout
    for metrics in (committed, again, open03):
        metrics.pop("gmacs")
    assert again == committed  # every headline metric of the second full run, exactly
    assert params["eval"]["open_threshold"] == 0.3
    closed = ("top1", "many", "medium", "few", "ece")
    assert all(open03[k] == committed[k] for k in closed) and open03["open_f"] != committed["open_f"]
