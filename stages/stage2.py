"""Stage stage2: the method's own training, or the constant "unused" manifest (params: seed, method,
model, stage2, runtime and the method's section)."""

from ltr.layout import STAGE2, run_stage
from ltr.methods import METHODS, run_method_step
from ltr.pipeline import StageContext


def main():
    ctx = StageContext.load("stage2")
    run_method_step(ctx, STAGE2, METHODS[ctx.cfg.method].train_stage2)


if __name__ == "__main__":
    run_stage(main, trains=True)
