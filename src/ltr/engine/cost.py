"""Model cost per image: parameters and multiply-accumulates (TADE's tables list GMACs)."""

import torch
from torch.utils.flop_counter import FlopCounterMode


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
