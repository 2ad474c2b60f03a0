"""Stage experts@<subset>: a class-balanced expert on the many, medium or few-shot classes for
methods that use experts, otherwise the constant "unused" manifest."""

import sys

from ltr.errors import LtrError
from ltr.layout import EXPERT_SUBSETS, EXPERTS, atomic_dir, run_stage, write_manifest
from ltr.methods import METHODS
from ltr.pipeline import StageContext


def main():
    subset = sys.argv[1] if len(sys.argv) == 2 else None
    if subset not in EXPERT_SUBSETS:
        raise LtrError(f"usage: python stages/experts.py SUBSET, with SUBSET one of: {', '.join(EXPERT_SUBSETS)}")
    ctx = StageContext.load(f"experts-{subset}")
    method = METHODS[ctx.cfg.method]
    with atomic_dir(EXPERTS / subset) as out:
        if method.train_expert is None:
            write_manifest(out)
        else:
            method.train_expert(ctx, subset, out)
            write_manifest(out, used=True, method=method.name, subset=subset)
    ctx.finish()


if __name__ == "__main__":
    run_stage(main)
