"""Copies of the project that run the pipeline away from the workspace, so that its committed outputs
stay as they are: the tests' temporary repositories and `make gpu-check`'s run on CUDA. No stage
imports this module."""

import shutil
from pathlib import Path

# what a workspace needs to run the pipeline: no data, no DVC cache; data/raw/none is the data.root
# of the data sets generated in code
PIPELINE_FILES = (
    "src",
    "stages",
    "data/raw/none",
    "dvc.yaml",
    "params.yaml",
    ".dvcignore",
    ".gitignore",
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvc/plots",
)


def copy_pipeline(source: Path, dest: Path) -> None:
    """PIPELINE_FILES from the project at `source` into `dest`."""
    for name in PIPELINE_FILES:
        src, target = Path(source) / name, Path(dest) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, target)
