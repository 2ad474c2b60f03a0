"""Balanced Softmax (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS
2020): trained from scratch in stage 2, under stage 1's schedule (its `train` section repeats it) so
that it compares with softmax at equal cost, with the training prior added to the logits inside the
loss; predicts with the plain logits."""

from ltr.layout import STAGE2
from ltr.losses.balanced_softmax import BalancedSoftmaxLoss
from ltr.pipeline import MethodOutput


def train_stage2(ctx, p, out) -> None:
    loss = BalancedSoftmaxLoss(ctx.prior())

    def step(model, x, y, epoch):
        logits = model(x)
        return loss(logits, y), logits

    ctx.train_and_save(out, ctx.new_model(), p.train, step=step)


def logits(ctx, p) -> MethodOutput:
    model = ctx.load_model(STAGE2)
    return MethodOutput(ctx.predict_splits(model), ctx.cost(STAGE2))
