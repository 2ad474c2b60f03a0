"""Balanced Softmax (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS
2020): trained from scratch in stage 2, under the stage-1 schedule so that it compares with softmax
at equal cost, with the training prior added to the logits inside the loss; predicts with the plain
logits."""

from dataclasses import dataclass

from ltr.config import param
from ltr.layout import STAGE2
from ltr.losses.balanced_softmax import BalancedSoftmaxLoss
from ltr.methods import Method, NoSettings
from ltr.pipeline import MethodOutput


@dataclass(frozen=True)
class BalancedSoftmaxParams:
    """No settings of its own: stage1.* is its schedule."""

    train: NoSettings = param(NoSettings())


def train_stage2(ctx, out) -> None:
    loss = BalancedSoftmaxLoss(ctx.prior())

    def step(model, x, y, epoch):
        logits = model(x)
        return loss(logits, y), logits

    ctx.train_and_save(out, ctx.new_model(), ctx.cfg.stage1, step=step)


def logits(ctx) -> MethodOutput:
    model = ctx.load_model(STAGE2)
    return MethodOutput(ctx.predict_splits(model), ctx.cost(model))


METHOD = Method(
    name="balanced_softmax",
    summary="trains from scratch with the training prior added to the logits in the loss",
    params_cls=BalancedSoftmaxParams,
    logits=logits,
    train_stage2=train_stage2,
    trained_in=("stage2",),
)
