"""The comparison over seeds: each run's metrics, then per method the mean and the sample standard
deviation over its seeds (ddof=1: the seeds are a sample of the training randomness) and the paired
difference to softmax, seed by seed (the same seed: the same stage-1 model for the methods that share
it, the same data order and initialisation otherwise)."""

import pandas as pd

BASELINE = "softmax"
# (csv name, README header, metrics key); percent unless the header says otherwise
COLUMNS = [
    ("top1", "top-1", "closed.top1"),
    ("many", "many", "closed.many"),
    ("medium", "medium", "closed.medium"),
    ("few", "few", "closed.few"),
    ("open_f", "open F", "open.f_measure"),
    ("open_auroc", "open AUROC", "open.auroc"),
    ("forward50", "forward-50", "agnostic.forward50"),
    ("backward50", "backward-50", "agnostic.backward50"),
    # the uniform test is top-1 itself; the mean over the 11 test distributions summarises the shift
    ("shift_mean", "shift mean", "agnostic.mean"),
    ("ece", "ECE", "closed.ece"),
    ("gmacs", "GMACs", "cost.gmacs"),
    ("train_mimages", "train M images", "cost.train_mimages"),
]
METRICS = [name for name, _, _ in COLUMNS]
HEADERS = {name: header for name, header, _ in COLUMNS}
COSTS = ["gmacs", "train_mimages"]  # not in the table of differences to softmax


def seed_frame(metrics: dict[tuple[str, int], dict], names: dict[tuple[str, int], str]) -> pd.DataFrame:
    """One row per (method, seed) run: its experiment name and the COLUMNS' metrics (NaN where the
    data cannot give one, e.g. few-shot accuracy when no class is few-shot)."""
    rows = [
        {"method": m, "seed": s, "experiment": names[m, s], **{n: values.get(key) for n, _, key in COLUMNS}}
        for (m, s), values in metrics.items()
    ]
    frame = pd.DataFrame(rows, columns=["method", "seed", "experiment", *METRICS])
    frame[METRICS] = frame[METRICS].astype(float)
    return frame


def paired_differences(seeds: pd.DataFrame) -> pd.DataFrame:
    """Each run's metrics minus softmax's of the same seed (methods other than softmax, seeds
    softmax has)."""
    baseline = seeds[seeds["method"] == BASELINE].set_index("seed")[METRICS]
    others = seeds[(seeds["method"] != BASELINE) & seeds["seed"].isin(baseline.index)]
    diffs = others[METRICS].to_numpy() - baseline.loc[others["seed"]].to_numpy()
    return pd.concat([others[["method", "seed"]].reset_index(drop=True), pd.DataFrame(diffs, columns=METRICS)], axis=1)


