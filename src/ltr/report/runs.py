"""Finished experiments, read back through `dvc.api`: one `exp_show` lists the current commit's
experiments with their params and states, and `metrics_show` at a chosen experiment's commit gives
its metrics, typed and by file.

`exp_show` gives each experiment as one flat row: a param or metric is the column `key`, or
`file:key` where two files share the key, and every value is the text DVC shows, as a float where it
reads as one (so lists and booleans are text). Params are only ever compared with other rows'
(`as_cell` puts a Python value in the same form), never read as typed values.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import dvc.api
import yaml

from ltr.layout import METRICS
from ltr.presets import flatten

PARAMS_FILE = "params.yaml"
METRICS_FILE = f"{METRICS}/metrics.json"
DETAILS_FILE = f"{METRICS}/details.json"
UNFINISHED = {"Queued", "Running", "Failed"}  # exp_show's State; a failed row shows its baseline's data


def run_dvc(*args: str) -> str:
    result = subprocess.run(["dvc", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"error: `dvc {' '.join(args)}` failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def cell(row: dict, file: str, key: str):
    return row.get(f"{file}:{key}", row.get(key))


def as_cell(value):
    """A params.yaml value as exp_show's row holds it (an empty section has no column: None)."""
    if value == {}:
        return None
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class Experiment:
    name: str
    rev: str  # the experiment's commit (abbreviated)
    params: dict  # flat params.yaml key -> its cell


@dataclass(frozen=True)
class Experiments:
    workspace: dict  # the workspace's params, flat, as cells
    finished: list[Experiment]  # newest first, as exp_show lists them
    names: set[str]  # every experiment name of the commit: finished, failed, queued or running


def read_experiments(params_file: Path = Path(PARAMS_FILE)) -> Experiments:
    """The current commit's experiments (`dvc exp show`'s default), compared on the keys of the
    workspace's params file."""
    return experiments_of(dvc.api.exp_show(), list(flatten(yaml.safe_load(params_file.read_text()))))


def experiments_of(rows: list[dict], keys: list[str]) -> Experiments:
    def params(row: dict) -> dict:
        return {key: cell(row, PARAMS_FILE, key) for key in keys}

    workspace = next((row for row in rows if row["rev"] == "workspace"), None)
    if workspace is None:
        raise ValueError("dvc.api.exp_show() gave no workspace row")
    experiments = [row for row in rows if row["typ"] != "baseline" and row["Experiment"]]
    finished = [
        Experiment(row["Experiment"], row["rev"], params(row))
        for row in experiments
        if row["State"] not in UNFINISHED and cell(row, METRICS_FILE, "top1") is not None
    ]
    return Experiments(params(workspace), finished, {row["Experiment"] for row in experiments})


def differs_only_in(params: dict, base: dict, free: set[str]) -> bool:
    """Flat params equal to base on every key but the `free` ones."""
    return all(params.get(k) == base.get(k) for k in (set(params) | set(base)) - free)


def method_seed_runs(
    experiments: Experiments, methods: list[str], seeds: list[int], name_of
) -> dict[tuple[str, int], Experiment]:
    """The finished run of each (method, seed): an experiment whose params are the workspace's with
    only `method` and `seed` changed. Several such runs are the same computation; the one named
    name_of(method, seed) is preferred, else the newest."""
    runs = {}
    for exp in experiments.finished:
        if not differs_only_in(exp.params, experiments.workspace, {"method", "seed"}):
            continue
        method, seed = exp.params["method"], exp.params["seed"]
        if method not in methods or not isinstance(seed, float) or seed not in seeds:
            continue
        key = (method, int(seed))
        if key not in runs or (exp.name == name_of(*key) and runs[key].name != exp.name):
            runs[key] = exp
    return runs


def run_metrics(rev: str, method: str) -> dict:
    """metrics/details.json of the experiment (every metric, not only metrics.json's headline), flat,
    with `cost.train_mimages`, the millions of images trained behind its final model, every stage's,
    and `agnostic.mean`, the mean top-1 over the 11 test distributions (forward-50 ... backward-50)."""
    shown = dvc.api.metrics_show(DETAILS_FILE, rev=rev)
    flat = flatten({k: v for k, v in shown.items() if isinstance(v, dict) and k != "splits"})
    images = flat.get("cost.train_images")
    shifted = [v for k, v in flat.items() if k.startswith("agnostic.")]
    mean = sum(shifted) / len(shifted) if shifted and None not in shifted else None
    return {**flat, "cost.train_mimages": None if images is None else images / 1e6, "agnostic.mean": mean}
