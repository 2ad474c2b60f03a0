"""Stage check_params: validates every section of params.yaml (the sections of the methods not in use
too) before any other stage runs. Every stage depends on its first output, whose content never changes,
so a rejected value stops `dvc repro` before DVC has removed any stage's outputs, an accepted change
re-runs no stage by itself, and a stage that runs holds it against a second `dvc exp run` here. Its
second output is the method in use's section as the stages read it, defaults filled in
(data/method_params.yaml): the params file that the method's stages track, so that they re-run when a
key they read changes, whether params.yaml gives it or the method's declaration."""

import dataclasses
import os
from pathlib import Path

import yaml

from ltr import methods
from ltr.config import load_config
from ltr.errors import LtrError
from ltr.layout import METHOD_PARAMS, PARAMS_CHECKED
from ltr.runner import run_stage


def main():
    cfg = methods.check_all(load_config())
    check_data_root(cfg.data.root)
    section = dataclasses.asdict(methods.section(cfg))
    write_atomically(METHOD_PARAMS, yaml.safe_dump({cfg.method: section}, sort_keys=False))
    write_atomically(PARAMS_CHECKED, "params.yaml passed validation\n")


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


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
