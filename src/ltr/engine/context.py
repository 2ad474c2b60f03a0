"""What a method's step receives, beside its own params section: the run's seed and device, its data
(ctx.data: split lists, batches, the prior, predictions) and models (ctx.models: checkpoints by stage
name, new models, training, the stage's output), and a log. The stage layer (ltr.pipeline) builds it
from params.yaml, so that a step reads no param but its section's, and builds no path, device or loader.

    logits(ctx, p) -> MethodOutput              the logits stage (every method)
    train_stage2(ctx, p)                        stage 2, if the method trains there
    train_expert(ctx, p, subset)                experts@<subset>, if it trains experts
    pretrain(ctx, p, pretrain) -> dict          pretrain, if it pre-trains (pretrain: the shared section)
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from ltr.engine.data import Data
from ltr.engine.models import Models
from ltr.engine.train import Log


@dataclass
class Context:
    seed: int  # the training seed: model init, batch order, augmentation
    device: torch.device
    data: Data
    models: Models
    log: Log


@dataclass
class MethodOutput:
    """What a method's logits step returns: logits (N x C) for every split list, the cost of its model
    (ctx.models.cost), and what it chose or learned at this step (e.g. tau-norm's tau), reported in
    metrics/method.json."""

    logits: dict[str, np.ndarray]
    cost: dict
    info: dict = field(default_factory=dict)
