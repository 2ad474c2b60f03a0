"""The main() of the stages in which a method trains: pretrain, stage2 and experts@<subset>.

Torch-free at import: a stage the method does not train in writes its constant "unused" output having
read `method` alone, so that switching methods re-runs nothing after it.
"""

from pathlib import Path

from ltr import methods
from ltr.config import load_config
from ltr.layout import atomic_dir, write_manifest


def run_method_step(
    stage: str, directory: Path, live_dir: Path, step_name: str, *args, shared: tuple[str, ...] = (), **manifest
) -> None:
    """The stage `stage` (named as in dvc.yaml: pretrain, stage2, experts@few): the method's
    step(ctx, p, *args, *shared sections) writes `directory` and logs its training into `live_dir`;
    `shared` names the top-level params sections the step receives after `args` (pretrain's step: the
    pretrain section). A method without that step gets the constant "unused" outputs instead, written
    before torch is imported and byte-identical every time."""
    cfg = load_config()
    if not methods.spec(cfg.method).uses(stage.split("@")[0]):  # experts@few: DVC's name of a foreach stage
        with atomic_dir(directory) as out:
            write_manifest(out)
        return
    from ltr import processes
    from ltr.pipeline import stage_context

    processes.start(cfg.runtime)
    step = getattr(methods.steps(cfg.method), step_name)
    with atomic_dir(directory) as out:
        ctx = stage_context(cfg, stage, out, live_dir)
        told = step(ctx, methods.section(cfg), *args, *(getattr(cfg, s) for s in shared)) or {}
        write_manifest(out, used=True, method=cfg.method, **manifest, **told)  # told: what the next stages need
    ctx.models.finish()
    processes.shutdown()
