"""Balanced Softmax (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS
2020): trained from scratch in stage 2, under stage 1's schedule (its `train` section repeats it) so
that it compares with softmax at equal cost, with the training prior added to the logits inside the
loss; predicts with the plain logits."""

from ltr.engine.context import Context, MethodOutput
from ltr.losses.balanced_softmax import BalancedSoftmaxLoss
from ltr.methods.balanced_softmax.params import BalancedSoftmaxParams


def train_stage2(ctx: Context, p: BalancedSoftmaxParams) -> None:
    loss = BalancedSoftmaxLoss(ctx.data.prior())

    def step(model, x, y, epoch):
        logits = model(x)
        return loss(logits, y), logits

    ctx.models.train(ctx.models.new(), p.train, step=step)


def logits(ctx: Context, p: BalancedSoftmaxParams) -> MethodOutput:
    model = ctx.models.load("stage2")
    return MethodOutput(ctx.data.predict_splits(model), ctx.models.cost("stage2"))
