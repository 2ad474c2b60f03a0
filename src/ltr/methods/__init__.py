"""Method implementations: `ltr.methods.<name>` for every method declared in `ltr.config.methods`.

A method module defines the steps of the stages it uses, each receiving the StageContext and the
method's own params section:

    logits(ctx, p) -> MethodOutput              the logits stage (every method)
    train_stage2(ctx, p, out)                   stage 2, if its spec trains in stage2
    train_expert(ctx, p, out, subset)           experts@<subset>, if it trains experts
    pretrain(ctx, p, out)                       pretrain, if it pre-trains

A stage imports only the module of the method in use, so a stage's code dependencies are that
module's imports (dvc.yaml names it as src/ltr/methods/${method}.py), not every method's.
"""

import importlib
from pathlib import Path
from types import ModuleType

from ltr.config import load_config, method_names
from ltr.layout import atomic_dir, write_manifest


def load_method(name: str) -> ModuleType:
    if name not in method_names():
        raise ValueError(f"unknown method {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def run_method_step(stage: str, directory: Path, live_dir: Path, step_name: str, *args, **manifest) -> None:
    """The main() of a stage in which a method trains (named as in dvc.yaml: pretrain, stage2,
    experts@few): the method's step(ctx, params, out, *args) writes `directory` and logs its training
    into `live_dir`. A method without that step gets the constant "unused" outputs instead, written
    before torch is imported and byte-identical every time, so that switching methods re-runs nothing
    after this stage."""
    cfg = load_config()
    if not cfg.spec.uses(stage.split("@")[0]):  # experts@few: DVC's name of a foreach stage
        with atomic_dir(directory) as out:
            write_manifest(out)
        return
    from ltr import processes
    from ltr.pipeline import StageContext

    processes.start(cfg.runtime)
    step = getattr(load_method(cfg.method), step_name)
    ctx = StageContext(cfg, stage, live_dir)
    with atomic_dir(directory) as out:
        told = step(ctx, cfg.method_params, out, *args) or {}  # what the next stages need to know
        write_manifest(out, used=True, method=cfg.method, **manifest, **told)
    ctx.finish()
    processes.shutdown()
