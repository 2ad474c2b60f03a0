"""Stage stage2: the method's own training, or the constant "unused" manifest (params: seed, method,
model, stage2, runtime and the method's section)."""

from ltr.layout import STAGE2, atomic_dir, run_stage, write_manifest
from ltr.methods import METHODS
from ltr.pipeline import StageContext


def main():
    ctx = StageContext.load("stage2")
    method = METHODS[ctx.cfg.method]
    with atomic_dir(STAGE2) as out:
        if method.train_stage2 is None:
            write_manifest(out)
        else:
            method.train_stage2(ctx, out)
            write_manifest(out, used=True, method=method.name)
    ctx.finish()


if __name__ == "__main__":
    run_stage(main)
