"""Batches of an in-memory uint8 image tensor, augmented on its own device.

Small data sets live on the device as one uint8 tensor; crops and flips are drawn for a whole batch
at once from a CPU generator seeded by (seed, epoch), so an epoch's batches are the same on CPU and
CUDA and after a resume.
"""

import math
from collections.abc import Iterator
from functools import partial

import torch
import torch.nn.functional as F

from ltr.data.filters import gaussian_blur
from ltr.data.views import SMALL_IMAGE_VIEWS, StrongView
from ltr.processes import local_slice

PAD = 4  # RandomCrop(32, padding=4) of the CIFAR recipes


def batch_starts(n: int, batch_size: int, drop_last: bool = False, min_last: int = 1) -> range:
    """Where each batch of an epoch of n images starts. A last, partial batch is kept, as the original
    code bases' DataLoaders keep it, unless drop_last or it holds fewer than min_last images (training
    keeps it from two images a process: BatchNorm cannot normalise one)."""
    tail = n % batch_size
    keep = tail == 0 or (not drop_last and tail >= min_last)
    return range(0, n if keep else n - tail, batch_size)


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


MAX_ROTATION = 15.0  # degrees: RandomRotation(15), after the crop and flip, in RIDE's and TADE's CIFAR recipe


def random_crop_flip_rotate(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """random_crop_flip, then a rotation about the centre by an angle uniform in +-MAX_ROTATION
    degrees, nearest-neighbour, the corners filled with zeros, as torchvision's RandomRotation(15)
    (the sign convention does not matter: the angle is symmetric). uint8 in, out."""
    x = random_crop_flip(images, gen)
    angle = (torch.rand(len(x), generator=gen) * 2 - 1) * math.radians(MAX_ROTATION)
    cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros(len(x))
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False).to(x.dtype)


def _uniform(gen: torch.Generator, n: int, low: float, high: float, device) -> torch.Tensor:
    return (low + (high - low) * torch.rand(n, generator=gen)).to(device)


def greyscale(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) luma of RGB batches, with PIL's weights (its convert("L"))."""
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]


def random_resized_crop_flip(images: torch.Tensor, gen: torch.Generator, scale: tuple[float, float]) -> torch.Tensor:
    """RandomResizedCrop (area fraction in `scale`, aspect ratio 3/4-4/3, log-uniform) back to the input
    size with bilinear sampling, then a random horizontal flip; a crop that would not fit is clipped
    to the image (torchvision retries instead). uint8 in, float 0-255 out."""
    b, c, h, w = images.shape
    area = _uniform(gen, b, *scale, "cpu")
    ratio = torch.exp(_uniform(gen, b, math.log(3 / 4), math.log(4 / 3), "cpu"))
    width, height = (area * ratio).sqrt().clamp(max=1.0), (area / ratio).sqrt().clamp(max=1.0)
    cx = width / 2 + torch.rand(b, generator=gen) * (1 - width)  # crop centre, as a fraction of the image
    cy = height / 2 + torch.rand(b, generator=gen) * (1 - height)
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = width * flip, 2 * cx - 1
    theta[:, 1, 1], theta[:, 1, 2] = height, 2 * cy - 1
    grid = F.affine_grid(theta.to(images.device), [b, c, h, w], align_corners=False)
    return F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)


def strong_augment(images: torch.Tensor, gen: torch.Generator, view: StrongView) -> torch.Tensor:
    """A strong view (ltr.data.views) drawn per image for a whole batch: the crop and flip, colour
    jitter with p view.jitter_p, greyscale with p view.grey_p, Gaussian blur with p view.blur_p (the
    flip commutes with the rest, so it comes with the crop). uint8 in, float 0-255 out."""
    dev, b = images.device, len(images)
    if view.crop == "pad":
        x = random_crop_flip(images, gen).float() / 255
    else:
        x = random_resized_crop_flip(images, gen, view.crop_scale) / 255

    def per_image(values):
        return values.view(b, 1, 1, 1)

    def happens(p):
        return per_image((torch.rand(b, generator=gen) < p).to(dev).float())

    strength_b, strength_c, strength_s, strength_h = view.jitter
    jitter = happens(view.jitter_p)
    brightness = per_image(_uniform(gen, b, 1 - strength_b, 1 + strength_b, dev))
    contrast = per_image(_uniform(gen, b, 1 - strength_c, 1 + strength_c, dev))
    saturation = per_image(_uniform(gen, b, 1 - strength_s, 1 + strength_s, dev))
    hue = _uniform(gen, b, -strength_h, strength_h, dev) * 2 * torch.pi
    y = (x * brightness).clamp(0, 1)
    mean = greyscale(y).mean(dim=(2, 3), keepdim=True)
    y = ((y - mean) * contrast + mean).clamp(0, 1)
    y = (greyscale(y) + (y - greyscale(y)) * saturation).clamp(0, 1)
    # hue: rotate the chroma plane of YIQ
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=dev)
    yiq = torch.einsum("ij,bjhw->bihw", to_yiq, y)
    cos, sin = torch.cos(hue).view(b, 1, 1), torch.sin(hue).view(b, 1, 1)
    i, q = yiq[:, 1], yiq[:, 2]
    yiq = torch.stack([yiq[:, 0], cos * i - sin * q, sin * i + cos * q], dim=1)
    y = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(to_yiq), yiq).clamp(0, 1)
    x = jitter * y + (1 - jitter) * x
    grey = happens(view.grey_p)
    x = grey * greyscale(x).expand_as(x) + (1 - grey) * x
    blur = happens(view.blur_p)
    sigma = _uniform(gen, b, *view.blur_sigma, dev)
    return 255 * (blur * gaussian_blur(x, sigma, BLUR_RADIUS) + (1 - blur) * x)


def normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(x - mean) / std of 0-255 batches, mean and std on that scale; channels_last: about 25% faster on
    2 CPU cores for these ResNets, and the fast layout on CUDA."""
    return ((x.float() - mean) / std).contiguous(memory_format=torch.channels_last)


BLUR_RADIUS = 6  # taps either side: 3 sigma at the largest sigma, 2
AUGMENTS = {
    "none": None,
    "crop_flip": random_crop_flip,
    "crop_flip_rotate": random_crop_flip_rotate,
    **{name: partial(strong_augment, view=view) for name, view in SMALL_IMAGE_VIEWS.items()},
}


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
        min_last: int = 1,
        seed: int = 0,
        sampler=None,
    ):
        self.images, self.labels = images, labels
        self.batch_size, self.drop_last, self.min_last, self.seed = batch_size, drop_last, min_last, seed
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
        return len(batch_starts(n, self.batch_size, self.drop_last, self.min_last))

    def epoch(self, epoch: int = 0, views: int = 1, part: bool = False) -> Iterator[tuple]:
        """(x, y) batches; with views > 1, ([x_1, ..., x_views], y): independent augmentations of the
        same images (TADE's test-time self-supervision); with part, this process's slice of each batch
        (data-parallel training), augmented as the whole batch is, so the slices add up to it."""
        gen = epoch_generator(self.seed, epoch)
        order = self._order(gen).to(self.images.device)
        for start in batch_starts(len(order), self.batch_size, self.drop_last, self.min_last):
            idx = order[start : start + self.batch_size]
            mine = local_slice(len(idx)) if part else slice(None)
            raw = self.images[idx]
            xs = [
                normalise((self.augment(raw, gen) if self.augment else raw)[mine], self.mean, self.std)
                for _ in range(views)
            ]
            yield (xs[0] if views == 1 else xs), self.labels[idx][mine]
