"""The `ltr` command line: help on every command, one-line refusals, the curated experiment table, and
`ltr new-method` followed by `dvc exp run` of the new method on the tiny repository."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, commit, ran_stages, run
from ltr.cli import HEADLINE, main, render, rows_of, table
from ltr.workspace import copy_pipeline

COMMANDS = [
    [],
    ["show"],
    ["report"],
    ["presets"],
    ["presets", "check"],
    ["presets", "args"],
    ["new-method"],
    ["params"],
    ["explain"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "ltr")
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {' '.join(['ltr', *command])} ")


def python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)


def test_the_console_entry_answers_help_without_torch():
    assert python("-m", "ltr.cli", "--help").returncode == 0
    code = "import sys, ltr.cli; print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'numpy', 'dvc'}))"
    assert python("-c", code).stdout.strip() == "[]"


def test_presets_module_prints_its_usage():
    help_ = python("-m", "ltr.presets", "--help")
    assert help_.returncode == 0 and help_.stdout.startswith("usage: python -m ltr.presets ")
    bare = python("-m", "ltr.presets")
    assert bare.returncode == 2 and "the following arguments are required" in bare.stderr


def test_presets_through_ltr(capsys):
    assert main(["presets", "check", str(REPO / "params/cifar10_lt_tde.yaml")]) == 0
    assert capsys.readouterr().out.endswith(": ok (tde on cifar10, resnet32)\n")
    assert main(["presets", "args", "no/such.yaml"]) == 2
    assert capsys.readouterr().err == "error: preset no/such.yaml does not exist; presets live in params/\n"


def test_report_errors_are_one_line_with_status_2(capsys):
    assert main(["report", "--seeds", "one"]) == 2  # refused by ltr.report.compare before any dvc command
    assert capsys.readouterr().err.splitlines() == [
        "error: --seeds 'one' is not allowed; give integers >= 0, e.g. --seeds 0 1 2"
    ]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the project's pipeline files, for commands that must leave it as it was."""
    dest = tmp_path_factory.mktemp("project")
    copy_pipeline(REPO, dest)
    return dest


@pytest.mark.parametrize(
    "args, message",
    [
        (["my-method"], "error: 'my-method' is not a Python identifier; give a name such as my_method"),
        (["class"], "error: 'class' is not a Python identifier; give a name such as my_method"),
        (["softmax"], "error: softmax exists already: src/ltr/methods/softmax"),
        (["shared"], "error: shared exists already: src/ltr/methods/shared"),
        (["data"], "error: data exists already: params.yaml has a top-level data: section"),
        (["mine", "--from", "crt"], "error: 'crt' is not a template; give one of template_posthoc, template_trained"),
        (["mine", "--from", "nope"], "error: 'nope' is not a template; give one of template_posthoc, template_trained"),
    ],
    ids=["not an identifier", "a keyword", "a method", "a module", "a params section", "not a template", "no such"],
)
def test_new_method_refuses_in_one_line(project, monkeypatch, capsys, args, message):
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    monkeypatch.chdir(project)
    assert main(["new-method", *args]) == 2
    assert capsys.readouterr().err.splitlines() == [message]
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


def test_show_lists_what_differs_and_the_headline_metrics():
    def rev(name, method, lr, metrics):
        params = {"method": method, "seed": 0, "stage1": {"lr": lr, "epochs": 30}}
        data = {"params": {"params.yaml": {"data": params}}, "metrics": {"metrics/metrics.json": {"data": metrics}}}
        return {"rev": f"{name}0000000", "name": name, "data": data}

    closed = {"top1": 33.456, "many": 70.9, "few": None, "gmacs": 0.01225}
    shown = [
        {**rev("workspace", "crt", 0.1, closed), "rev": "workspace", "name": None, "experiments": None},
        {
            **rev("main", "softmax", 0.1, closed),
            "experiments": [
                {"executor": None, "revs": [rev("lr005", "softmax", 0.05, {"open_auroc": 58.7})]},
                {"executor": {"state": "queued"}, "revs": [rev("q", "ssp", 0.1, {})]},
            ],
        },
    ]
    header, body = table(rows_of(shown))
    assert header == ["Experiment", "method", "seed", "stage1.lr", "top1", "many", "medium", "few", "ece"] + [
        "open F",
        "AUROC",
        "fwd50",
        "bwd50",
        "GMACs",
    ]
    assert body[0] == ["workspace", "crt", "0", "0.1", "33.46", "70.90", "-", "-", "-", "-", "-", "-", "-", "0.01225"]
    assert body[2][:4] == ["lr005", "softmax", "0", "0.05"] and body[2][header.index("AUROC")] == "58.70"
    assert body[3][0] == "q (queued)" and set(body[3][4:]) == {"-"}
    text = render(header, body, markdown=False).splitlines()
    assert text[0].split() == ["Experiment", "method", "seed", "stage1.lr", "top1", "many", "medium", "few"] + [
        "ece",
        "open",
        "F",
        "AUROC",
        "fwd50",
        "bwd50",
        "GMACs",
    ]
    assert len({len(line) for line in text[:3]}) == 1  # aligned: every full row as wide
    md = render(header, body, markdown=True).splitlines()
    assert md[1].startswith("| --- | --- | ---: | ---: | ---: |") and md[2].startswith("| workspace | crt | 0 |")


def test_show_reads_the_keys_that_evaluate_writes():
    from ltr.metrics.summary import HEADLINE as WRITTEN

    assert list(HEADLINE) == list(WRITTEN)


@pytest.mark.e2e
def test_a_new_method_runs_on_the_shared_stage_1(tiny_copy):
    """README "Add a method" by the command: `ltr new-method`, commit, `dvc exp run -S method=mine`,
    which trains stage 2 and makes the logits of the new method, and re-uses stage 1."""
    out = run([sys.executable, "-m", "ltr.cli", "new-method", "mine", "--from", "template_trained"], tiny_copy).stdout
    assert "git add src/ltr/methods/mine\n" in out
    changed = run(["git", "status", "--porcelain", "--untracked-files=all"], tiny_copy).stdout.splitlines()
    # one new folder and nothing else: no params.yaml section, no edit of dvc.yaml
    assert sorted(line[3:] for line in changed) == [
        "src/ltr/methods/mine/__init__.py",
        "src/ltr/methods/mine/params.py",
        "src/ltr/methods/mine/steps.py",
    ]
    commit(tiny_copy, "mine, a copy of the trained template")
    out = run(["dvc", "exp", "run", "-S", "method=mine"], tiny_copy).stdout
    assert "Stage 'stage1' didn't change, skipping" in out
    assert {"stage2", "logits", "evaluate"} <= ran_stages(out) and "stage1" not in ran_stages(out)
    assert json.loads((tiny_copy / "data/models/stage2/manifest.json").read_text())["used"]
    top1 = json.loads((tiny_copy / "metrics/metrics.json").read_text())["top1"]
    shown = run([sys.executable, "-m", "ltr.cli", "show"], tiny_copy).stdout.splitlines()
    column = shown[0].split().index("top1")
    mine = [line.split() for line in shown if " mine " in line]  # the workspace and the experiment
    assert len(mine) == 2 and all(row[column] == f"{top1:.2f}" for row in mine), shown
