"""`make report`: every registered method but the templates as a DVC experiment on the current params,
then the comparison table and figures in results/ and the README's results section between its markers.

Experiments are queued and run one after another (`dvc queue start -j 1`: two trainings would only
share the same cores); each reuses every cached stage, and a method whose experiment on the current
params already exists is not run again. Progress is the experiments' own logs, streamed.
"""

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

from ltr.config import compared_methods, method_names
from ltr.report.plots import agnostic_comparison_figure, group_bars_figure, per_class_comparison_figure
from ltr.report.table import comparison_frame, experiment_records, markdown_table, runs_of, workspace_params

START, END = "<!-- report:start -->", "<!-- report:end -->"
EXPERIMENT_PREFIX = "report-"


def dvc(*args: str) -> str:
    result = subprocess.run(["dvc", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"error: `dvc {' '.join(args)}` failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def current_runs(methods: list[str]) -> tuple[dict[str, dict], set[str]]:
    """The finished run of each method on the workspace params, and every experiment name in use."""
    exp_show = json.loads(dvc("exp", "show", "--json"))
    records = experiment_records(exp_show)
    names = {
        rev.get("name") or experiment.get("name")
        for baseline in exp_show
        for experiment in baseline.get("experiments") or []
        for rev in experiment.get("revs") or []
    }
    return runs_of(records, workspace_params(exp_show), methods), names


def queue_tasks() -> dict[str, tuple[str, str]]:
    """`dvc queue status` as task id -> (experiment name, status)."""
    tasks = {}
    for line in dvc("queue", "status").splitlines()[1:]:
        if not line.strip() or line.startswith("Worker"):
            continue
        fields = line.split()
        tasks[fields[0]] = (fields[1], fields[-1])
    return tasks


def run_experiments(methods: list[str], names_in_use: set[str]) -> None:
    names = [EXPERIMENT_PREFIX + m for m in methods]
    stale = sorted(names_in_use & set(names))  # earlier report runs on other params, or failed ones
    for name in stale:  # not `exp run --force`: that would also re-run every cached stage
        subprocess.run(["dvc", "exp", "remove", name], capture_output=True)  # if it fails, queueing says why
    task_ids = []  # names repeat across reports; the queue's task ids do not
    for method, name in zip(methods, names, strict=True):
        before = set(queue_tasks())
        dvc("exp", "run", "--queue", "-S", f"method={method}", "-n", name)
        (task_id,) = set(queue_tasks()) - before
        task_ids.append(task_id)
        print(f"queued {name} (task {task_id})", flush=True)
    # not captured: the worker it spawns would hold the pipe open until the whole queue is done
    subprocess.run(
        ["dvc", "queue", "start", "-j", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    for i, (name, task_id) in enumerate(zip(names, task_ids, strict=True), 1):
        while queue_tasks()[task_id][1] == "Queued":
            time.sleep(5)
        print(f"\n=== [{i}/{len(names)}] {name} ===", flush=True)
        started = time.monotonic()
        subprocess.run(["dvc", "queue", "logs", "--follow", task_id])  # streams its output until it ends
        status = queue_tasks()[task_id][1]
        print(f"=== {name}: {status}, {time.monotonic() - started:.0f} s ===", flush=True)


def git_show_csv(rev: str, path: str) -> pd.DataFrame:
    text = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=True).stdout
    return pd.read_csv(io.StringIO(text))


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, {gpu}"


def write_report(runs: dict[str, dict], methods: list[str], out: Path, readme: Path, seconds: float) -> str:
    out.mkdir(parents=True, exist_ok=True)
    frame = comparison_frame(runs, methods)
    per_class = {m: git_show_csv(runs[m]["rev"], "plots/per_class.csv") for m in frame.index}
    agnostic = {m: git_show_csv(runs[m]["rev"], "plots/agnostic.csv") for m in frame.index}
    per_class_comparison_figure(per_class, out / "per_class.png")
    agnostic_comparison_figure(agnostic, out / "agnostic.png")
    group_bars_figure(frame[["many", "medium", "few"]], out / "groups.png")
    frame.to_csv(out / "comparison.csv")
    section = "\n".join(
        [
            START,
            f"Made by `make report` on {date.today().isoformat()} ({machine()}; this run of it took "
            f"{seconds / 60:.1f} min, reusing the experiments that already existed). Values in percent, except "
            "GMACs (multiply-accumulates per image) and train s (seconds of training behind the final model, "
            "every stage included). Each row is the "
            f"experiment `{EXPERIMENT_PREFIX}<method>`: the committed params with only `method` changed.",
            "",
            markdown_table(frame),
            f"![per-class accuracy against training count]({out.name}/per_class.png)",
            f"![accuracy across shifted test distributions]({out.name}/agnostic.png)",
            f"![many / medium / few-shot accuracy]({out.name}/groups.png)",
            END,
        ]
    )
    (out / "results.md").write_text(section + "\n")
    replace_between(readme, START, END, section)
    return section


def replace_between(path: Path, start: str, end: str, section: str) -> None:
    """Put `section` (which begins with `start` and ends with `end`) in place of the file's part
    between those markers; a file without them is left alone."""
    text = path.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        path.write_text(head + section + rest.split(end, 1)[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(compared_methods()),
        help="default: every registered method but the templates",
    )
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    unknown = [m for m in args.methods if m not in method_names()]
    if unknown:
        raise SystemExit(f"error: unknown method {unknown[0]!r}; valid: {', '.join(method_names())}")

    started = time.monotonic()
    # the workspace's stages first, so that the queued experiments find stage 1 in the local cache
    print("dvc repro (the committed params)", flush=True)
    subprocess.run(["dvc", "repro"], check=True)
    runs, names_in_use = current_runs(args.methods)
    missing = [m for m in args.methods if m not in runs]
    print(f"to run: {', '.join(missing) or 'nothing (every method has an experiment on these params)'}", flush=True)
    if missing:
        run_experiments(missing, names_in_use)
    runs, _ = current_runs(args.methods)
    failed = [m for m in args.methods if m not in runs]
    if failed:
        names = " ".join(EXPERIMENT_PREFIX + m for m in failed)
        raise SystemExit(f"error: no finished experiment for {', '.join(failed)}; see `dvc queue logs` for {names}")
    print(write_report(runs, args.methods, args.out, args.readme, time.monotonic() - started))


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        sys.exit(f"error: {' '.join(map(str, error.cmd))} failed with exit code {error.returncode}")
