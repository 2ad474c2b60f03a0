"""`make report`: every registered method but the templates over several training seeds, each
(method, seed) a DVC experiment on the current params, then the comparison in results/ and the
README's results section between its markers.

    python -m ltr.report.compare [--methods softmax crt ...] [--seeds 0 1 2] [--jobs 2]

Experiments are named `report-<method>-seed<seed>` and run through DVC's queue (ltr.report.scheduling:
one stage 1 per seed, shared by the methods of that seed). A (method, seed) whose experiment on the
current params has finished is not run again, so a report that stopped resumes, and a second one
trains nothing. Results are read back through `dvc.api` (ltr.report.runs).

results/: comparison.csv (one row per method: mean and sample std over the seeds of every metric,
and the paired difference to softmax; ltr.report.table), comparison_seeds.csv (every run), the
figures, which show the seeds' spread (PNG and SVG), results.md (the README's section) and index.html
(the same as one page that opens offline, with each run's values and provenance; ltr.report.html_report).
"""

import argparse
import io
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

from ltr.config import load_config
from ltr.methods import compared_methods, method_names
from ltr.report.comparison_plots import agnostic_comparison_figure, group_bars_figure, per_class_comparison_figure
from ltr.report.efficiency import ceiling, report_efficiency
from ltr.report.html_report import provenance, write_index
from ltr.report.published import side_by_side_markdown
from ltr.report.runs import method_seed_runs, read_experiments, run_metrics
from ltr.report.scheduling import BASELINE, Task, experiment_name, run_tasks, shares_stage1
from ltr.report.table import differences_table, headline_table, markdown_table, seed_frame, summary

START, END = "<!-- report:start -->", "<!-- report:end -->"  # the manual's Results page
EXPS_RUN = ".dvc/tmp/exps/run/"  # DVC's files of the queue's running tasks
HEADLINE_START, HEADLINE_END = "<!-- headline:start -->", "<!-- headline:end -->"  # the README's short table
PUBLISHED_START, PUBLISHED_END = "<!-- published:start -->", "<!-- published:end -->"  # beside the papers' tables
# figure name in results/ -> its caption
FIGURES = {
    "per_class": "per-class accuracy against training count",
    "agnostic": "accuracy across shifted test distributions",
    "groups": "many / medium / few-shot accuracy",
}
SEEDS = [0, 1, 2]
# Experiments at a time: the cores over runtime.threads (tracked, default 1, so two at a time on a
# 2-core machine). On the shared 2-core development machine two one-thread experiments at a time were
# 3.1x faster than one on two threads (12.8 against 40.0 min for 2 seeds of 4 methods at 2 epochs;
# docs/results.md), since two OpenMP threads stall whenever another process holds a core


def default_jobs() -> int:
    return max(1, (os.cpu_count() or 1) // load_config().runtime.threads)


def git_show_csv(rev: str, path: str) -> pd.DataFrame:
    text = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=True).stdout
    return pd.read_csv(io.StringIO(text))


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, {gpu}"


def seeds_text(seeds: list[int], frame: pd.DataFrame) -> tuple[str, str]:
    """Which seeds the table's rows average: all of them, or (a report written from the finished runs
    alone) as many as each row's `seeds` column says."""
    listed = ", ".join(map(str, seeds))
    if (frame["seeds"] == len(seeds)).all():
        return f"with training seeds {listed}", f"over the {len(seeds)} seeds"
    return (
        f"with training seeds among {listed}: only the runs that had finished (`--finished-only`), "
        "as many as the `seeds` column gives",
        "over the seeds it has",
    )