def summary(seeds: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """One row per method in `methods` order (those with runs): `seeds` (how many), then
    `<metric>_mean` and `<metric>_std` for each metric, then `<metric>_diff_mean` and
    `<metric>_diff_std` of its paired difference to softmax (empty for softmax itself). Standard
    deviations are sample ones (ddof=1; empty with one seed)."""
    order = [m for m in methods if m in set(seeds["method"])]
    runs = seeds.groupby("method")[METRICS]
    diffs = paired_differences(seeds).groupby("method")[METRICS]
    parts = [
        seeds.groupby("method")["seed"].count().rename("seeds"),
        runs.mean().add_suffix("_mean"),
        runs.std(ddof=1).add_suffix("_std"),
        diffs.mean().add_suffix("_diff_mean"),
        diffs.std(ddof=1).add_suffix("_diff_std"),
    ]
    frame = pd.concat(parts, axis=1).reindex(order)
    columns = ["seeds", *(f"{m}_{s}" for m in METRICS for s in ("mean", "std"))]
    columns += [f"{m}_diff_{s}" for m in METRICS for s in ("mean", "std")]
    frame = frame.reindex(columns=columns)
    frame.index.name = "method"
    return frame


def _number(metric: str, value: float, signed: bool = False) -> str:
    sign = "+" if signed else ""
    if metric == "train_mimages":
        return f"{value:{sign}.2f}"
    if metric == "gmacs" and abs(value) < 0.1:
        return f"{value:{sign}.4f}"
    return f"{value:{sign}.2f}"


def mean_std(metric: str, mean: float, std: float, signed: bool = False) -> str:
    """'mean ± std'; the mean alone with one seed, '-' for a metric the data cannot give."""
    if pd.isna(mean):
        return "-"
    if pd.isna(std):
        return _number(metric, mean, signed)
    return f"{_number(metric, mean, signed)} ± {_number(metric, std)}"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def summary_cells(frame: pd.DataFrame, with_seeds: bool = False) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the comparison: every metric as mean ± std over the seeds; GMACs alone as
    a single value (the same model for every seed). with_seeds: a column of each row's number of seeds."""

    def cell(row, metric: str) -> str:
        std = float("nan") if metric == "gmacs" else row[f"{metric}_std"]
        return mean_std(metric, row[f"{metric}_mean"], std)

    seeds = ["seeds"] if with_seeds else []
    rows = [
        [method, *([str(int(row["seeds"]))] if with_seeds else []), *(cell(row, m) for m in METRICS)]
        for method, row in frame.iterrows()
    ]
    return ["method", *seeds, *(HEADERS[m] for m in METRICS)], rows


def markdown_table(frame: pd.DataFrame, with_seeds: bool = False) -> str:
    return _markdown(*summary_cells(frame, with_seeds))


def difference_cells(frame: pd.DataFrame, seeds: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """The header and rows of the paired difference to softmax, mean ± std over the seeds, for every
    method but softmax; each cell (text, whether the seeds disagree on its sign: some above softmax,
    some below, a difference within the seeds' spread)."""
    diffs = paired_differences(seeds)
    metrics = [m for m in METRICS if m not in COSTS]

    def cell(method: str, row, metric: str) -> tuple[str, bool]:
        text = mean_std(metric, row[f"{metric}_diff_mean"], row[f"{metric}_diff_std"], signed=True)
        values = diffs.loc[diffs["method"] == method, metric].dropna()
        return text, bool((values < 0).any() and (values > 0).any())

    rows = [
        [(method, False), *(cell(method, row, m) for m in metrics)]
        for method, row in frame.iterrows()
        if method != BASELINE and not pd.isna(row["top1_diff_mean"])
    ]
    return ["method", *(HEADERS[m] for m in metrics)], rows


def differences_table(frame: pd.DataFrame, seeds: pd.DataFrame) -> str:
    """difference_cells as markdown, in italics where the seeds disagree on the sign."""
    header, rows = difference_cells(frame, seeds)
    return _markdown(header, [[f"*{text}*" if disagree else text for text, disagree in row] for row in rows])


def seed_cells(seeds: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Every run: method, seed, experiment and each metric as the tables write it ('-' where missing)."""
    rows = [
        [row["method"], str(int(row["seed"])), row["experiment"], *(mean_std(m, row[m], float("nan")) for m in METRICS)]
        for _, row in seeds.iterrows()
    ]
    return ["method", "seed", "experiment", *(HEADERS[m] for m in METRICS)], rows


# the README's short table: what a reader compares first (the manual's Results page has every column)
HEADLINE = ["top1", "few", "open_f", "backward50"]


def headline_table(frame: pd.DataFrame) -> str:
    """top-1, few-shot accuracy, open-set F and backward-50 as mean ± std over the seeds, best first."""
    order = frame.sort_values("top1_mean", ascending=False)
    rows = [
        [method, *(mean_std(m, row[f"{m}_mean"], row[f"{m}_std"]) for m in HEADLINE)]
        for method, row in order.iterrows()
    ]
    return _markdown(["method", *(HEADERS[m] for m in HEADLINE)], rows)
