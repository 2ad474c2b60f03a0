"""Stage check_params: validates every section of params.yaml (the sections of the methods not in use
too) before any other stage runs. Every stage depends on its output, whose content never changes, so
a rejected value stops `dvc repro` before DVC has removed any stage's outputs, and an accepted change
re-runs no stage by itself."""

import os
from pathlib import Path

from ltr.config import load_config
from ltr.errors import LtrError
from ltr.layout import PARAMS_CHECKED
from ltr.methods import check_all
from ltr.runner import run_stage


def main():
    cfg = check_all(load_config())
    check_data_root(cfg.data.root)
    PARAMS_CHECKED.parent.mkdir(parents=True, exist_ok=True)
    tmp = PARAMS_CHECKED.with_suffix(".tmp")
    tmp.write_text("params.yaml passed validation\n")
    os.replace(tmp, PARAMS_CHECKED)


def check_data_root(root: str) -> None:
    """data.root must exist before prepare, which depends on it; a relative path that exists in the
    workspace is missing from the copies `dvc exp run --temp` and `--queue` run in (what git tracks)."""
    if Path(root).exists():
        return
    if Path(root).is_absolute():
        raise LtrError(f"params.yaml: data.root = {root!r} does not exist; point it at the data set's folder")
    raise LtrError(
        f"params.yaml: data.root = {root!r} does not exist in {Path.cwd()}; give an absolute path (the "
        "workspaces of `dvc exp run --temp` and `--queue` hold only what git tracks, no git-ignored data set)"
    )


if __name__ == "__main__":
    run_stage(main)
