"""Device, precision and seeding, the same code on CPU and CUDA."""

import random
from contextlib import nullcontext

import numpy as np
import torch

from ltr.config import RuntimeConfig
from ltr.errors import LtrError


def resolve_device(runtime: RuntimeConfig) -> torch.device:
    if runtime.device == "cuda" and not torch.cuda.is_available():
        raise LtrError("runtime.device = 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    if runtime.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(runtime.device)


def use_threads(runtime: RuntimeConfig) -> None:
    """torch's CPU threads from runtime.threads: a sum split over n threads adds in another order than
    over m, so a training run's weights depend on the count (the forward pass alone does not here)."""
    torch.set_num_threads(runtime.threads)


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on CUDA; on CPU full precision, which is faster there for these small models."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
