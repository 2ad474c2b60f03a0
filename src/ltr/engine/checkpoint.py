"""Model checkpoints (stage outputs) and resume state (outside every output).

Both are plain dicts of tensors and primitives, loaded with weights_only=True: a checkpoint that
needs pickled code to load is refused.
"""

import os
from pathlib import Path

import torch

from ltr.errors import LtrError

FORMAT = "ltr-checkpoint-1"


def save_checkpoint(path: Path, state_dict: dict, **meta) -> None:
    torch.save({"format": FORMAT, "state_dict": state_dict, **meta}, path)


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
        torch.save(state, tmp)
        os.replace(tmp, self.path)  # a kill mid-save leaves the previous epoch's state intact

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        try:
            self.path.parent.rmdir()
        except OSError:
            pass
