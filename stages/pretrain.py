"""Stage pretrain: self-supervised pre-training for methods that use it, otherwise the constant
"unused" manifest (params: method)."""

from ltr.layout import PRETRAIN, atomic_dir, run_stage, write_manifest
from ltr.methods import METHODS
from ltr.pipeline import StageContext


def main():
    ctx = StageContext.load("pretrain")
    method = METHODS[ctx.cfg.method]
    with atomic_dir(PRETRAIN) as out:
        if method.pretrain is None:
            write_manifest(out)
        else:
            method.pretrain(ctx, out)
            write_manifest(out, used=True, method=method.name)
    ctx.finish()


if __name__ == "__main__":
    run_stage(main)
