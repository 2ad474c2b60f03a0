"""`make report`: experiments read back from `dvc.api.exp_show` rows, the aggregation over seeds
(mean, sample std, paired difference to softmax) against hand-computed values, the csv and README
tables, the order experiments are queued in, the figures; and one end-to-end run on tiny params."""

import math

import pandas as pd
import pytest
import yaml

from conftest import run
from ltr.presets import flatten
from ltr.report.compare import parse_args
from ltr.report.comparison_plots import agnostic_comparison_figure, group_bars_figure, per_class_comparison_figure
from ltr.report.runs import as_cell, experiments_of, method_seed_runs, read_experiments
from ltr.report.scheduling import Task, experiment_name, next_ready, run_order
from ltr.report.table import METRICS, differences_table, markdown_table, paired_differences, seed_frame, summary

# -- experiments from dvc.api.exp_show -------------------------------------------------------------------

KEYS = ["method", "seed", "stage1.epochs", "stage1.milestones", "runtime.amp", "pretrain.kind"]


def _row(name, rev, state, method, seed, top1=50.0, epochs=2, typ="branch_commit"):
    """A row as dvc.api.exp_show gives it: numbers as floats, lists and booleans as text; a key two
    files share named `file:key` (here pretrain.kind, also a metric)."""
    return {
        "Experiment": name,
        "rev": rev,
        "typ": typ,
        "Created": "03:17 PM",
        "parent": None,
        "State": state,
        "Executor": None,
        "top1": top1,
        "metrics/method.json:pretrain.kind": None,
        "method": method,
        "seed": float(seed),
        "stage1.epochs": float(epochs),
        "stage1.milestones": "[]",
        "runtime.amp": "True",
        "params.yaml:pretrain.kind": "rotation",
    }


ROWS = [
    _row(None, "workspace", None, "softmax", 0, typ="baseline"),
    _row(None, "main", None, "softmax", 0, typ="baseline"),
    _row("report-crt-seed1", "a1", "Success", "crt", 1, top1=55.0),
    _row("ablation", "a2", "Success", "crt", 1, epochs=5),  # other params: not a run of the report
    _row("report-crt-seed0", "a3", "Failed", "crt", 0),  # a failed row shows its baseline's data
    _row("report-softmax-seed1", "a4", "Queued", "softmax", 1, top1=None),
    _row("by-hand", "a5", None, "softmax", 0, top1=44.0),  # `dvc exp run` in the workspace: no State
    _row("report-softmax-seed0", "a6", "Success", "softmax", 0, top1=44.0),
    _row("older", "a7", "Success", "crt", 1, top1=55.0),
]


def test_experiments_are_the_finished_rows_compared_on_the_workspace_params():
    experiments = experiments_of(ROWS, KEYS)
    assert experiments.workspace == {
        "method": "softmax",
        "seed": 0.0,
        "stage1.epochs": 2.0,
        "stage1.milestones": "[]",
        "runtime.amp": "True",
        "pretrain.kind": "rotation",
    }
    assert [e.name for e in experiments.finished] == [
        "report-crt-seed1",
        "ablation",
        "by-hand",
        "report-softmax-seed0",
        "older",
    ]
    assert experiments.names == {r["Experiment"] for r in ROWS[2:]}

    runs = method_seed_runs(experiments, ["softmax", "crt"], [0, 1], experiment_name)
    # softmax seed 0: the report's own experiment is preferred over an identical one made by hand
    assert {k: e.rev for k, e in runs.items()} == {("crt", 1): "a1", ("softmax", 0): "a6"}
    assert method_seed_runs(experiments, ["crt"], [1], lambda m, s: "none")[("crt", 1)].rev == "a1"  # newest
    assert method_seed_runs(experiments, ["softmax"], [1], experiment_name) == {}


