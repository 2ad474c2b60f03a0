"""The evaluate stage's figures: per-class accuracy against training count, accuracy across the
shifted test distributions, the reliability diagram, the training curves, and the test confusion
between classes and between shot groups. Each is written twice, as PNG (150 dpi, for a quick look)
and SVG (for a paper), and the same data give the same bytes, since plots/ is kept in git."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI or on a GPU node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import LogFormatter, MaxNLocator  # noqa: E402

# SVG ids are hashed with a salt that is random per process unless set, and SVG and PDF metadata carry
# the date: both fixed, so that a re-run on the same inputs rewrites identical files
plt.rcParams["svg.hashsalt"] = "ltr"
plt.rcParams["svg.fonttype"] = "path"  # glyphs as paths: the SVG looks the same without the font
SAVE = {".png": {"dpi": 150}, ".svg": {"dpi": 150, "metadata": {"Date": None}}}

# Okabe & Ito's qualitative palette, told apart with the common colour-vision deficiencies; each
# series keeps its colour in every figure (the DVC templates in .dvc/plots/ use the same)
OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
ALL_COLOUR = "#000000"  # every class together (top-1)
GROUP_COLOURS = {"many": "#0072B2", "medium": "#E69F00", "few": "#D55E00"}
TRAIN_COLOUR, VAL_COLOUR = "#CC79A7", "#009E73"
SEQUENTIAL = "Blues"  # counts and percents: one hue, white at zero, readable in grey too
NAMED_CLASSES = 40  # up to this many classes, the per-class figure names each one on its axis


def save_figure(fig, path: Path, title: str) -> None:
    """`path` as PNG and SVG (its suffix is replaced), the run's title above the figure."""
    fig.suptitle(title)
    for suffix, options in SAVE.items():
        fig.savefig(Path(path).with_suffix(suffix), **options)
        # the constrained layout is solved again at every save: once is enough for both files (the
        # evaluate stage's six figures in about 1.5 s less of its 5 to 6)
        fig.set_layout_engine("none")
    plt.close(fig)


def figure(width: float, height: float, **kwargs):
    """A figure whose layout keeps a legend placed `outside` clear of the axes."""
    return plt.subplots(figsize=(width, height), layout="constrained", **kwargs)


def outside_legend(fig, loc: str = "outside right center", **kwargs) -> None:
    """One legend for the figure, beside the axes: never over the data."""
    fig.legend(loc=loc, fontsize=8, frameon=False, **kwargs)


def plain_log_labels(axis) -> None:
    """A log axis labelled 5, 10, 50 rather than 5 x 10^0: counts read as counts."""
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(minor_thresholds=(1.2, 0.4)))  # some minor labels within a decade or so


