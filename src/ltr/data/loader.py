"""Batches of an in-memory uint8 image tensor, augmented on its own device.

Small data sets live on the device as one uint8 tensor; crops and flips are drawn for a whole batch
at once from a CPU generator seeded by (seed, epoch), so an epoch's batches are the same on CPU and
CUDA and after a resume.
"""

from collections.abc import Iterator

import torch
import torch.nn.functional as F

PAD = 4  # RandomCrop(32, padding=4) of the CIFAR recipes


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def random_crop_flip(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Zero-padded random crop back to the input size, then a random horizontal flip (uint8 in, out)."""
    b, c, h, w = images.shape
    padded = F.pad(images, (PAD, PAD, PAD, PAD))
    dev = images.device
    oy = torch.randint(0, 2 * PAD + 1, (b,), generator=gen).to(dev)
    ox = torch.randint(0, 2 * PAD + 1, (b,), generator=gen).to(dev)
    flip = (torch.rand(b, generator=gen) < 0.5).to(dev)
    rows = (oy[:, None] + torch.arange(h, device=dev))[:, None, :, None]
    cols = ox[:, None] + torch.arange(w, device=dev)
    cols = torch.where(flip[:, None], cols.flip(1), cols)[:, None, None, :]
    return padded[
        torch.arange(b, device=dev)[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None], rows, cols
    ]


AUGMENTS = {"none": None, "crop_flip": random_crop_flip}


class TensorBatches:
    """Yields normalised float batches (x, y) for one epoch at a time.

    A sampler is called as sampler(gen) -> indices of one epoch and has `num_samples`; without one an
    epoch is a random permutation when shuffling and the identity otherwise. Class-aware and
    class-balanced samplers plug in here.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        batch_size: int,
        mean,
        std,
        augment: str = "none",
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        sampler=None,
    ):
        self.images, self.labels = images, labels
        self.batch_size, self.drop_last, self.seed = batch_size, drop_last, seed
        self.augment = AUGMENTS[augment]
        self.shuffle, self.sampler = shuffle, sampler
        dev = images.device
        self.mean = torch.tensor(mean, device=dev).view(1, -1, 1, 1) * 255
        self.std = torch.tensor(std, device=dev).view(1, -1, 1, 1) * 255

    def _order(self, gen: torch.Generator) -> torch.Tensor:
        if self.sampler is not None:
            return self.sampler(gen)
        n = len(self.labels)
        return torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)

    def num_batches(self) -> int:
        n = self.sampler.num_samples if self.sampler is not None else len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch(self, epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        gen = epoch_generator(self.seed, epoch)
        order = self._order(gen).to(self.images.device)
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            x = self.images[idx]
            if self.augment is not None:
                x = self.augment(x, gen)
            # channels_last: about 25% faster on 2 CPU cores for these ResNets, and the fast layout on CUDA
            x = ((x.float() - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
            yield x, self.labels[idx]