def test_params_become_the_cells_exp_show_shows():
    assert [as_cell(v) for v in (True, 500, 0.5, [10, 20], [], "auto", None, {})] == [
        "True",
        500.0,
        0.5,
        "[10, 20]",
        "[]",
        "auto",
        "None",
        None,
    ]


# -- the aggregation over seeds ---------------------------------------------------------------------------


def _seeds() -> pd.DataFrame:
    """softmax top-1 40, 42, 44; crt 45, 49, 44: means 42 and 46, std 2 and sqrt(7); paired
    differences 5, 7, 0: mean 4, std sqrt(13). crt's few-shot accuracy is missing on one seed."""
    top1 = {("softmax", 0): 40.0, ("softmax", 1): 42.0, ("softmax", 2): 44.0}
    top1 |= {("crt", 0): 45.0, ("crt", 1): 49.0, ("crt", 2): 44.0}
    few = {("softmax", 0): 1.0, ("softmax", 1): 2.0, ("softmax", 2): 3.0, ("crt", 0): 10.0, ("crt", 1): 20.0}
    metrics = {
        k: {"closed.top1": v, "closed.few": few.get(k), "cost.gmacs": 0.01224, "cost.train_mimages": 1.5}
        for k, v in top1.items()
    }
    return seed_frame(metrics, {k: experiment_name(*k) for k in metrics})


def test_mean_std_and_paired_difference_by_hand():
    seeds = _seeds()
    frame = summary(seeds, ["softmax", "crt", "lws"])  # lws has no run: left out
    assert list(frame.index) == ["softmax", "crt"]
    assert frame["seeds"].tolist() == [3, 3]
    assert frame.loc["softmax", "top1_mean"] == 42.0 and frame.loc["softmax", "top1_std"] == 2.0
    assert frame.loc["crt", "top1_mean"] == 46.0 and frame.loc["crt", "top1_std"] == pytest.approx(math.sqrt(7))
    assert frame.loc["crt", "top1_diff_mean"] == 4.0
    assert frame.loc["crt", "top1_diff_std"] == pytest.approx(math.sqrt(13))  # paired: not sqrt(4 + 7)
    assert frame.loc["crt", "few_mean"] == 15.0  # over the seeds that have it; differences 9 and 18
    assert frame.loc["crt", "few_diff_mean"] == 13.5 and frame.loc["crt", "few_diff_std"] == pytest.approx(
        math.sqrt(40.5)
    )
    assert frame.loc["crt", "gmacs_std"] == 0.0 and frame.loc["crt", "train_mimages_diff_mean"] == 0.0
    assert frame.loc["softmax", ["top1_diff_mean", "top1_diff_std"]].isna().all()  # no difference to itself
    assert frame.loc["crt", "many_mean"] != frame.loc["crt", "many_mean"]  # NaN: no metric given
    diffs = paired_differences(seeds)
    assert diffs["method"].tolist() == ["crt"] * 3 and diffs["top1"].tolist() == [5.0, 7.0, 0.0]


def test_comparison_csv_columns():
    frame = summary(_seeds(), ["softmax", "crt"])
    expected = ["seeds"]
    expected += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
    expected += [f"{m}_diff_{s}" for m in METRICS for s in ("mean", "std")]
    assert list(frame.columns) == expected
    assert METRICS == [
        "top1",
        "many",
        "medium",
        "few",
        "open_f",
        "open_auroc",
        "forward50",
        "backward50",
        "shift_mean",
        "ece",
        "gmacs",
        "train_mimages",
    ]
    assert frame.index.name == "method"


