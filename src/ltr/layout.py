"""Where every stage reads and writes (DESIGN §3-4), and how outputs are written safely.

Paths are relative to the repository root, where DVC runs the stages. Every output directory is
written into a temporary sibling and renamed into place only when the stage succeeds, so a failed
or killed stage never leaves half-written outputs behind.
"""

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ltr.engine import distributed
from ltr.errors import LtrError

PREPARED = Path("data/prepared")
SPLITS = Path("data/splits")
MODELS = Path("data/models")
PRETRAIN = MODELS / "pretrain"
STAGE1 = MODELS / "stage1"
STAGE2 = MODELS / "stage2"
EXPERTS = MODELS / "experts"
LOGITS = Path("data/logits")
METRICS = Path("metrics")
PLOTS = Path("plots")
RESUME = Path(".cache/ltr")  # resume state of interrupted training, outside every declared output

EXPERT_SUBSETS = ("many", "medium", "few")
SHIFT_FACTORS = (50, 25, 10, 5, 2)  # forward/backward-N test distributions of TADE and LADE
# every split list the splits stage writes, in the order reports list them
SHIFTED_SPLITS = tuple(f"test_forward{n}" for n in SHIFT_FACTORS) + tuple(
    f"test_backward{n}" for n in reversed(SHIFT_FACTORS)
)
SPLIT_NAMES = ("train", "val", "test", "open", *SHIFTED_SPLITS)

UNUSED = {"used": False}  # the manifest of a stage the method does not use: byte-identical every time


def require(*paths: Path, stage: str) -> None:
    """Fail with one line when an input of the stage does not exist yet."""
    for path in paths:
        if not Path(path).exists():
            raise LtrError(f"{path} is missing: it is made by an earlier stage; run `dvc repro {stage}`")


@contextmanager
def atomic_dir(path: Path):
    """Yield a fresh temporary directory that replaces `path` only if the block succeeds."""
    path = Path(path)
    if not distributed.is_main():  # under torchrun only rank 0 writes; the others' copy is thrown away
        with tempfile.TemporaryDirectory(prefix=f"ltr-{path.name}-") as scratch:
            yield Path(scratch)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*"):  # left by a killed run (DVC locks the workspace)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LtrError(f"{path} is missing: it is made by an earlier stage; run `dvc repro`") from None
    except json.JSONDecodeError as e:
        raise LtrError(
            f"{path} is not valid JSON ({e.msg} at line {e.lineno}); re-run the stage that makes it"
        ) from None


def read_logits(path: Path, num_classes: int) -> tuple:
    """(logits N x C float32, labels N int64) from a logits .npz, validated against the class count."""
    try:
        with np.load(path) as f:
            logits, labels = f["logits"], f["labels"]
    except FileNotFoundError:
        raise LtrError(f"{path} is missing: run `dvc repro logits`") from None
    except Exception as e:  # truncated zip, missing key, not an npz
        raise LtrError(
            f"{path} is unreadable or incomplete ({type(e).__name__}: {e}); re-run `dvc repro logits`"
        ) from None
    if logits.ndim != 2 or logits.shape[1] != num_classes or len(logits) != len(labels):
        raise LtrError(
            f"{path}: logits of shape {logits.shape} for {len(labels)} labels do not match "
            f"{num_classes} classes; re-run `dvc repro logits`"
        )
    return logits.astype(np.float32), labels.astype(np.int64)


def write_manifest(out: Path, **fields) -> None:
    """manifest.json says whether a model directory holds a model the method uses."""
    write_json(Path(out) / "manifest.json", fields or UNUSED)


def read_manifest(directory: Path) -> dict:
    return read_json(Path(directory) / "manifest.json")


def run_stage(main: Callable[[], None], *, trains: bool = False) -> None:
    """Run a stage's main(); a user error becomes one line on stderr and exit status 2. A stage that
    trains runs itself again under torchrun when runtime.nproc > 1 (or joins the process group when
    torchrun started it, e.g. across several nodes)."""
    try:
        if trains:
            from ltr.config import load_config
            from ltr.engine.device import resolve_device

            runtime = load_config().runtime
            if runtime.nproc > 1 and not distributed.under_torchrun():
                sys.exit(distributed.launch(runtime.nproc))
            distributed.init(resolve_device(runtime))
        main()
        distributed.shutdown()
    except LtrError as e:
        # an error raised in a DataLoader worker arrives wrapped in its traceback: keep its own line
        message = str(e).strip().splitlines()[-1].removeprefix(f"{LtrError.__module__}.LtrError: ")
        where = "" if distributed.is_main() else f" (process {distributed.rank()})"
        print(f"error{where}: {message}", file=sys.stderr)
        sys.exit(2)
