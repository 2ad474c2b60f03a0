"""A trained method to copy (README, "Add a method"): fine-tunes the whole stage-1 model in stage 2
with class-weighted cross-entropy, each class weighted by n_c ** -power (its training count),
normalised to a mean weight of 1: power 0 is plain cross-entropy, 1 inverse class frequency (the
re-weighting baseline of the long-tailed papers, e.g. Cui et al., CVPR 2019).

Your own: `ltr new-method <name> --from template_trained` copies this folder to src/ltr/methods/<name>/,
the one folder a method is; then change `class_weights` and `train_stage2`'s step.
"""

import torch
import torch.nn.functional as F

from ltr.engine.context import Context, MethodOutput
from ltr.methods.template_trained.params import TemplateTrainedParams


def class_weights(train_counts, power: float) -> torch.Tensor:
    weights = torch.as_tensor(train_counts, dtype=torch.float32) ** -power
    return weights * len(weights) / weights.sum()


def weighted_step(weights: torch.Tensor):
    """The training step: one batch to (loss, logits); the train loop does the rest (SGD, schedule,
    validation, best epoch, resume, logging)."""

    def step(model, x, y, epoch):
        logits = model(x)
        return F.cross_entropy(logits, y, weight=weights), logits

    return step


def train_stage2(ctx: Context, p: TemplateTrainedParams) -> None:
    """Stage 2: writes its model.pt (with the train section it used) for the logits step below."""
    weights = class_weights(ctx.data.meta["train_counts"], p.train.power).to(ctx.device)
    model = ctx.models.load("stage1")  # the stage-1 model, fine-tuned as a whole
    # starts_from: a changed stage-1 model never resumes from this stage's old state
    ctx.models.train(model, p.train, step=weighted_step(weights), starts_from=("stage1/model.pt",))


def logits(ctx: Context, p: TemplateTrainedParams) -> MethodOutput:
    """The logits stage: the stage-2 model's logits of every split list."""
    model = ctx.models.load("stage2")
    return MethodOutput(ctx.data.predict_splits(model), ctx.models.cost("stage2"))
