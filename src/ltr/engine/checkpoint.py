"""Model checkpoints (stage outputs) and resume state (outside every output).

Both are plain dicts of tensors and primitives, loaded with weights_only=True: a checkpoint that
needs pickled code to load is refused.
"""

import dataclasses
import hashlib
import os
from pathlib import Path

import torch

from ltr.config import TrainConfig, config_hash, reads
from ltr.errors import LtrError
from ltr.layout import resume_root, what_was_kept

FORMAT = "ltr-checkpoint-1"
RESUME_MAX_GB = float(os.environ.get("LTR_RESUME_MAX_GB", "10"))  # all resume states together, oldest dropped


def _save(obj, path: Path) -> None:
    """torch.save; a full disk (or a file-size limit) is one line, not the stream writer's traceback."""
    try:
        torch.save(obj, path)
    except (RuntimeError, OSError) as e:
        Path(path).unlink(missing_ok=True)
        reason = " ".join(str(e).split())[:120]
        raise LtrError(f"cannot write {path} ({reason}), is the disk full? {what_was_kept()}") from None


def save_checkpoint(path: Path, state_dict: dict, **meta) -> None:
    _save({"format": FORMAT, "state_dict": state_dict, **meta}, path)


def _load_failure(error: Exception) -> str:
    """The informative part of torch.load's error: what weights_only refused, or its first sentence."""
    text = " ".join(str(error).split())
    if "WeightsUnpickler error:" in text:
        refused = text.split("WeightsUnpickler error:", 1)[1].split(" was not an allowed", 1)[0]
        return "weights_only loading refuses it: " + refused.split(" Check the documentation", 1)[0].strip()
    return text.split(". ", 1)[0][:160] or type(error).__name__


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise LtrError(f"checkpoint {path} is missing: it is made by an earlier stage; run `dvc repro`")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, foreign pickle, random bytes: all mean the same to the user
        raise LtrError(
            f"checkpoint {path} is corrupt or not an ltr checkpoint ({_load_failure(e)}); re-run its stage"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise LtrError(f"checkpoint {path} is not an ltr checkpoint (format {FORMAT} expected); re-run its stage")
    return ckpt


class ResumeState:
    """The state of an unfinished training run, saved after every epoch under a config-keyed path."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / "state.pt"

    def load(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            return torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:
            print(f"ignoring unreadable resume state {self.path}; training from the start", flush=True)
            return None

    def save(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        _save(state, tmp)
        os.replace(tmp, self.path)  # a kill mid-save leaves the previous epoch's state intact
        self._prune()

    def _prune(self) -> None:
        """Drop the oldest states of other runs while all of them take more than RESUME_MAX_GB."""
        others = sorted(self.path.parent.parent.glob("*/state.pt"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in others)
        for old in others:
            if total <= RESUME_MAX_GB * 2**30 or old == self.path:
                continue
            total -= old.stat().st_size
            ResumeState(old.parent).clear()

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        try:
            self.path.parent.rmdir()
        except OSError:
            pass


def resume_state(name: str, cfg: TrainConfig, inputs: list[Path], parts: tuple = ()) -> ResumeState:
    """Where training run `name` (a stage) keeps its state: under a key of all its result depends on,
    its schedule, every param the stage has read so far, `parts`, and the bytes of its input files, so
    that only a run of the same inputs resumes from it."""
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in inputs if f.is_file()]
    key = config_hash(name, dataclasses.asdict(cfg), sorted(reads().items()), *parts, *digests)
    return ResumeState(resume_root() / f"{name}-{key}")
