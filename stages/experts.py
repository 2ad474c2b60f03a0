"""Stage experts@<subset>: a class-balanced expert on the many, medium or few-shot classes for
methods that use experts, otherwise the constant "unused" manifest."""

import sys

from ltr.errors import LtrError
from ltr.layout import EXPERT_SUBSETS, EXPERTS, run_stage
from ltr.methods import METHODS, run_method_step
from ltr.pipeline import StageContext


def main():
    subset = sys.argv[1] if len(sys.argv) == 2 else None
    if subset not in EXPERT_SUBSETS:
        raise LtrError(f"usage: python stages/experts.py SUBSET, with SUBSET one of: {', '.join(EXPERT_SUBSETS)}")
    ctx = StageContext.load(f"experts-{subset}")
    run_method_step(ctx, EXPERTS / subset, METHODS[ctx.cfg.method].train_expert, subset, subset=subset)


if __name__ == "__main__":
    run_stage(main, trains=True)
