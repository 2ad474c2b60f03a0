"""The comparison table: one row per method experiment, read from `dvc exp show --json`."""

import pandas as pd

from ltr.config import method_names, spec
from ltr.layout import LIVE
from ltr.presets import flatten

# (column header, metrics.json path); percent unless the header says otherwise
COLUMNS = [
    ("top-1", "closed.top1"),
    ("many", "closed.many"),
    ("medium", "closed.medium"),
    ("few", "closed.few"),
    ("open F", "open.f_measure"),
    ("open AUROC", "open.auroc"),
    ("forward-50", "agnostic.forward50"),
    ("uniform", "agnostic.uniform"),
    ("backward-50", "agnostic.backward50"),
    ("ECE", "closed.ece"),
    ("GMACs", "cost.gmacs"),
    ("train s", "train_seconds"),
]
METRICS_FILE = "metrics/metrics.json"


def _file_data(data: dict, kind: str, name: str) -> dict:
    return ((data.get(kind) or {}).get(name) or {}).get("data") or {}


def train_seconds(data: dict, method: str) -> float | None:
    """Seconds of training behind the method's final model: its stages' dvclive logs summed."""
    if method not in method_names():
        return None
    logs = [_file_data(data, "metrics", f"{LIVE}/{stage}/metrics.json") for stage in spec(method).trained_in]
    return sum(log.get("train_seconds", 0.0) for log in logs)


def experiment_records(exp_show: list) -> list[dict]:
    """Every finished experiment of every baseline in `dvc exp show --json`: its name, git rev,
    baseline, flattened params.yaml, flattened metrics/metrics.json and the training time of its
    final model (`train_seconds`). Failed or still queued experiments (no metrics) are left out."""
    records = []
    for baseline in exp_show:
        if baseline.get("rev") == "workspace":
            continue
        for experiment in baseline.get("experiments") or []:
            for rev in experiment.get("revs") or []:
                data = rev.get("data") or {}
                metrics = _file_data(data, "metrics", METRICS_FILE)
                if rev.get("error") or not metrics:
                    continue
                params = flatten(_file_data(data, "params", "params.yaml"))
                records.append(
                    {
                        "name": rev.get("name") or experiment.get("name"),
                        "rev": rev["rev"],
                        "baseline": baseline["rev"],
                        "timestamp": data.get("timestamp") or "",
                        "params": params,
                        "metrics": {**flatten(metrics), "train_seconds": train_seconds(data, params.get("method"))},
                    }
                )
    return records


def workspace_params(exp_show: list) -> dict:
    for baseline in exp_show:
        if baseline.get("rev") == "workspace":
            return flatten(_file_data(baseline.get("data") or {}, "params", "params.yaml"))
    raise ValueError("`dvc exp show --json` has no workspace entry")


def differs_only_in(params: dict, base: dict, free: set[str]) -> bool:
    """Flat params equal to base on every key but the `free` ones."""
    return all(params.get(k) == base.get(k) for k in (set(params) | set(base)) - free)


def runs_of(records: list[dict], base_params: dict, methods: list[str]) -> dict[str, dict]:
    """For each method, the newest experiment whose params are `base_params` with only `method`
    changed: the run that compares with the others. Ablations and other data are left out."""
    runs = {}
    for record in sorted(records, key=lambda r: r["timestamp"], reverse=True):
        method = record["params"].get("method")
        if method in methods and method not in runs and differs_only_in(record["params"], base_params, {"method"}):
            runs[method] = record
    return runs


def comparison_frame(runs: dict[str, dict], methods: list[str]) -> pd.DataFrame:
    """Rows in `methods` order, columns COLUMNS; methods without a run are left out."""
    rows = []
    for method in methods:
        if method not in runs:
            continue
        metrics = runs[method]["metrics"]
        rows.append({"method": method, **{header: metrics.get(key) for header, key in COLUMNS}})
    return pd.DataFrame(rows, columns=["method", *(header for header, _ in COLUMNS)]).set_index("method")


def markdown_table(frame: pd.DataFrame) -> str:
    """Percentages and GMACs with two decimals (three for GMACs under 0.1), seconds whole, '-' for
    a metric the data cannot give (e.g. few-shot accuracy when no class is few-shot)."""

    def cell(header: str, value) -> str:
        if value is None or pd.isna(value):
            return "-"
        if header == "train s":
            return f"{value:.0f}"
        if header == "GMACs" and value < 0.1:
            return f"{value:.4f}"
        return f"{value:.2f}"

    lines = [
        "| method | " + " | ".join(frame.columns) + " |",
        "|---|" + "---|" * len(frame.columns),
    ]
    for method, row in frame.iterrows():
        lines.append(f"| {method} | " + " | ".join(cell(h, row[h]) for h in frame.columns) + " |")
    return "\n".join(lines) + "\n"
