"""Stage experts@<subset>: a class-balanced expert on the many, medium or few-shot classes for
methods that use experts, otherwise the constant "unused" manifest (params: method, seed, model, the
experts' thresholds and this expert's section, logits.batch_size, runtime)."""

import sys

from ltr.errors import LtrError
from ltr.layout import EXPERT_SUBSETS, EXPERTS, LIVE
from ltr.method_stage import run_method_step
from ltr.runner import run_stage


def main():
    subset = sys.argv[1] if len(sys.argv) == 2 else None
    if subset not in EXPERT_SUBSETS:
        raise LtrError(f"usage: python stages/experts.py SUBSET, with SUBSET one of: {', '.join(EXPERT_SUBSETS)}")
    run_method_step(
        f"experts@{subset}", EXPERTS / subset, LIVE / "experts" / subset, "train_expert", subset, subset=subset
    )


if __name__ == "__main__":
    run_stage(main)