def write_report(runs: dict, methods: list[str], seeds: list[int], out: Path, root: Path, note: str) -> str:
    """runs: (method, seed) -> Experiment; the (method, seed) pairs without a run are left out. Writes
    `out` (results/) and, in the repository at `root`, the manual's Results section and the README's
    short table."""
    keys = [(m, s) for m in methods for s in seeds if (m, s) in runs]
    per_seed = seed_frame({k: run_metrics(runs[k].rev, k[0]) for k in keys}, {k: runs[k].name for k in keys})
    frame = summary(per_seed, methods)
    which_seeds, over_seeds = seeds_text(seeds, frame)

    def csvs(path: str) -> dict[str, list[pd.DataFrame]]:
        return {m: [git_show_csv(runs[k].rev, path) for k in keys if k[0] == m] for m in frame.index}

    out.mkdir(parents=True, exist_ok=True)
    per_class_comparison_figure(csvs("plots/per_class.csv"), out / "per_class")
    agnostic_comparison_figure(csvs("plots/agnostic.csv"), out / "agnostic")
    group_bars_figure(per_seed, list(frame.index), out / "groups")
    frame.to_csv(out / "comparison.csv", float_format="%.6g")
    per_seed.to_csv(out / "comparison_seeds.csv", index=False, float_format="%.6g")
    with_seeds = not (frame["seeds"] == len(seeds)).all()
    intro = (
        f"Made by `make report` on {date.today().isoformat()} ({machine()}; {note}). Each method ran "
        f"{which_seeds}, each run the experiment "
        "`report-<method>-seed<seed>`: the committed params with only `method` and `seed` changed. "
        f"Values in percent, mean ± sample standard deviation (ddof=1) {over_seeds}, "
        "except GMACs (multiply-accumulates per image) and train M images (millions of images trained "
        "behind the final model, every stage included); shift mean is the mean top-1 over the 11 test "
        "distributions, forward-50 to backward-50. Every run in results/comparison_seeds.csv; means, "
        "standard deviations and the differences below in results/comparison.csv."
    )

    def section(figures: str) -> str:
        """The tables and the figures, these under `figures` (a folder relative to the page)."""
        return "\n".join(
            [
                START,
                intro,
                "",
                markdown_table(frame, with_seeds=with_seeds),
                "Paired difference to softmax (the method's run minus softmax's run of the same seed), mean ± "
                "sample std over the seeds; in italics where the seeds disagree on its sign, so that the "
                "difference lies within the seeds' spread:",
                "",
                differences_table(frame, per_seed),
                *(f"![{caption}]({figures}{name}.svg)" for name, caption in FIGURES.items()),
                END,
            ]
        )

    (out / "results.md").write_text(section("") + "\n")
    params_file = root / "params.yaml"
    write_index(
        out / "index.html",
        frame,
        per_seed,
        intro,
        [(out / f"{name}.svg", caption) for name, caption in FIGURES.items()],
        provenance(params_file, ["method", "seed"]),  # method_seed_runs takes no run that changed more
        params_file.read_text() if params_file.is_file() else "",
        with_seeds,
    )
    replace_between(root / "docs" / "results.md", START, END, section("figures/"))  # docs/figures: ../results
    published = f"{PUBLISHED_START}\n{side_by_side_markdown(frame)}{PUBLISHED_END}"
    replace_between(root / "docs" / "results.md", PUBLISHED_START, PUBLISHED_END, published)
    short = f"{HEADLINE_START}\n{headline_table(frame)}\n![{FIGURES['groups']}]({out.name}/groups.png)\n{HEADLINE_END}"
    replace_between(root / "README.md", HEADLINE_START, HEADLINE_END, short)
    return section(f"{out.name}/")


