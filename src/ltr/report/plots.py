"""The evaluate stage's figures: per-class accuracy against training count, accuracy across the
shifted test distributions, the reliability diagram and the training curves."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI or on a GPU node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

GROUP_COLOURS = {"many": "tab:blue", "medium": "tab:orange", "few": "tab:red"}
NAMED_CLASSES = 40  # up to this many classes, the per-class figure names each one on its axis


def _save(fig, path: Path, title: str) -> None:
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def per_class_figure(per_class: pd.DataFrame, path: Path, title: str) -> None:
    """Classes by descending training count: accuracy points, the count curve (log axis) and the
    many | medium | few boundaries, as in Decoupling's figures."""
    df = per_class.sort_values("rank")
    fig, ax = plt.subplots(figsize=(8, 4))
    for group, colour in GROUP_COLOURS.items():
        part = df[df["group"] == group]
        ax.scatter(part["rank"], part["accuracy"], s=12, color=colour, label=f"{group} ({len(part)})")
    ax.set_xlabel("class rank by training count")
    if len(df) <= NAMED_CLASSES:  # few enough to name each class on the axis (an image folder's names)
        ax.set_xticks(df["rank"], df["name"], rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("class, by training count")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(-2, 102)
    for boundary in np.flatnonzero(df["group"].to_numpy()[1:] != df["group"].to_numpy()[:-1]):
        ax.axvline(df["rank"].iloc[boundary] + 0.5, color="grey", linestyle="--", linewidth=1)
    counts = ax.twinx()
    counts.plot(df["rank"], df["train_count"], color="black", linestyle=":", label="training images")
    counts.set_yscale("log")
    counts.set_ylabel("training images (log)")
    ax.legend(loc="lower left", fontsize=8)
    _save(fig, path, title)


def agnostic_figure(agnostic: pd.DataFrame, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(agnostic["position"], agnostic["top1"], marker="o", color="black", label="all")
    for group, colour in GROUP_COLOURS.items():
        ax.plot(agnostic["position"], agnostic[group], marker=".", color=colour, alpha=0.7, label=group)
    ax.set_xticks(agnostic["position"], agnostic["distribution"], rotation=35, fontsize=8)
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend(fontsize=8)
    _save(fig, path, title)


def reliability_figure(reliability: pd.DataFrame, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    centres = (reliability["lower"] + reliability["upper"]) / 2
    width = float(reliability["upper"].iloc[0] - reliability["lower"].iloc[0])
    ax.bar(centres, reliability["accuracy"].fillna(0), width=width, edgecolor="black", label="accuracy")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.set_xlabel("confidence (max softmax probability)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)
    _save(fig, path, title)


def training_figure(history: pd.DataFrame, path: Path, title: str) -> None:
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.6))
    for stage, rows in history.groupby("stage", sort=False):
        loss_ax.plot(rows["epoch"], rows["train_loss"], label=stage)
        acc_ax.plot(rows["epoch"], rows["val_top1"], label=f"{stage} val")
        acc_ax.plot(rows["epoch"], rows["train_top1"], linestyle=":", label=f"{stage} train")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("top-1 (%)")
    acc_ax.legend(fontsize=8)
    _save(fig, path, title)


# the comparison figures of `make report`: every method on one plot


def _method_colours(methods: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab20")
    return {m: cmap(i % 20) for i, m in enumerate(methods)}


def per_class_comparison_figure(per_class: dict[str, pd.DataFrame], path: Path, window: int = 9) -> None:
    """Each class's test accuracy against its training count (log axis) for every method: faint
    points, and a moving average over `window` classes of neighbouring counts as the readable line."""
    colours = _method_colours(list(per_class))
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for method, df in per_class.items():
        df = df.sort_values("train_count")
        ax.scatter(df["train_count"], df["accuracy"], s=5, color=colours[method], alpha=0.25)
        smooth = df["accuracy"].rolling(window, center=True, min_periods=1).mean()
        ax.plot(df["train_count"], smooth, color=colours[method], linewidth=1.6, label=method)
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    _save(fig, path, f"Per-class test accuracy against training count (lines: mean of {window} classes)")


def agnostic_comparison_figure(agnostic: dict[str, pd.DataFrame], path: Path) -> None:
    """Top-1 of every method on the forward-50 ... uniform ... backward-50 test distributions."""
    colours = _method_colours(list(agnostic))
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for method, df in agnostic.items():
        ax.plot(df["position"], df["top1"], marker="o", markersize=3, color=colours[method], label=method)
    first = next(iter(agnostic.values()))
    ax.set_xticks(first["position"], first["distribution"], rotation=35, fontsize=8)
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path, "Accuracy across shifted test distributions (head-heavy left, tail-heavy right)")


def group_bars_figure(groups: pd.DataFrame, path: Path) -> None:
    """Many / medium / few-shot closed-set accuracy per method (rows: methods; columns: groups)."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / len(GROUP_COLOURS)
    x = np.arange(len(groups))
    for i, (group, colour) in enumerate(GROUP_COLOURS.items()):
        ax.bar(x + (i - 1) * width, groups[group].astype(float).fillna(0), width, color=colour, label=group)
    ax.set_xticks(x, groups.index, rotation=30, fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    _save(fig, path, "Closed-set accuracy by shot group")
