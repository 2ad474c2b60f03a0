"""Stage pretrain: self-supervised pre-training for methods that use it, otherwise the constant
"unused" manifest (params: method)."""

from ltr.layout import PRETRAIN, run_stage
from ltr.methods import METHODS, run_method_step
from ltr.pipeline import StageContext


def main():
    ctx = StageContext.load("pretrain")
    run_method_step(ctx, PRETRAIN, METHODS[ctx.cfg.method].pretrain)


if __name__ == "__main__":
    run_stage(main, trains=True)
