"""The comparison figures of `make report`: every method, each over several seeds, as PNG and SVG. Kept
apart from the evaluate stage's figures (ltr.report.plots), so that changing them re-runs no stage; they
share its palette, its shot-group colours and its way of saving."""

from pathlib import Path

import numpy as np
import pandas as pd

from ltr.report.plots import GROUP_COLOURS, OKABE_ITO, figure, outside_legend, plain_log_labels, save_figure

BASELINE = "softmax"  # drawn in black in every figure, the reference the others are read against
# the palette less black (softmax's) and yellow (too light for a line on white)
METHOD_COLOURS = [c for c in OKABE_ITO if c not in ("#000000", "#F0E442")]
MARKERS = ["o", "s", "^", "D"]
LINESTYLES = ["-", "--", "-.", ":"]
PANEL_COLUMNS = 4


def method_styles(methods: list[str]) -> dict[str, dict]:
    """A colour, marker and line style per method: softmax black and solid, the others through the
    palette's six line colours, with a new marker and dash each time the colours repeat, so that no two
    methods look alike."""
    styles, others = {}, [m for m in methods if m != BASELINE]
    if BASELINE in methods:
        styles[BASELINE] = {"color": OKABE_ITO[0], "marker": "o", "linestyle": "-"}
    for i, method in enumerate(others):
        cycle = (i // len(METHOD_COLOURS)) % len(MARKERS)
        styles[method] = {
            "color": METHOD_COLOURS[i % len(METHOD_COLOURS)],
            "marker": MARKERS[cycle],
            "linestyle": LINESTYLES[cycle],
        }
    return {m: styles[m] for m in methods}


def smoothed_by_count(frames: list[pd.DataFrame], window: int) -> tuple[pd.Series, pd.DataFrame]:
    """Classes by training count; per seed, the moving average of accuracy over `window` classes."""
    by_seed = pd.concat([f.set_index("class")["accuracy"] for f in frames], axis=1)
    counts = frames[0].set_index("class")["train_count"].reindex(by_seed.index)
    order = np.argsort(counts.to_numpy(), kind="stable")
    by_seed, counts = by_seed.iloc[order], counts.iloc[order]
    return counts, by_seed.rolling(window, center=True, min_periods=1).mean()


def _draw_smoothed(ax, frames: list[pd.DataFrame], window: int, style: dict, label: str) -> None:
    counts, smooth = smoothed_by_count(frames, window)
    ax.plot(counts, smooth.mean(axis=1), color=style["color"], linestyle=style["linestyle"], linewidth=1.6, label=label)
    ax.fill_between(counts, smooth.min(axis=1), smooth.max(axis=1), color=style["color"], alpha=0.15, linewidth=0)


def per_class_comparison_figure(per_class: dict[str, list[pd.DataFrame]], path: Path, window: int = 9) -> None:
    """Small multiples: each method against softmax, test accuracy of a class against its training count
    (log axis), from one per_class.csv per seed: the moving average over `window` classes of
    neighbouring counts (mean over seeds) as the line, the seeds' own moving averages (lowest to
    highest) as the band."""
    styles = method_styles(list(per_class))
    panels = [m for m in per_class if m != BASELINE] or list(per_class)
    columns = min(PANEL_COLUMNS, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = figure(3.2 * columns, 2.6 * rows + 0.6, nrows=rows, ncols=columns, sharex=True, sharey=True)
    axes = np.atleast_1d(axes).ravel()
    for ax, method in zip(axes, panels, strict=False):
        if BASELINE in per_class and method != BASELINE:
            _draw_smoothed(ax, per_class[BASELINE], window, styles[BASELINE], BASELINE)
        _draw_smoothed(ax, per_class[method], window, styles[method], method)
        ax.set_title(f"{method} ({len(per_class[method])} seeds)", fontsize=9, color=styles[method]["color"])
        ax.set_xscale("log")
        plain_log_labels(ax.xaxis)
        ax.set_ylim(-2, 102)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig.supxlabel("training images of the class (log scale)")
    fig.supylabel("test accuracy (%)")
    baseline = f"; black: {BASELINE}" if BASELINE in per_class and panels != [BASELINE] else ""
    save_figure(
        fig, path, f"Per-class test accuracy against training images\n(mean of {window} classes, band: seeds{baseline})"
    )


def agnostic_comparison_figure(agnostic: dict[str, list[pd.DataFrame]], path: Path) -> None:
    """Top-1 of every method on the forward-50 ... uniform ... backward-50 test distributions: the
    mean over seeds, with the sample standard deviation as error bars (methods side by side)."""
    styles = method_styles(list(agnostic))
    fig, ax = figure(10, 4.4)
    shift = 0.5 / max(len(agnostic), 1)
    for i, (method, frames) in enumerate(agnostic.items()):
        top1 = pd.concat([f.set_index("position")["top1"] for f in frames], axis=1)
        x = top1.index.to_numpy() + (i - (len(agnostic) - 1) / 2) * shift
        std = top1.std(axis=1, ddof=1).fillna(0)
        mean = top1.mean(axis=1)
        ax.errorbar(x, mean, yerr=std, markersize=4, capsize=2, linewidth=1, label=method, **styles[method])
    first = next(iter(agnostic.values()))[0]
    ax.set_xticks(first["position"], first["distribution"], rotation=35, fontsize=8)
    ax.set_xlabel("test class distribution (forward-N: head-heavy, imbalance N; backward-N: tail-heavy)")
    ax.set_ylabel("top-1 accuracy (%)")
    outside_legend(fig, title="method")
    save_figure(fig, path, "Accuracy across shifted test distributions (mean ± std over seeds)")


def group_bars_figure(seeds: pd.DataFrame, methods: list[str], path: Path) -> None:
    """Many / medium / few-shot closed-set accuracy per method: the mean over seeds as bars, the
    sample standard deviation as error bars and each seed's value as a dot. seeds: one row per
    (method, seed) with the columns many, medium, few."""
    fig, ax = figure(max(6, 0.9 * len(methods) + 2), 4)
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
    ax.set_xticks(x, methods, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("method")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    outside_legend(fig, title="shot group")
    save_figure(fig, path, "Closed-set accuracy by shot group\n(bars: mean over seeds, error bars: std, dots: seeds)")
