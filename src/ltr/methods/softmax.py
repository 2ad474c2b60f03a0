"""Softmax: plain cross-entropy with instance-balanced sampling, the baseline of every long-tailed
paper (e.g. "Joint" in Kang et al., ICLR 2020). It is the shared stage-1 model, used as is."""

from dataclasses import dataclass

from ltr.config import param
from ltr.layout import STAGE1
from ltr.methods import Method, NoSettings
from ltr.pipeline import MethodOutput


@dataclass(frozen=True)
class SoftmaxParams:
    """No settings of its own: stage1.* trains it."""

    train: NoSettings = param(NoSettings())


def logits(ctx) -> MethodOutput:
    model = ctx.load_model(STAGE1)
    return MethodOutput(ctx.predict_splits(model), ctx.cost(model))


METHOD = Method(
    name="softmax",
    summary="cross-entropy baseline: the stage-1 model as is",
    params_cls=SoftmaxParams,
    logits=logits,
)
