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


def save_figure(fig, path: Path, title: str) -> None:
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
    save_figure(fig, path, title)


def agnostic_figure(agnostic: pd.DataFrame, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(agnostic["position"], agnostic["top1"], marker="o", color="black", label="all")
    for group, colour in GROUP_COLOURS.items():
        ax.plot(agnostic["position"], agnostic[group], marker=".", color=colour, alpha=0.7, label=group)
    ax.set_xticks(agnostic["position"], agnostic["distribution"], rotation=35, fontsize=8)
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend(fontsize=8)
    save_figure(fig, path, title)


def reliability_figure(reliability: pd.DataFrame, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    centres = (reliability["lower"] + reliability["upper"]) / 2
    width = float(reliability["upper"].iloc[0] - reliability["lower"].iloc[0])
    ax.bar(centres, reliability["accuracy"].fillna(0), width=width, edgecolor="black", label="accuracy")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.set_xlabel("confidence (max softmax probability)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)
    save_figure(fig, path, title)


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
    save_figure(fig, path, title)
