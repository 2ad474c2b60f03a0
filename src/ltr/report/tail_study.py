"""The tail-class study of Liu & Liu (2021) from the experiments queued around params/tail_study.yaml:
the tail class's test accuracy against class similarity (counts fixed), against the other classes'
count (case 1) and against its own count (case 2). Writes results/tail_study.{png,csv}.

    python -m ltr.report.tail_study
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ltr.presets import flatten, load_preset  # noqa: E402
from ltr.report.compare import git_show_csv, replace_between  # noqa: E402
from ltr.report.runs import Experiment, as_cell, differs_only_in, read_experiments  # noqa: E402

START, END = "<!-- tail-study:start -->", "<!-- tail-study:end -->"
SIMILARITY, HEAD, TAIL = "data.synthetic.similarity", "data.one_tail.head_count", "data.one_tail.tail_count"
# (varied key, x label, log axis)
PANELS = [
    (SIMILARITY, "similarity of classes in a super-class", False),
    (HEAD, "training images of each of the other nine classes (case 1)", True),
    (TAIL, "training images of the tail class (case 2)", True),
]


def study_points(experiments: list[Experiment], base: dict, per_class) -> pd.DataFrame:
    """One row per experiment that is `base` but for the three study knobs: the knobs, the tail
    class's accuracy and the mean accuracy of the other classes. experiments: newest first;
    per_class(rev) -> its per_class.csv."""
    rows = []
    for exp in experiments:
        params = exp.params
        if not differs_only_in(params, base, {SIMILARITY, HEAD, TAIL}):
            continue
        classes = per_class(exp.rev).sort_values("class")
        tail = classes.iloc[-1]  # the one-tail profile's tail is the last class
        rows.append(
            {
                SIMILARITY: params[SIMILARITY],
                HEAD: params[HEAD],
                TAIL: params[TAIL],
                "tail_accuracy": float(tail["accuracy"]),
                "others_accuracy": float(classes.iloc[:-1]["accuracy"].mean()),
                "experiment": exp.name,
            }
        )
    # a point run twice keeps its newest run; oldest first
    columns = [SIMILARITY, HEAD, TAIL, "tail_accuracy", "others_accuracy", "experiment"]
    points = pd.DataFrame(rows, columns=columns).drop_duplicates([SIMILARITY, HEAD, TAIL], keep="first")
    return points.iloc[::-1].reset_index(drop=True)


def panel_rows(points: pd.DataFrame, varied: str, base: dict) -> pd.DataFrame:
    """The points where only `varied` moves away from the preset's values."""
    fixed = [k for k in (SIMILARITY, HEAD, TAIL) if k != varied]
    mask = pd.Series(True, index=points.index)
    for key in fixed:
        mask &= points[key] == base[key]
    return points[mask].sort_values(varied)


def tail_study_figure(points: pd.DataFrame, base: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, (varied, label, log) in zip(axes, PANELS, strict=True):
        rows = panel_rows(points, varied, base)
        ax.plot(rows[varied], rows["tail_accuracy"], marker="o", color="tab:red", label="tail class")
        ax.plot(rows[varied], rows["others_accuracy"], marker=".", linestyle="--", color="tab:blue", label="others")
        ax.axvline(base[varied], color="grey", linewidth=0.8, linestyle=":")
        if log:  # the measured counts as plain tick labels: log-scale minor labels overlap
            ax.set_xscale("log")
            ax.set_xticks(rows[varied], [f"{v:g}" for v in rows[varied]])
            ax.minorticks_off()
        ax.set_xlabel(label, fontsize=9)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"Tail-class accuracy (similarity {base[SIMILARITY]}, {base[HEAD]} / {base[TAIL]} images unless varied)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", type=Path, default=Path("params/tail_study.yaml"))
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    experiments = read_experiments()
    base = {**experiments.workspace, **{k: as_cell(v) for k, v in flatten(load_preset(args.preset)).items()}}
    points = study_points(experiments.finished, base, lambda rev: git_show_csv(rev, "plots/per_class.csv"))
    if points.empty:
        raise SystemExit(f"error: no finished experiment of {args.preset}; queue the README's tail-study sweep first")
    args.out.mkdir(parents=True, exist_ok=True)
    points.to_csv(args.out / "tail_study.csv", index=False)
    tail_study_figure(points, base, args.out / "tail_study.png")
    table = points.drop(columns="experiment").rename(
        columns={SIMILARITY: "similarity", HEAD: "other classes' images", TAIL: "tail images"}
    )
    section = "\n".join(
        [
            START,
            f"Made by `python -m ltr.report.tail_study` from {len(points)} experiments (test accuracy in percent):",
            "",
            "| " + " | ".join(table.columns) + " |",
            "|---" * len(table.columns) + "|",
            *("| " + " | ".join(f"{v:g}" for v in row) + " |" for row in table.itertuples(index=False)),
            "",
            f"![tail-class accuracy against similarity and counts]({args.out.name}/tail_study.png)",
            END,
        ]
    )
    replace_between(args.readme, START, END, section)
    print(section)


if __name__ == "__main__":
    main()
