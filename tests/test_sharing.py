"""Sharing runs with a lab (docs-sharing.md): the report's experiments pushed through a git remote and a
DVC remote, pulled into a fresh clone, and compared and checked out there without training."""

import json
import sys

import pytest

from conftest import commit, ran_stages, run

RUNS = ["report-softmax-seed0", "report-tau_norm-seed0"]


def shared_report(repo, tmp_path) -> dict:
    """The lab's side: remotes (a bare git repository and a DVC remote folder, both local here), two
    report runs, their push right after the report, then the results commit pushed on top. The metrics
    of the last run."""
    run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], tmp_path)
    run(["git", "remote", "add", "origin", str(tmp_path / "origin.git")], repo)
    run(["dvc", "remote", "add", "-d", "store", str(tmp_path / "store")], repo)
    commit(repo, "a DVC remote")
    for name in RUNS:  # post hoc methods: a few seconds each
        run(["dvc", "exp", "run", "-n", name, "-S", f"method={name.split('-')[1]}"], repo)
    # the experiments of the commit they ran on: pushed from it, before the results commit moves HEAD
    run(["bash", "-c", "dvc exp push origin $(dvc exp list --name-only | grep ^report-)"], repo)
    last = json.loads((repo / "metrics/metrics.json").read_text())  # dvc exp run applied it to the workspace
    run(["git", "checkout", "-q", "--", "."], repo)  # the workspace back to the commit, as results are written
    (repo / "results.md").write_text("the report's tables\n")
    commit(repo, "results")
    run(["git", "push", "-q", "origin", "HEAD"], repo)
    return last


@pytest.mark.e2e
def test_report_runs_are_shared_through_a_git_and_a_dvc_remote(tiny_copy, tmp_path):
    tau_norm = shared_report(tiny_copy, tmp_path)
    run(["git", "clone", "-q", str(tmp_path / "origin.git"), "clone"], tmp_path)
    clone = tmp_path / "clone"
    assert not (clone / "data/models").exists()  # nothing but git's files: no model, no logits
    run(["bash", "-c", "dvc exp pull origin $(dvc exp list origin -A --name-only | grep ^report-)"], clone)
    listed = run(["dvc", "exp", "list", "-A", "--name-only"], clone).stdout.split()
    assert sorted(listed) == RUNS
    # the runs derive from the commit before HEAD's: `ltr show --all` lists them under it
    shown = [
        line.split() for line in run([sys.executable, "-m", "ltr.cli", "show", "--all"], clone).stdout.splitlines()
    ]
    rows, ece = {row[0]: row for row in shown}, shown[0].index("ece")
    assert rows["report-tau_norm-seed0"][1:3] == ["tau_norm", "0"]
    assert rows["report-tau_norm-seed0"][ece] == f"{tau_norm['ece']:.2f}"

    diff = [line.split()[:2] for line in run(["dvc", "metrics", "diff", *RUNS], clone).stdout.splitlines()]
    assert ["metrics/metrics.json", "ece"] in diff
    targets = ["--targets", "metrics/method.json"]  # what tau-norm chose: a file, not a DVC metric
    assert ["metrics/method.json", "tau"] in [
        line.split()[:2] for line in run(["dvc", "metrics", "diff", *RUNS, *targets], clone).stdout.splitlines()
    ]
    run(["dvc", "plots", "diff", *RUNS, "-o", "compare"], clone)
    page = (clone / "compare/index.html").read_text()
    assert all(name in page for name in RUNS)

    run(["bash", "-c", "dvc exp apply report-tau_norm-seed0 && dvc checkout"], clone)
    assert "Data and pipelines are up to date." in run(["dvc", "status"], clone).stdout  # nothing to train
    assert (clone / "data/models/stage1/model.pt").exists() and (clone / "data/logits/test.npz").exists()
    assert json.loads((clone / "metrics/metrics.json").read_text()) == tau_norm


@pytest.mark.e2e
def test_a_clone_sharing_the_dvc_cache_restores_every_stage_without_training(tiny_copy, tmp_path):
    """A lab's shared cache: a second clone whose DVC cache is the first's trains nothing, since no
    stage output holds a timing that the lock records and the cache lacks."""
    run(["git", "clone", "-q", str(tiny_copy), "clone"], tmp_path)
    clone = tmp_path / "clone"
    run(["dvc", "cache", "dir", str(tiny_copy / ".dvc" / "cache")], clone)
    out = run(["dvc", "repro"], clone).stdout
    assert ran_stages(out) == set(), out
    assert (clone / "data/models/stage1/model.pt").exists() and (clone / "data/logits/test.npz").exists()
