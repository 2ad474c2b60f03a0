"""Model cost per image: parameters and multiply-accumulates (TADE's tables list GMACs)."""

import torch
from torch.utils.flop_counter import FlopCounterMode

from ltr.models import count_parameters


@torch.no_grad()
def macs_per_image(model: torch.nn.Module, image_size: int, forward=None) -> float:
    """Multiply-accumulates of one forward pass on one image (half of the counted FLOPs)."""
    device = next(model.parameters()).device
    x = torch.zeros(1, 3, image_size, image_size, device=device).contiguous(memory_format=torch.channels_last)
    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter:
        (forward or model)(x)
    model.train(was_training)
    return counter.get_total_flops() / 2


def measure(model: torch.nn.Module, image_size: int) -> dict:
    """Parameters and multiply-accumulates per image of a model's forward pass."""
    return {"params": count_parameters(model), "macs": macs_per_image(model, image_size)}


def total(costs: list[dict]) -> dict:
    """The cost of models that make a prediction together: every one sees the image."""
    return {"params": sum(c["params"] for c in costs), "macs": sum(c["macs"] for c in costs)}
