"""The tail-class study of Liu & Liu (2021) from the experiments queued around params/tail_study.yaml:
the tail class's test accuracy against class similarity (counts fixed), against the other classes'
count (case 1) and against its own count (case 2). Writes results/tail_study.{png,svg,csv}.

    python -m ltr.report.tail_study
"""

import argparse
from pathlib import Path

import pandas as pd

from ltr.presets import flatten, load_preset
from ltr.report.compare import git_show_csv, replace_between
from ltr.report.plots import GROUP_COLOURS, figure, outside_legend, save_figure
from ltr.report.runs import Experiment, as_cell, differs_only_in, read_experiments

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


def plain(value) -> str:
    """A param as the README shows it: 0.5, not 0.500000."""
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def count(value) -> str:
    """An image count as an integer: the params come back from exp_show as floats (500.0)."""
    return f"{float(value):.0f}"


def table_row(row) -> list[str]:
    """similarity as given, counts as integers, accuracies in percent with 2 decimals."""
    similarity, head, tail, tail_accuracy, others_accuracy = row
    return [plain(similarity), count(head), count(tail), f"{tail_accuracy:.2f}", f"{others_accuracy:.2f}"]


def tail_study_figure(points: pd.DataFrame, base: dict, path: Path) -> None:
    """Three panels, each moving one knob away from the preset; as PNG and SVG (`path`'s suffix replaced)."""
    fig, axes = figure(13, 3.8, ncols=3, sharey=True)
    for ax, (varied, label, log) in zip(axes, PANELS, strict=True):
        rows = panel_rows(points, varied, base)
        ax.plot(rows[varied], rows["tail_accuracy"], marker="o", color=GROUP_COLOURS["few"], label="tail class")
        ax.plot(
            rows[varied],
            rows["others_accuracy"],
            marker="s",
            linestyle="--",
            color=GROUP_COLOURS["many"],
            label="the other classes (mean)",
        )
        ax.axvline(base[varied], color="grey", linewidth=0.8, linestyle=":")
        if log:  # the measured counts as plain tick labels: log-scale minor labels overlap
            ax.set_xscale("log")
            ax.set_xticks(rows[varied], [count(v) for v in rows[varied]])
            ax.minorticks_off()
        ax.set_xlabel(label, fontsize=9)
    axes[0].set_ylabel("test accuracy (%)")
    outside_legend(fig)
    title = (
        f"Tail-class accuracy (similarity {plain(base[SIMILARITY])}, {count(base[HEAD])} / {count(base[TAIL])} "
        "training images unless varied; dotted: the preset)"
    )
    save_figure(fig, path, title)


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
    tail_study_figure(points, base, args.out / "tail_study")
    table = points.drop(columns="experiment").rename(
        columns={
            SIMILARITY: "similarity",
            HEAD: "other classes' images",
            TAIL: "tail images",
            "tail_accuracy": "tail accuracy (%)",
            "others_accuracy": "others' accuracy (%)",
        }
    )
    section = "\n".join(
        [
            START,
            f"Made by `python -m ltr.report.tail_study` from {len(points)} experiments (test accuracy in percent):",
            "",
            "| " + " | ".join(table.columns) + " |",
            "|---" * len(table.columns) + "|",
            *("| " + " | ".join(table_row(row)) + " |" for row in table.itertuples(index=False)),
            "",
            f"![tail-class accuracy against similarity and counts]({args.out.name}/tail_study.png)",
            END,
        ]
    )
    replace_between(args.readme, START, END, section)
    print(section)


if __name__ == "__main__":
    main()
