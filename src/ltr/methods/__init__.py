"""The method registry: every module in this package that defines METHOD registers it.

A method says what it does in each stage of the DAG; a stage it does not use writes its constant
"unused" output, so switching methods never re-trains what the new method shares with the old one.
"""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ltr.layout import atomic_dir, write_manifest


@dataclass(frozen=True)
class NoSettings:
    """An empty params section."""


@dataclass(frozen=True)
class Method:
    name: str
    summary: str  # one line: what it is and its paper
    # the dataclass of its params.yaml section (named like the method). Its `train` field holds what
    # stage 2 reads (stage 2 tracks only <method>.train); other keys are read later (experts, logits),
    # so changing e.g. tau_norm.tau or tde.alpha re-runs only the logits stage and what follows.
    params_cls: type
    logits: Callable  # (StageContext) -> MethodOutput: final logits of every split list
    train_stage2: Callable | None = None  # (StageContext, out_dir) -> None; None: stage 2 unused
    train_expert: Callable | None = None  # (StageContext, out_dir, subset) -> None; None: experts unused
    pretrain: Callable | None = None  # (StageContext, out_dir) -> None; None: no self-supervised pre-training
    trained_in: tuple[str, ...] = ("stage1",)  # model dirs (under data/models) whose training the final model carries


def best_on_val(grid, logits_for: Callable, labels) -> tuple[float, float]:
    """The grid value whose val logits give the best top-1 (the first, i.e. smallest, on ties), and that
    top-1 in percent. For post-hoc knobs chosen on the val split (tau-norm's tau, TDE's alpha)."""
    scores = [float((logits_for(float(v)).argmax(1) == labels).float().mean()) for v in grid]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return float(grid[best]), round(100 * scores[best], 3)


def run_method_step(ctx, directory: Path, step: Callable | None, *args, **manifest) -> None:
    """Run a method's step(ctx, out, *args) for a stage, or write the stage's constant "unused"
    manifest when the method has no such step (so that switching methods reuses later stages)."""
    with atomic_dir(directory) as out:
        if step is None:
            write_manifest(out)
        else:
            step(ctx, out, *args)
            write_manifest(out, used=True, method=ctx.cfg.method, **manifest)
    ctx.finish()


def _discover() -> dict[str, Method]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "METHOD", None), Method):
            found.append(module.METHOD)
    # the baseline first, then alphabetical: the order of error messages and tables
    found.sort(key=lambda m: (m.name != "softmax", m.name))
    return {m.name: m for m in found}


METHODS: dict[str, Method] = _discover()