def test_readme_tables_show_mean_plus_minus_std():
    seeds = _seeds()
    frame = summary(seeds, ["softmax", "crt"])
    table = markdown_table(frame).splitlines()
    assert table[0] == (
        "| method | top-1 | many | medium | few | open F | open AUROC | forward-50 | backward-50 | shift mean "
        "| ECE | GMACs | train M images |"
    )
    assert table[1] == "|---" * 13 + "|"
    softmax = table[2].split(" | ")
    assert softmax[0] == "| softmax" and softmax[1] == "42.00 ± 2.00" and softmax[4] == "2.00 ± 1.00"
    assert softmax[2] == "-"  # no many-shot metric given
    assert softmax[11] == "0.0122" and softmax[12] == "1.50 ± 0.00 |"  # GMACs: one value
    assert table[3].split(" | ")[1] == "46.00 ± 2.65"

    diffs = differences_table(frame, seeds).splitlines()
    assert diffs[0].endswith("| backward-50 | shift mean | ECE |")  # no GMACs, no training images
    assert len(diffs) == 3  # softmax has no row
    crt = diffs[2].split(" | ")
    assert crt[0] == "| crt" and crt[1] == "+4.00 ± 3.61" and crt[4] == "+13.50 ± 6.36"
    # italics where the seeds disagree on the sign
    seeds.loc[(seeds["method"] == "crt") & (seeds["seed"] == 2), "top1"] = 41.0  # differences 5, 7, -3
    crt = differences_table(summary(seeds, ["softmax", "crt"]), seeds).splitlines()[2].split(" | ")
    assert crt[1] == "*+3.00 ± 5.29*" and crt[4] == "+13.50 ± 6.36"


def test_one_seed_shows_the_mean_alone():
    seeds = _seeds()
    frame = summary(seeds[seeds["seed"] == 0], ["softmax", "crt"])
    assert markdown_table(frame).splitlines()[2].split(" | ")[1] == "40.00"
    assert differences_table(frame, seeds[seeds["seed"] == 0]).splitlines()[2].split(" | ")[1] == "+5.00"


