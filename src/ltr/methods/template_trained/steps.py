"""A trained method to copy (README, "Add a method"): fine-tunes the whole stage-1 model in stage 2
with class-weighted cross-entropy, each class weighted by n_c ** -power (its training count),
normalised to a mean weight of 1: power 0 is plain cross-entropy, 1 inverse class frequency (the
re-weighting baseline of the long-tailed papers, e.g. Cui et al., CVPR 2019).

Your own: copy this file and src/ltr/config/methods/template_trained.py to <name>.py, copy its
params.yaml section to <name>:, and change `class_weights` and `train_stage2`'s step.
"""

import torch
import torch.nn.functional as F

from ltr.layout import STAGE1, STAGE2
from ltr.pipeline import MethodOutput


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


def train_stage2(ctx, p, out) -> None:
    """Stage 2: writes out/model.pt (with the train section it used) for the logits step below."""
    weights = class_weights(ctx.meta["train_counts"], p.train.power).to(ctx.device)
    model = ctx.load_model(STAGE1)  # the stage-1 model, fine-tuned as a whole
    # key_files: a changed stage-1 model never resumes from this stage's old state
    ctx.train_and_save(out, model, p.train, step=weighted_step(weights), key_files=(STAGE1 / "model.pt",))


def logits(ctx, p) -> MethodOutput:
    """The logits stage: the stage-2 model's logits of every split list."""
    model = ctx.load_model(STAGE2)
    return MethodOutput(ctx.predict_splits(model), ctx.cost(STAGE2))
