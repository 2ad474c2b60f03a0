"""Image filters shared by the generator of the synthetic set and the batched augmentations."""

import torch
import torch.nn.functional as F


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """A separable Gaussian blur of float images (B, C, H, W), each with its own sigma (B,), reflected
    at the borders, `radius` taps either side (3 sigma covers the kernel)."""
    b, c = x.shape[:2]
    radius = min(radius, x.shape[2] - 1, x.shape[3] - 1)  # reflection needs a pad below the size
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=torch.float32)
    kernel = torch.exp(-(taps[None] ** 2) / (2 * sigma.to(x.device).clamp(min=1e-3)[:, None] ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, dim=0)  # (B*C, taps)
    flat = x.reshape(1, b * c, *x.shape[2:])
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="reflect"), kernel[:, None, None, :], groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="reflect"), kernel[:, None, :, None], groups=b * c)
    return flat.reshape_as(x)