def test_a_report_from_the_finished_runs_says_how_many_seeds_each_row_has(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from ltr.report import compare

    top1 = {("softmax", 0): 40.0, ("softmax", 1): 44.0, ("crt", 0): 50.0}  # crt's seed 1 never finished
    runs = {k: SimpleNamespace(rev=f"{k[0]}{k[1]}", name=experiment_name(*k)) for k in top1}
    by_rev = {f"{m}{s}": v for (m, s), v in top1.items()}
    monkeypatch.setattr(
        compare, "run_metrics", lambda rev, method: {"closed.top1": by_rev[rev], "cost.train_mimages": 1}
    )
    per_class = pd.DataFrame({"class": [0, 1], "train_count": [500, 5], "accuracy": [90.0, 10.0]})
    agnostic = pd.DataFrame({"distribution": ["uniform"], "position": [5], "top1": [45.0]})
    monkeypatch.setattr(compare, "git_show_csv", lambda rev, path: per_class if "per_class" in path else agnostic)
    (tmp_path / "docs").mkdir()
    page, readme = tmp_path / "docs" / "results.md", tmp_path / "README.md"
    page.write_text(f"before\n{compare.START}\nold\n{compare.END}\nafter\n")
    readme.write_text(f"# ltr\n{compare.HEADLINE_START}\nold\n{compare.HEADLINE_END}\nmore\n")
    compare.write_report(runs, ["softmax", "crt"], [0, 1], tmp_path / "results", tmp_path, "a note")
    short = readme.read_text()
    assert short.startswith("# ltr\n") and short.endswith("more\n") and "old" not in short
    assert "| crt | 50.00 |" in short and "](results/groups.png)" in short  # best first: top-1, few, ...
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert "](figures/groups.svg)" in text
    assert "only the runs that had finished" in text
    assert "| method | seeds | top-1 |" in text
    assert "| softmax | 2 | 42.00 ± 2.83 |" in text and "| crt | 1 | 50.00 |" in text
    assert "| crt | +10.00 |" in text  # paired with softmax's seed 0 alone
    frame = pd.read_csv(tmp_path / "results/comparison.csv", index_col="method")
    assert frame["seeds"].to_dict() == {"softmax": 2, "crt": 1}


# -- the order of the queue ---------------------------------------------------------------------------------


def test_softmax_first_then_the_longest_and_one_stage1_per_seed():
    methods = ["softmax", "crt", "tau_norm", "ssp", "experts"]
    tasks = [Task(m, s) for s in (0, 1) for m in methods]
    order = run_order(tasks, methods)
    assert [(t.method, t.seed) for t in order[:4]] == [("softmax", 0), ("softmax", 1), ("crt", 0), ("crt", 1)]
    assert [t.method for t in order[-2:]] == ["tau_norm", "tau_norm"]  # trains nothing beyond stage 1: last
    # softmax 0 in flight trains seed 0's stage 1: the next is seed 1's first experiment
    assert next_ready(order[1:], [Task("softmax", 0)], set()) == Task("softmax", 1)
    # both in flight: only ssp (its own pre-trained stage 1) may start
    pending = [t for t in order if t.method != "softmax"]
    assert next_ready(pending, [Task("softmax", 0), Task("softmax", 1)], set()) == Task("ssp", 0)
    assert next_ready(pending, [Task("softmax", 1)], {0}) == Task("crt", 0)  # seed 0's stage 1 is done
    # softmax 0 failed (not in flight, seed 0 not done): the next of seed 0 trains stage 1 itself
    assert next_ready(pending, [Task("softmax", 1)], set()) == Task("crt", 0)
    assert next_ready([Task("tau_norm", 0)], [Task("crt", 0)], set()) is None


class FakeQueue:
    """DVC's queue as run_tasks sees it: each look moves a queued task to Running and a running one to
    Success, one task per worker; a task of `lose` is lost once (Running, no output, until killed); a
    task of `hide` is absent from the look after the one that starts it, as when a loaded worker does
    not answer in time."""

    def __init__(self, lose: set[str] = frozenset(), hide: set[str] = frozenset()):
        self.tasks, self.clock, self.lose, self.hide = {}, 0.0, set(lose), set(hide)
        self.started, self.killed = [], []

    def status(self) -> dict:
        self.clock += 100.0
        hidden = {i for i, t in self.tasks.items() if t["status"] == "Running" and t["name"] in self.hide}
        self.hide -= {self.tasks[i]["name"] for i in hidden}
        if hidden:  # the hidden tasks run on through this look
            return {i: (t["name"], t["status"]) for i, t in self.tasks.items() if i not in hidden}
        for task in self.tasks.values():
            if task["status"] == "Running" and not task["lost"]:
                task["status"] = "Success"
        for task in self.tasks.values():
            if task["status"] == "Queued" and sum(t["status"] == "Running" for t in self.tasks.values()) < 2:
                task["status"], task["lost"] = "Running", task["name"] in self.lose
                self.lose.discard(task["name"])
                self.started.append(task["name"])
        return {i: (t["name"], t["status"]) for i, t in self.tasks.items()}

    def queue(self, task, names_in_use) -> str:
        if task.method == "crt":  # queued only once softmax of its seed has trained the seed's stage 1
            assert (f"report-softmax-seed{task.seed}", "Success") in [
                (t["name"], t["status"]) for t in self.tasks.values()
            ]
        task_id = f"t{len(self.tasks)}"
        self.tasks[task_id] = {"name": task.name, "status": "Queued", "lost": False}
        return task_id

    def dvc(self, *args):
        assert args[:2] == ("queue", "kill")
        self.killed.append(args[2])
        self.tasks[args[2]]["status"] = "Failed"


def test_run_tasks_waits_for_each_seeds_stage1_and_queues_a_lost_task_again(monkeypatch, capsys):
    from ltr.report import scheduling

    fake = FakeQueue(lose={"report-crt-seed1"}, hide={"report-softmax-seed1"})
    monkeypatch.setattr(scheduling, "queue_tasks", fake.status)
    monkeypatch.setattr(scheduling, "queue", fake.queue)
    monkeypatch.setattr(scheduling, "run_dvc", fake.dvc)
    monkeypatch.setattr(scheduling, "log_of", lambda i: None if i in fake.killed or fake.tasks[i]["lost"] else "ok")
    monkeypatch.setattr(scheduling, "start_workers", lambda jobs, threads: None)
    monkeypatch.setattr(scheduling.time, "sleep", lambda s: None)
    monkeypatch.setattr(scheduling.time, "monotonic", lambda: fake.clock)
    methods = ["softmax", "crt", "ssp"]
    tasks = [Task(m, s) for s in (0, 1) for m in methods]
    results = scheduling.run_tasks(tasks, methods, jobs=2, threads=1, stage1_ready=set(), names_in_use=set())
    assert sorted(results) == sorted(t.name for t in tasks)
    assert {status for status, _ in results.values()} == {"Success"}  # the hidden one too: not "Removed"
    started = fake.started  # ssp (its own stage 1) without waiting
    assert started[:4] == ["report-softmax-seed0", "report-softmax-seed1", "report-ssp-seed0", "report-ssp-seed1"]
    assert started.count("report-crt-seed1") == 2 and len(fake.killed) == 1  # lost, killed, queued again
    assert "report-crt-seed1: no output after 180 s, lost by its worker: queued again" in capsys.readouterr().out


def test_bad_arguments_are_one_line_errors():
    for argv, message in (
        (["--seeds", "0", "-1"], "error: --seeds '-1' is not allowed; give integers >= 0"),
        (["--seeds", "x"], "error: --seeds 'x' is not allowed"),
        (["--jobs", "0"], "error: --jobs '0' is not allowed; give an integer >= 1"),
        (["--methods", "softmax", "nope"], "error: unknown method 'nope'; valid: softmax, "),
    ):
        with pytest.raises(SystemExit, match=message):
            parse_args(argv)
    args = parse_args(["--seeds", "2", "0", "2", "--jobs", "3"])
    assert args.seeds == [2, 0] and args.jobs == 3


def test_a_queue_task_without_its_files_is_one_line(monkeypatch):
    """What DVC raises from exp_show after `dvc queue stop --kill` left a task "Running" (seen on the
    development machine); any other missing file is not this and keeps its traceback."""
    from ltr.report import compare

    lost = FileNotFoundError(2, "No such file or directory", "/r/.dvc/tmp/exps/run/d7db/d7db.run")
    monkeypatch.setattr(compare, "main", lambda argv, prog: (_ for _ in ()).throw(lost))
    with pytest.raises(SystemExit, match=r"error: DVC's queue lists a running task without its files .*queue kill"):
        compare.run([])
    other = FileNotFoundError(2, "No such file or directory", "/r/params.yaml")
    monkeypatch.setattr(compare, "main", lambda argv, prog: (_ for _ in ()).throw(other))
    with pytest.raises(FileNotFoundError):
        compare.run([])


def test_comparison_figures_are_written(tmp_path):
    per_class = pd.DataFrame({"class": [0, 1, 2], "train_count": [500, 50, 5], "accuracy": [90.0, 50.0, 10.0]})
    agnostic = pd.DataFrame({"distribution": ["forward50", "uniform", "backward50"], "position": [0, 5, 10]})
    agnostic["top1"] = [70.0, 45.0, 15.0]
    seeds = _seeds().assign(many=80.0, medium=[40.0, 42.0, 44.0, 55.0, 50.0, 60.0])
    per_class_comparison_figure(
        {"a": [per_class, per_class.assign(accuracy=[85.0, 55.0, 5.0])], "b": [per_class.assign(accuracy=60.0)]},
        tmp_path / "p.png",
    )
    agnostic_comparison_figure(
        {"a": [agnostic, agnostic.assign(top1=[60.0, 40.0, 20.0])], "b": [agnostic]}, tmp_path / "s.png"
    )
    group_bars_figure(seeds, ["softmax", "crt"], tmp_path / "g.png")
    assert all((tmp_path / f).stat().st_size > 5000 for f in ("p.png", "s.png", "g.png"))


# -- end to end -----------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_report_runs_each_method_and_seed_once_and_a_second_report_trains_nothing(tiny_copy, monkeypatch):
    (tiny_copy / "docs").mkdir()
    readme = tiny_copy / "docs" / "results.md"  # the manual's page: the full tables
    readme.write_text("# tiny\n<!-- report:start -->\nold\n<!-- report:end -->\nafter\n")
    report = ["python", "-m", "ltr.report.compare", "--methods", "softmax", "tau_norm", "--seeds", "0", "1"]
    first = run([*report, "--jobs", "2"], tiny_copy).stdout
    assert "0 of 4 runs done; to run: 4" in first
    tasks = run(["dvc", "queue", "status"], tiny_copy).stdout
    names = [f"report-{m}-seed{s}" for m in ("softmax", "tau_norm") for s in (0, 1)]
    assert all(f"{name} " in tasks for name in names) and tasks.count("Success") == 4
    # one stage 1 per seed: seed 0's is the committed one; seed 1's trained by softmax, restored for tau_norm
    logs = {name: run(["dvc", "queue", "logs", name], tiny_copy).stdout for name in names}
    trained = {name for name, log in logs.items() if "Running stage 'stage1'" in log}
    assert trained == {"report-softmax-seed1"}
    assert "Stage 'stage1' is cached - skipping run" in logs["report-tau_norm-seed1"]

    table = pd.read_csv(tiny_copy / "results" / "comparison.csv", index_col="method")
    assert list(table.index) == ["softmax", "tau_norm"] and table["seeds"].tolist() == [2, 2]
    runs = pd.read_csv(tiny_copy / "results" / "comparison_seeds.csv")
    assert sorted(runs["experiment"]) == sorted(names)
    softmax = runs[runs["method"] == "softmax"].set_index("seed")
    six_digits = {"rel": 1e-5}  # comparison.csv keeps 6 significant digits
    assert table.loc["softmax", "top1_mean"] == pytest.approx(softmax["top1"].mean(), **six_digits)
    assert table.loc["softmax", "top1_std"] == pytest.approx(softmax["top1"].std(ddof=1), **six_digits)
    diff = runs[runs["method"] == "tau_norm"].set_index("seed")["top1"] - softmax["top1"]
    assert table.loc["tau_norm", "top1_diff_mean"] == pytest.approx(diff.mean(), **six_digits)
    text = readme.read_text()
    assert text.startswith("# tiny\n<!-- report:start -->\nMade by `make report`") and text.endswith("end -->\nafter\n")
    assert "| softmax | " in text and " ± " in text

    # exp_show's cells of the workspace's params are what as_cell makes of params.yaml, key by key
    monkeypatch.chdir(tiny_copy)
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tiny_copy / ".dvc" / "tmp" / "site"))
    params = flatten(yaml.safe_load((tiny_copy / "params.yaml").read_text()))
    assert read_experiments().workspace == {k: as_cell(v) for k, v in params.items()}

    second = run(report, tiny_copy).stdout
    assert "4 of 4 runs done; to run: 0" in second and "queued" not in second
    assert run(["dvc", "queue", "status"], tiny_copy).stdout.count("Success") == 4