def replace_between(path: Path, start: str, end: str, section: str) -> None:
    """Put `section` (which begins with `start` and ends with `end`) in place of the file's part
    between those markers; a file without them, or no file, is left alone."""
    if not path.is_file():
        return
    text = path.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        path.write_text(head + section + rest.split(end, 1)[1])


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(compared_methods()),
        help="default: every registered method but the templates",
    )
    parser.add_argument(
        "--seeds", nargs="+", default=SEEDS, help=f"training seeds (default: {' '.join(map(str, SEEDS))})"
    )
    parser.add_argument("--jobs", help="experiments at a time (default: the CPU cores over runtime.threads)")
    parser.add_argument(
        "--finished-only",
        action="store_true",
        help="queue nothing: write the report from the runs that have finished (each row says how many seeds)",
    )
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument(
        "--root", type=Path, default=Path("."), help="the repository: its README.md and docs/results.md get the tables"
    )
    args = parser.parse_args(argv)
    unknown = [m for m in args.methods if m not in method_names()]
    if unknown:
        raise SystemExit(f"error: unknown method {unknown[0]!r}; valid: {', '.join(method_names())}")
    args.methods = list(dict.fromkeys(args.methods))
    for value in args.seeds:
        if not str(value).isdigit():
            raise SystemExit(f"error: --seeds {value!r} is not allowed; give integers >= 0, e.g. --seeds 0 1 2")
    args.seeds = list(dict.fromkeys(int(s) for s in args.seeds))
    if args.jobs is None:
        args.jobs = str(default_jobs())
    if not args.jobs.isdigit() or int(args.jobs) < 1:
        raise SystemExit(f"error: --jobs {args.jobs!r} is not allowed; give an integer >= 1")
    args.jobs = int(args.jobs)
    return args


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    args = parse_args(argv, prog)
    started = time.monotonic()
    # the stages every experiment shares (data and splits), once, before experiments run side by side
    if not args.finished_only:
        print("dvc repro splits (the data every experiment shares)", flush=True)
        subprocess.run(["dvc", "repro", "splits"], check=True)

    def finished_runs():
        experiments = read_experiments()
        return method_seed_runs(experiments, args.methods, args.seeds, experiment_name), experiments

    runs, experiments = finished_runs()
    missing = [Task(m, s) for s in args.seeds for m in args.methods if (m, s) not in runs]
    if args.finished_only:
        if not any(m == BASELINE for m, _ in runs):
            raise SystemExit(f"error: no finished {BASELINE} run among seeds {args.seeds}: nothing to compare with")
        print(write_report(runs, args.methods, args.seeds, args.out, args.root, "the runs that had finished"))
        return
    print(f"{len(runs)} of {len(args.methods) * len(args.seeds)} runs done; to run: {len(missing)}", flush=True)
    experiment_seconds, efficiency = 0.0, ""
    if missing:
        threads = load_config().runtime.threads
        print(f"experiments at a time: {args.jobs}; threads each (runtime.threads): {threads}", flush=True)
        images_per_s = ceiling(threads=threads)
        print(f"the ResNet-8 training ceiling here: {images_per_s:.0f} images/s a process", flush=True)
        stage1_ready = {s for m, s in runs if shares_stage1(m)}
        results = run_tasks(missing, args.methods, args.jobs, threads, stage1_ready, experiments.names)
        experiment_seconds = sum(seconds for _, seconds in results.values())
        runs, _ = finished_runs()
    failed = [experiment_name(m, s) for s in args.seeds for m in args.methods if (m, s) not in runs]
    if failed:
        raise SystemExit(f"error: no finished experiment for {', '.join(failed)}; see `dvc queue logs <name>`")
    if missing:
        trained = [(t.method, t.seed) for t in missing]
        wall_s = time.monotonic() - started
        efficiency = "; " + report_efficiency(runs, trained, images_per_s, args.jobs, threads, wall_s)
    minutes = (time.monotonic() - started) / 60
    note = (
        f"this run of it took {minutes:.1f} min, {args.jobs} experiments at a time, with "
        f"{experiment_seconds / 60:.1f} min of experiment time, reusing the {len(runs) - len(missing)} runs "
        f"that already existed{efficiency}"
    )
    print(write_report(runs, args.methods, args.seeds, args.out, args.root, note))


def run(argv: list[str] | None = None, prog: str | None = None) -> None:
    """main, with a failed DVC command or Ctrl-C as one line: `python -m ltr.report.compare`, `make report`
    and `ltr report`."""
    try:
        main(argv, prog)
    except subprocess.CalledProcessError as error:
        sys.exit(f"error: {' '.join(map(str, error.cmd))} failed with exit code {error.returncode}")
    except KeyboardInterrupt:
        sys.exit(
            "error: interrupted; the experiments already queued run on (`dvc queue status`, `dvc queue kill`), "
            "and `make report` again follows them and queues the rest"
        )
    except FileNotFoundError as error:
        if EXPS_RUN not in str(error.filename):
            raise
        # after `dvc queue stop --kill`, DVC can list a task as running whose worker and files are gone
        sys.exit(
            f"error: DVC's queue lists a running task without its files ({error.filename}); "
            "`dvc queue status` names it as Running, `dvc queue kill <task>` clears it, then `make report` again"
        )


if __name__ == "__main__":
    run()
