"""Softmax: plain cross-entropy with instance-balanced sampling, the baseline of every long-tailed
paper (e.g. "Joint" in Kang et al., ICLR 2020). It is the shared stage-1 model, used as is: its
logits are the ones stage 1 wrote for every split list."""

from ltr.engine.context import Context, MethodOutput
from ltr.methods.softmax.params import SoftmaxParams


def logits(ctx: Context, p: SoftmaxParams) -> MethodOutput:
    out = {split: z for split, (z, _) in ctx.models.stage1_predictions().items()}
    return MethodOutput(out, ctx.models.cost("stage1"))