# -- the tail-class study --------------------------------------------------------------------------------


def test_tail_study_points_and_panels(tmp_path):
    from ltr.report.runs import Experiment
    from ltr.report.tail_study import HEAD, SIMILARITY, TAIL, panel_rows, study_points, tail_study_figure

    base = {"method": "softmax", SIMILARITY: 0.5, HEAD: 500.0, TAIL: 50.0, "stage1.epochs": 30.0}
    knobs = [(0.5, 500, 50), (0.1, 500, 50), (0.9, 500, 50), (0.5, 100, 50), (0.5, 500, 10), (0.1, 500, 10)]
    experiments = [
        Experiment(f"e{i}", f"r{i}", {**base, SIMILARITY: s, HEAD: float(h), TAIL: float(t)})
        for i, (s, h, t) in enumerate(knobs)
    ]
    experiments.append(Experiment("other", "x", {**base, "stage1.epochs": 5.0}))
    experiments.insert(0, Experiment("first-try", "old", {**base, SIMILARITY: 0.1}))  # older run of (0.1, 500, 50)
    experiments = experiments[::-1]  # newest first, as exp_show lists them
    accuracy = {f"r{i}": 10.0 * i for i in range(len(knobs))} | {"old": 99.0}

    def per_class(rev):  # three classes; the last is the tail
        return pd.DataFrame({"class": [2, 0, 1], "accuracy": [accuracy[rev], 90.0, 80.0]})

    points = study_points(experiments, base, per_class)
    assert len(points) == 6  # the run with other epochs is not part of the study; a point run twice once
    assert points["experiment"].tolist() == [f"e{i}" for i in range(6)]  # oldest first
    assert points.loc[0, "tail_accuracy"] == 0.0 and points.loc[0, "others_accuracy"] == 85.0
    assert panel_rows(points, SIMILARITY, base)[SIMILARITY].tolist() == [0.1, 0.5, 0.9]
    assert panel_rows(points, SIMILARITY, base)["tail_accuracy"].tolist() == [10.0, 0.0, 20.0]  # the newest run
    assert panel_rows(points, HEAD, base)[HEAD].tolist() == [100, 500]
    tail = panel_rows(points, TAIL, base)  # (0.1, 500, 10) moves two knobs: in no panel
    assert tail[TAIL].tolist() == [10, 50] and tail["tail_accuracy"].tolist() == [40.0, 0.0]
    tail_study_figure(points, base, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 5000


def test_run_metrics_add_the_mean_over_the_shifted_test_distributions(monkeypatch):
    from ltr.report import runs

    agnostic = {"forward50": 60.0, "uniform": 40.0, "backward50": 20.0}
    details = {"closed": {"top1": 40.0}, "agnostic": agnostic, "cost": {"train_images": 1_500_000}, "splits": {}}
    monkeypatch.setattr(runs.dvc.api, "metrics_show", lambda *targets, rev: details)
    flat = runs.run_metrics("abc1234", "softmax")
    assert flat["agnostic.mean"] == 40.0 and flat["cost.train_mimages"] == 1.5 and flat["closed.top1"] == 40.0


def test_the_published_table_beside_ours_and_its_rank_correlation():
    from ltr.report.published import PUBLISHED, side_by_side

    # ours ranks softmax < ldam_drw < ride < tade, the papers softmax (41.4) < ldam_drw (42.04) < ride (48.0)
    # < tade (49.8): a perfect rank correlation; swapping ride and tade in ours makes it 0.8 (d^2 = 2)
    ours = {"softmax": 30.0, "ldam_drw": 40.0, "ride": 50.0, "tade": 55.0, "lws": 45.0}
    frame = pd.DataFrame(
        {"top1_mean": ours, "few_mean": dict.fromkeys(ours, 5.0), "backward50_mean": dict.fromkeys(ours, 10.0)}
    )
    table, rho = side_by_side(frame.drop(index="lws"))
    assert list(table.index) == ["softmax", "ldam_drw", "ride", "tade"] and rho == pytest.approx(1.0)
    assert table.loc["ride", "published_top1"] == PUBLISHED["ride"].top1 == 48.0
    assert table.loc["tade", "ours_vs_softmax"] == 25.0 and table.loc["softmax", "published_backward50"] == 17.5
    assert table.loc["ride", "published_few"] == 25.7 and pd.isna(table.loc["tade", "published_few"])
    swapped = frame.drop(index="lws").assign(top1_mean=[30.0, 40.0, 55.0, 50.0])
    assert side_by_side(swapped)[1] == pytest.approx(1 - 6 * 2 / (4 * (16 - 1)))
