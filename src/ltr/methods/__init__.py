"""The methods, one folder each: `<name>/params.py` declares it (torch-free: its params section and
`SPEC`, the stages it trains in), `<name>/steps.py` implements it (the functions its stages call);
`shared/` holds what several of them share. This module is the registry: it finds the methods by
their folders and loads a method's declaration or steps by name, so that a stage loads the method
in use only (dvc.yaml names its folder as src/ltr/methods/${method}). Torch-free.

A method's section is params.yaml's key of its name, or its declaration's defaults where params.yaml
has none: `train`, read by its stage-2 step, and `logits`, read by its logits step. check_params writes
the section of the method in use to data/method_params.yaml, where stage 2 tracks `<method>.train` and
the logits stage `<method>.logits`, so that a post-hoc change such as `-S tde.logits.alpha=2` re-runs
only the logits stage and evaluation.
"""

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from ltr.config import SECTIONS, Config, Section, build_section
from ltr.config.fields import check_shared_schedules
from ltr.errors import LtrError

SHARED = "shared"  # the folder of what several methods share: not a method


@dataclass(frozen=True)
class MethodSpec:
    params: type  # its params.yaml section, named like the method
    summary: str  # one line: what it does (with `paper`, params.yaml's comment on its section)
    # the model directories (under data/models) whose training its final model carries; pretrain,
    # stage2 and experts/* are the stages it trains in, the others write their constant "unused" output
    trained_in: tuple[str, ...] = ("stage1",)
    # a template to copy (README, "Add a method"): registered and tested like any method, but not one of
    # the comparison's methods (`make report` leaves it out)
    template: bool = False
    paper: str = ""  # the original: authors, venue and year

    def uses(self, stage: str) -> bool:
        """Whether the method trains in `stage` (pretrain, stage2, experts)."""
        return any(d == stage or d.startswith(f"{stage}/") for d in self.trained_in)


@cache
def method_names() -> tuple[str, ...]:
    """Every method folder, without importing any: the baseline first, then alphabetical (the order
    of error messages and tables)."""
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.ispkg and m.name != SHARED]
    return tuple(sorted(names, key=lambda n: (n != "softmax", n)))


def _known(name: str) -> str:
    if name not in method_names():
        raise LtrError(f"params.yaml: method = {name!r} is not registered; choose one of: {', '.join(method_names())}")
    return name


@cache
def spec(name: str) -> MethodSpec:
    """The method's declaration (its params.py, torch-free)."""
    return importlib.import_module(f"{__name__}.{_known(name)}.params").SPEC


def steps(name: str) -> ModuleType:
    """The method's steps (its steps.py): logits, and train_stage2 / train_expert / pretrain where it trains."""
    return importlib.import_module(f"{__name__}.{_known(name)}.steps")


def compared_methods() -> tuple[str, ...]:
    """The methods of the comparison (`make report`): every registered one but the templates."""
    return tuple(name for name in method_names() if not spec(name).template)


def section(cfg: Config, name: str | None = None) -> Section:
    """The params section of method `name` (default: the method in use), validated as it is built."""
    name = _known(cfg.method if name is None else name)
    return build_section(spec(name).params, cfg.method_sections.get(name), name)


def check_all(cfg: Config) -> Config:
    """cfg, after checking what only the registry knows: every top-level key is a shared section or a
    method's, the method is registered, and every method's section is valid (the methods not in use
    too): what check_params and the presets check."""
    allowed = ["method", "seed", "schedules", *SECTIONS, *method_names()]
    unknown = sorted(set(cfg.method_sections) - set(method_names()))
    if unknown:
        raise LtrError(f"params.yaml: unknown key '{unknown[0]}'; top-level keys allowed: {', '.join(allowed)}")
    for name in method_names():
        section(cfg, name)
    check_shared_schedules(cfg.schedules)  # after every declaration is loaded: the methods declare some
    _known(cfg.method)
    return cfg
