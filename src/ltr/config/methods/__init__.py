"""The method registry: every module here declares one method, torch-free: its params section and
the training stages it uses (`SPEC`). Its implementation is `ltr.methods.<name>`.

A stage loads the declaration of the method in use only (and only a stage that reads the method's
section: stage1 never does), so editing one method's declaration re-runs only that method's stages.
A section's `train` part is read by the stage-2 step, its whole schedule included (stage 2 tracks
`<method>.train`); its `logits` part by the logits stage (`<method>.logits`), so a post-hoc change
such as `-S tde.logits.alpha=2` re-runs only the logits stage and evaluation.
"""

import importlib
import math
import pkgutil
from dataclasses import dataclass
from functools import cache

from ltr.config.fields import Section, param
from ltr.config.sections import FineTuneConfig
from ltr.errors import LtrError


@dataclass(frozen=True)
class MethodSpec:
    params: type  # its params.yaml section, named like the method
    summary: str  # one line: what it does
    # the model directories (under data/models) whose training its final model carries; pretrain,
    # stage2 and experts/* are the stages it trains in, the others write their constant "unused" output
    trained_in: tuple[str, ...] = ("stage1",)
    # a template to copy (README, "Add a method"): registered and tested like any method, but not one of
    # the comparison's methods (`make report` leaves it out)
    template: bool = False

    def uses(self, stage: str) -> bool:
        """Whether the method trains in `stage` (pretrain, stage2, experts)."""
        return any(d == stage or d.startswith(f"{stage}/") for d in self.trained_in)


@cache
def method_names() -> tuple[str, ...]:
    """Every declared method, without importing any: the baseline first, then alphabetical (the order
    of error messages and tables)."""
    names = [m.name for m in pkgutil.iter_modules(__path__)]
    return tuple(sorted(names, key=lambda n: (n != "softmax", n)))


@cache
def spec(name: str) -> MethodSpec:
    return importlib.import_module(f"{__name__}.{name}").SPEC


def compared_methods() -> tuple[str, ...]:
    """The methods of the comparison (`make report`): every declared one but the templates."""
    return tuple(name for name in method_names() if not spec(name).template)


# -- what several declarations share ------------------------------------------------------------------


@dataclass(frozen=True)
class Empty(Section):
    """A section with nothing to set: the method has no such step."""


def check_number_or_auto(value, key: str, positive: bool = False) -> None:
    """A knob that is 'auto' (chosen on val) or a finite number >= 0 (> 0 when positive)."""
    bound = ">" if positive else ">="
    if isinstance(value, str):
        valid = value == "auto"
    else:
        valid = math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not valid:
        raise LtrError(f"params.yaml: {key} = {value!r} is not allowed; give a number {bound} 0 or 'auto'")


@dataclass(frozen=True)
class RetrainingTrain(FineTuneConfig):
    """cRT, LWS and SSP's classifier: a fine-tuning schedule and class-aware sampling."""

    samples_per_class: int = param(4, ge=1)  # class-aware sampling as in the released configs


@dataclass(frozen=True)
class RetrainingParams(Section):
    train: RetrainingTrain = param(RetrainingTrain())
    logits: Empty = param(Empty())
