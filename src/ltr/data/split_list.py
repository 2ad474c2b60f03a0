"""Split lists: one image a line, `relative/path label`, the format of the official
ImageNet_LT_*.txt / Places_LT_*.txt files. Open-set images carry label -1."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltr.errors import LtrError
from ltr.layout import OPEN_LABEL


@dataclass(frozen=True)
class SplitList:
    name: str
    paths: list[str]
    labels: np.ndarray  # int64


def write_split_list(path: Path, paths, labels) -> None:
    Path(path).write_text("".join(f"{p} {int(y)}\n" for p, y in zip(paths, labels, strict=True)))


def read_split_list(path: Path, num_classes: int | None, is_open: bool | None = None) -> SplitList:
    """Read and validate a split list. Only an open list (by default the one named open.txt) may hold
    label -1, and it holds nothing else; num_classes None checks only that labels are >= 0."""
    path = Path(path)
    if not path.exists():
        raise LtrError(f"split list {path} is missing: run `dvc repro splits`")
    is_open = path.stem == "open" if is_open is None else is_open
    top = float("inf") if num_classes is None else num_classes
    allowed = "-1 (open set)" if is_open else "0 or more" if num_classes is None else f"0..{num_classes - 1}"
    paths, labels, seen = [], [], set()
    # utf-8-sig: a byte-order mark (lists saved by some Windows editors) is not part of the first path
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2:
            raise LtrError(f"{path}:{n}: malformed line {line!r}; expected `relative/path label`")
        rel, label_text = fields
        try:
            label = int(label_text)
        except ValueError:
            raise LtrError(f"{path}:{n}: label {label_text!r} is not an integer") from None
        if (is_open and label != OPEN_LABEL) or (not is_open and not 0 <= label < top):
            raise LtrError(f"{path}:{n}: label {label} is outside the class range; allowed: {allowed}")
        if rel.startswith("/") or ".." in rel.split("/"):  # PurePosixPath's test, without a Path a line
            raise LtrError(f"{path}:{n}: path {rel!r} escapes the data root; use a path relative to it")
        if rel in seen:
            raise LtrError(f"{path}:{n}: path {rel!r} is listed twice")
        seen.add(rel)
        paths.append(rel)
        labels.append(label)
    if not paths:
        raise LtrError(f"split list {path} has no images")
    return SplitList(path.stem, paths, np.asarray(labels, dtype=np.int64))
