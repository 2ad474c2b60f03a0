"""The main() of the stages in which a method trains: pretrain, stage2 and experts@<subset>.

Torch-free at import: a stage the method does not train in writes its constant "unused" output having
read `method` alone, so that switching methods re-runs nothing after it.
"""

from pathlib import Path

from ltr import methods
from ltr.config import load_config
from ltr.layout import atomic_dir, write_manifest


def run_method_step(stage: str, directory: Path, live_dir: Path, step_name: str, *args, **manifest) -> None:
    """The stage `stage` (named as in dvc.yaml: pretrain, stage2, experts@few): the method's
    step(ctx, params, out, *args) writes `directory` and logs its training into `live_dir`. A method
    without that step gets the constant "unused" outputs instead, written before torch is imported and
    byte-identical every time."""
    cfg = load_config()
    if not methods.spec(cfg.method).uses(stage.split("@")[0]):  # experts@few: DVC's name of a foreach stage
        with atomic_dir(directory) as out:
            write_manifest(out)
        return
    from ltr import processes
    from ltr.pipeline import StageContext

    processes.start(cfg.runtime)
    step = getattr(methods.steps(cfg.method), step_name)
    ctx = StageContext(cfg, stage, live_dir)
    with atomic_dir(directory) as out:
        told = step(ctx, methods.section(cfg), out, *args) or {}  # what the next stages need to know
        write_manifest(out, used=True, method=cfg.method, **manifest, **told)
    ctx.finish()
    processes.shutdown()
