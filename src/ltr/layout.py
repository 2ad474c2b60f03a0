"""Where every stage reads and writes (README, "Architecture"), and how outputs are written safely.

Paths are relative to the repository root, where DVC runs the stages. Every output directory is
written into a temporary sibling and renamed into place only when the stage succeeds, so a failed
or killed stage never leaves half-written outputs behind. Imports neither torch nor numpy: the
stages a method does not use finish with this and the params alone.
"""

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ltr.errors import LtrError

PARAMS_CHECKED = Path("data/params_checked")  # the constant output of check_params, which every stage depends on
# the method in use's params section as its stages read it (params.yaml's, defaults filled in), written by
# check_params: the params file that stage2, experts and logits track, so that a method needs no section
# in params.yaml (adding one is adding its folder)
METHOD_PARAMS = Path("data/method_params.yaml")
PREPARED = Path("data/prepared")
CONTENT = Path("data/content")  # fingerprints of the images' bytes (ltr.data.prepared)
SPLITS = Path("data/splits")
MODELS = Path("data/models")
PRETRAIN = MODELS / "pretrain"
STAGE1 = MODELS / "stage1"
STAGE1_PREDICTIONS = Path("data/predictions/stage1")  # stage 1's logits and features of every split list
STAGE2 = MODELS / "stage2"
EXPERTS = MODELS / "experts"
LOGITS = Path("data/logits")
METRICS = Path("metrics")
PLOTS = Path("plots")
# dvclive logs of the training stages, written while they train, for watching a run (`dvc plots show
# live/stage1/plots/metrics`); git-ignored and no stage's output, since they hold timings, which
# differ between two runs of the same inputs. The epochs of the final model are plots/training.csv
LIVE = Path("live")

EXPERT_SUBSETS = ("many", "medium", "few")
SHIFT_FACTORS = (50, 25, 10, 5, 2)  # forward/backward-N test distributions of TADE and LADE
# every split list the splits stage writes, in the order reports list them
SHIFTED_SPLITS = tuple(f"test_forward{n}" for n in SHIFT_FACTORS) + tuple(
    f"test_backward{n}" for n in reversed(SHIFT_FACTORS)
)
SPLIT_NAMES = ("train", "val", "test", "open", *SHIFTED_SPLITS)

OPEN_LABEL = -1  # the label of an open-set image in a split list
UNUSED = {"used": False}
# what the training stages log with dvclive, one value an epoch (live/<stage>/plots/metrics/<name>.tsv)
LIVE_METRICS = (
    "train_loss",
    "train_top1",
    "val_top1",
    "lr",
    "img_per_s",
)  # the manifest of a stage the method does not use: byte-identical every time


def require(*paths: Path, stage: str) -> None:
    """Fail with one line when an input of the stage does not exist yet."""
    for path in paths:
        if not Path(path).exists():
            raise LtrError(f"{path} is missing: it is made by an earlier stage; run `dvc repro {stage}`")


def resume_root() -> Path:
    """Where training stages keep the state of unfinished runs: outside every workspace (the ones of
    `dvc exp run --queue` and `--temp` are deleted after the run), so that running the same
    experiment again resumes it; states are keyed by the params and inputs of their stage. The
    environment's LTR_RESUME_DIR, else $XDG_CACHE_HOME/ltr/resume, else ~/.cache/ltr/resume."""
    if os.environ.get("LTR_RESUME_DIR"):
        return Path(os.environ["LTR_RESUME_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "ltr" / "resume"


# the last epoch whose state a training stage saved in this process, for the line a stopped stage prints
SAVED_EPOCH: dict = {}


def what_was_kept() -> str:
    """What a stage that stopped before its end leaves, and how to continue: its outputs are never
    half-written (atomic_dir), and a training stage's state after its last finished epoch is kept."""
    if SAVED_EPOCH:
        return f"kept {SAVED_EPOCH['stage']}'s state after epoch {SAVED_EPOCH['epoch']}: `dvc repro` resumes from it"
    return (
        "it saved no epoch and wrote no output: `dvc repro` runs it again "
        "(resuming where an earlier run stopped, if one did)"
    )


def is_main_process() -> bool:
    """False in the processes torchrun starts beside rank 0 (which alone writes outputs)."""
    return int(os.environ.get("RANK", "0")) == 0


@contextmanager
def atomic_dir(path: Path):
    """Yield a fresh temporary directory that replaces `path` only if the block succeeds."""
    path = Path(path)
    if not is_main_process():  # under torchrun only rank 0 writes; the others' copy is thrown away
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


def write_manifest(out: Path, **fields) -> None:
    """manifest.json says whether a model directory holds a model the method uses."""
    write_json(Path(out) / "manifest.json", fields or UNUSED)


def read_manifest(directory: Path) -> dict:
    return read_json(Path(directory) / "manifest.json")