def per_class_figure(per_class: pd.DataFrame, path: Path, title: str) -> None:
    """Classes by descending training count: accuracy points, the count curve (log axis) and the
    many | medium | few boundaries, as in Decoupling's figures."""
    df = per_class.sort_values("rank")
    fig, ax = figure(9, 4)
    for group, colour in GROUP_COLOURS.items():
        part = df[df["group"] == group]
        if len(part):  # a group without a class has no entry
            ax.scatter(part["rank"], part["accuracy"], s=12, color=colour, label=f"{group} ({len(part)} classes)")
    ax.set_xlabel("class rank by training images (0 = most)")
    if len(df) <= NAMED_CLASSES:  # few enough to name each class on the axis (an image folder's names)
        ax.set_xticks(df["rank"], df["name"], rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("class, by training images (most first)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Test accuracy of each class", fontsize=10)
    for boundary in np.flatnonzero(df["group"].to_numpy()[1:] != df["group"].to_numpy()[:-1]):
        ax.axvline(df["rank"].iloc[boundary] + 0.5, color="grey", linestyle="--", linewidth=1)
    counts = ax.twinx()
    counts.plot(df["rank"], df["train_count"], color="black", linestyle=":", label="training images")
    counts.set_yscale("log")
    plain_log_labels(counts.yaxis)
    counts.set_ylabel("training images of the class (log scale)")
    outside_legend(fig)
    save_figure(fig, path, title)


def agnostic_figure(agnostic: pd.DataFrame, path: Path, title: str) -> None:
    fig, ax = figure(9, 3.8)
    series = {"top1": ("all classes", ALL_COLOUR), **{g: (g, c) for g, c in GROUP_COLOURS.items()}}
    for column, (label, colour) in series.items():
        if agnostic[column].notna().any():  # a group with no class in any distribution: no empty line
            ax.plot(agnostic["position"], agnostic[column], marker="o", markersize=4, color=colour, label=label)
    ax.set_xticks(agnostic["position"], agnostic["distribution"], rotation=35, fontsize=8)
    ax.set_xlabel("test class distribution (forward-N: head-heavy, imbalance N; backward-N: tail-heavy)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title("Accuracy across shifted test distributions", fontsize=10)
    outside_legend(fig)
    save_figure(fig, path, title)


def reliability_figure(reliability: pd.DataFrame, path: Path, title: str) -> None:
    fig, ax = figure(4.8, 5.2)
    centres = (reliability["lower"] + reliability["upper"]) / 2
    width = float(reliability["upper"].iloc[0] - reliability["lower"].iloc[0])
    ax.bar(centres, reliability["accuracy"].fillna(0), width=width, color=GROUP_COLOURS["many"], label="accuracy")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("confidence: max softmax probability (0-1)")
    ax.set_ylabel("accuracy in the bin (fraction, 0-1)")
    ax.set_title("Reliability diagram (test)", fontsize=10)
    outside_legend(fig, "outside lower center", ncols=2)
    save_figure(fig, path, title)


def training_figure(history: pd.DataFrame, path: Path, title: str) -> None:
    """Loss and top-1 of each epoch of the stages behind the final model, one x axis across them (the
    `step` column), a dashed line where a stage starts: only the stages the method trains."""
    steps = history["step"] if "step" in history else pd.Series(range(1, len(history) + 1))
    fig, (loss_ax, acc_ax) = figure(10, 3.8, ncols=2)
    loss_ax.plot(steps, history["train_loss"], color=TRAIN_COLOUR, marker=".", label="train")
    acc_ax.plot(steps, history["train_top1"], color=TRAIN_COLOUR, marker=".")
    acc_ax.plot(steps, history["val_top1"], color=VAL_COLOUR, marker=".", label="val")
    starts = history["stage"].ne(history["stage"].shift()).to_numpy()
    for ax in (loss_ax, acc_ax):
        for step, stage in zip(steps[starts], history["stage"][starts], strict=True):
            ax.axvline(step - 0.5, color="grey", linestyle="--", linewidth=0.8)
            ax.annotate(stage, (step - 0.5, 1), xycoords=("data", "axes fraction"), fontsize=7, va="bottom")
        ax.set_xlabel("epoch (counted across stages)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_ax.set_ylabel("training loss (per image)")
    acc_ax.set_ylabel("top-1 accuracy (%)")
    outside_legend(fig)
    save_figure(fig, path, title)


def confusion_figure(confusion: pd.DataFrame, path: Path, title: str) -> None:
    """The C x C test confusion as a square heat map in class order, every class on both axes (a
    class never predicted is a white column)."""
    matrix = confusion.pivot(index="actual", columns="predicted", values="count").sort_index().sort_index(axis=1)
    classes = len(matrix)
    fig, ax = figure(6, 5.4)
    image = ax.imshow(
        matrix.to_numpy(), cmap=SEQUENTIAL, interpolation="nearest", extent=(-0.5, classes - 0.5, classes - 0.5, -0.5)
    )
    ax.set_aspect("equal")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=min(classes, 10), integer=True))
    ax.set_xlabel("predicted class (index)")
    ax.set_ylabel("actual class (index)")
    ax.set_title(f"Test confusion, {classes} classes", fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8, label="test images")
    save_figure(fig, path, title)


def group_confusion_figure(group_confusion: pd.DataFrame, path: Path, title: str) -> None:
    """Of each shot group's test images, the percent predicted as a class of each group."""
    order = list(dict.fromkeys(group_confusion["actual_group"]))
    matrix = group_confusion.pivot(index="actual_group", columns="predicted_group", values="percent")
    matrix = matrix.reindex(index=order, columns=order).to_numpy(dtype=float)
    fig, ax = figure(4.8, 3.8)
    image = ax.imshow(matrix, cmap=SEQUENTIAL, vmin=0, vmax=100)
    for (row, column), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            ax.text(column, row, f"{value:.1f}", ha="center", va="center", color="white" if value > 60 else "black")
    ax.set_xticks(range(len(order)), order)
    ax.set_yticks(range(len(order)), order)
    ax.set_xlabel("predicted class's shot group")
    ax.set_ylabel("actual class's shot group")
    ax.set_title("Test confusion between shot groups", fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8, label="% of the actual group's test images")
    save_figure(fig, path, title)
