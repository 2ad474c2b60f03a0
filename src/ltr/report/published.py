"""The published CIFAR-100-LT numbers (imbalance 100, ResNet-32) of the compared methods, each with its
source and recipe, and this project's means beside them: the embedded data set is meant as a
miniature of CIFAR-100-LT, and the rank correlation says how far its ordering of the methods follows
the papers'. No single paper tabulates every method; where several give one, the one closest to this
project's protocol (the method's own paper, else TADE's table) is used. OLTR and the class-balanced
experts publish no CIFAR-100-LT number.
"""

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Published:
    top1: float
    source: str
    recipe: str
    few: float | None = None  # RIDE's MODEL_ZOO.md, the one source found with CIFAR-100-LT few-shot numbers
    forward50: float | None = None
    backward50: float | None = None


TADE_RECIPE = "200 epochs, batch 128, SGD 0.1 Nesterov, crop + flip + rotation 15"
PUBLISHED = {
    "softmax": Published(
        41.4, "TADE (SADE) README, its paper's table", TADE_RECIPE, few=10.6, forward50=62.3, backward50=17.5
    ),
    "crt": Published(40.26, "Bag of Tricks (Zhang et al., AAAI 2021), trick gallery", "200 + 30 epochs, wd 2e-4"),
    "lws": Published(40.16, "Bag of Tricks, trick gallery", "200 + 30 epochs, wd 2e-4"),
    "tau_norm": Published(40.96, "Bag of Tricks, trick gallery", "200 epochs, wd 2e-4"),
    "logit_adjust": Published(43.89, "Menon et al., ICLR 2021, Table 3 (the loss)", "the paper's CIFAR schedule"),
    "balanced_softmax": Published(46.1, "TADE paper, Table 8(a)", TADE_RECIPE),
    "ldam_drw": Published(42.04, "Cao et al., NeurIPS 2019, Table 2", "200 epochs, wd 2e-4, DRW at 160"),
    "tde": Published(44.1, "Tang et al., NeurIPS 2020, Table 3", "200 epochs, batch 256, lr 0.2"),
    "ride": Published(48.0, "TADE (SADE) README", TADE_RECIPE, few=25.7, forward50=63.0, backward50=29.3),
    "tade": Published(49.8, "TADE (SADE) README", TADE_RECIPE, forward50=65.9, backward50=42.4),
    "ssp": Published(
        43.06, "Yang & Xu, NeurIPS 2020, README (CE, balanced, + SSP)", "200 epochs, rotation pre-training"
    ),
}


def side_by_side(frame: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Per method with a published number: published and our mean top-1 (and backward-50 where
    published), the difference to softmax in each, and Spearman's rank correlation of the two top-1
    columns over those methods."""
    rows = []
    for method, p in PUBLISHED.items():
        if method not in frame.index:
            continue
        ours = frame.loc[method]
        rows.append(
            {
                "method": method,
                "published_top1": p.top1,
                "ours_top1": ours["top1_mean"],
                "published_few": p.few,
                "ours_few": ours["few_mean"],
                "published_backward50": p.backward50,
                "ours_backward50": ours["backward50_mean"],
                "source": p.source,
                "recipe": p.recipe,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "method",
            "published_top1",
            "ours_top1",
            "published_few",
            "ours_few",
            "published_backward50",
            "ours_backward50",
            "source",
            "recipe",
        ],
    ).set_index("method")
    for side in ("published", "ours"):
        base = table.loc["softmax", f"{side}_top1"] if "softmax" in table.index else float("nan")
        table[f"{side}_vs_softmax"] = table[f"{side}_top1"] - base
    rho = table["published_top1"].rank().corr(table["ours_top1"].rank())  # Spearman: Pearson of the ranks
    return table, float(rho)


def side_by_side_markdown(frame: pd.DataFrame) -> str:
    table, rho = side_by_side(frame)
    table = table.sort_values("published_top1", ascending=False)
    lines = [
        "| method | published top-1 | ours | published - softmax | ours - softmax | published / ours few-shot "
        "| published / ours backward-50 | source | recipe |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, row in table.iterrows():
        backward = "-" if pd.isna(row["published_backward50"]) else f"{row['published_backward50']:.1f}"
        few = "-" if pd.isna(row["published_few"]) else f"{row['published_few']:.1f}"
        lines.append(
            f"| {method} | {row['published_top1']:.2f} | {row['ours_top1']:.2f} | {row['published_vs_softmax']:+.2f} "
            f"| {row['ours_vs_softmax']:+.2f} | {few} / {row['ours_few']:.2f} "
            f"| {backward} / {row['ours_backward50']:.2f} | {row['source']} | {row['recipe']} |"
        )
    n = len(table)
    lines.append("")
    lines.append(f"Spearman's rank correlation of the two top-1 columns over these {n} methods: {rho:.2f}.")
    lines.append("")
    lines.append(
        "Published few-shot: RIDE's MODEL_ZOO.md (softmax at 100 epochs, top-1 39.1; RIDE with its router, 48.6), "
        "the only source found with CIFAR-100-LT few-shot numbers; the top-1 column is from the sources named."
    )
    return "\n".join(lines) + "\n"
