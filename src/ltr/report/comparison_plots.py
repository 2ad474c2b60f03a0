"""The comparison figures of `make report`: every method on one plot, each over several seeds. Kept
apart from the evaluate stage's figures (ltr.report.plots), so that changing them re-runs no stage."""

from pathlib import Path

import numpy as np
import pandas as pd

from ltr.report.plots import GROUP_COLOURS, plt, save_figure


def _method_colours(methods: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab20")
    return {m: cmap(i % 20) for i, m in enumerate(methods)}


def per_class_comparison_figure(per_class: dict[str, list[pd.DataFrame]], path: Path, window: int = 9) -> None:
    """Each class's test accuracy against its training count (log axis) for every method, from one
    per_class.csv per seed: the seeds' mean per class as faint points, its moving average over
    `window` classes of neighbouring counts as the line, and the band between the seeds' own
    moving averages (lowest to highest) as the spread."""
    colours = _method_colours(list(per_class))
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for method, frames in per_class.items():
        by_seed = pd.concat([f.set_index("class")["accuracy"] for f in frames], axis=1)
        counts = frames[0].set_index("class")["train_count"].reindex(by_seed.index)
        order = np.argsort(counts.to_numpy(), kind="stable")
        by_seed, counts = by_seed.iloc[order], counts.iloc[order]
        smooth = by_seed.rolling(window, center=True, min_periods=1).mean()
        colour = colours[method]
        ax.scatter(counts, by_seed.mean(axis=1), s=5, color=colour, alpha=0.25)
        ax.plot(counts, smooth.mean(axis=1), color=colour, linewidth=1.6, label=f"{method} ({len(frames)})")
        ax.fill_between(counts, smooth.min(axis=1), smooth.max(axis=1), color=colour, alpha=0.12, linewidth=0)
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=7, ncol=2, loc="upper left", title="method (seeds)", title_fontsize=7)
    save_figure(fig, path, f"Per-class test accuracy against training count (mean of {window} classes; band: seeds)")


def agnostic_comparison_figure(agnostic: dict[str, list[pd.DataFrame]], path: Path) -> None:
    """Top-1 of every method on the forward-50 ... uniform ... backward-50 test distributions: the
    mean over seeds, with the sample standard deviation as error bars (methods side by side)."""
    colours = _method_colours(list(agnostic))
    fig, ax = plt.subplots(figsize=(9, 4.2))
    shift = 0.5 / max(len(agnostic), 1)
    for i, (method, frames) in enumerate(agnostic.items()):
        top1 = pd.concat([f.set_index("position")["top1"] for f in frames], axis=1)
        x = top1.index.to_numpy() + (i - (len(agnostic) - 1) / 2) * shift
        std = top1.std(axis=1, ddof=1).fillna(0)
        ax.errorbar(
            x,
            top1.mean(axis=1),
            yerr=std,
            marker="o",
            markersize=3,
            capsize=2,
            linewidth=1,
            color=colours[method],
            label=method,
        )
    first = next(iter(agnostic.values()))[0]
    ax.set_xticks(first["position"], first["distribution"], rotation=35, fontsize=8)
    ax.set_ylabel("top-1 accuracy (%)")
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path, "Accuracy across shifted test distributions (mean ± std over seeds; head-heavy left)")


def group_bars_figure(seeds: pd.DataFrame, methods: list[str], path: Path) -> None:
    """Many / medium / few-shot closed-set accuracy per method: the mean over seeds as bars, the
    sample standard deviation as error bars and each seed's value as a dot. seeds: one row per
    (method, seed) with the columns many, medium, few."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / len(GROUP_COLOURS)
    x = np.arange(len(methods))
    for i, (group, colour) in enumerate(GROUP_COLOURS.items()):
        values = seeds.groupby("method")[group]
        mean = values.mean().reindex(methods)
        std = values.std(ddof=1).reindex(methods).fillna(0)
        ax.bar(x + (i - 1) * width, mean.fillna(0), width, yerr=std, capsize=2, color=colour, label=group)
        for j, method in enumerate(methods):
            points = seeds.loc[seeds["method"] == method, group].dropna()
            ax.scatter(np.full(len(points), x[j] + (i - 1) * width), points, s=6, color="black", zorder=3)
    ax.set_xticks(x, methods, rotation=30, fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    save_figure(fig, path, "Closed-set accuracy by shot group (bars: mean over seeds, error bars: std, dots: seeds)")
