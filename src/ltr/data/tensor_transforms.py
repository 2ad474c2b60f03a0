"""The image-list transforms of ltr.data.image_loader (torchvision's, applied to PIL images in
DataLoader workers) applied instead to decoded uint8 tensors on the training device: the path of
`runtime.decode: device`, where JPEGs are decoded on the GPU.

Each image's parameters are drawn from its own generator with torchvision's calls in torchvision's
order (RandomResizedCrop's ten tries, the flip, ColorJitter's random order and factors, RandomApply,
RandomGrayscale, the blur's sigma), so a generator seeded like torch's global one draws what
torchvision's Compose draws (tests/test_device_decode.py). Every image is then cropped and resized on
its own (images differ in size) and rounded to uint8, as PIL does; the flip, jitter, greyscale and
blur run on the stacked batch in float, where PIL rounds to uint8 after every operation: the two
paths differ by about a grey level, more where PIL's 8-bit HSV image quantises the hue shift
(measured in tests/test_device_decode.py).
"""

import math
from dataclasses import dataclass

import torch

from ltr.data.filters import gaussian_blur
from ltr.data.loader import greyscale
from ltr.data.views import BLUR_KERNEL, LARGE_IMAGE_VIEWS, TRAIN_CROP_SCALE, TRAIN_JITTER

RATIO = (3 / 4, 4 / 3)  # RandomResizedCrop's aspect ratios


@dataclass
class Draw:
    """One image's random transform; `box` (top, left, height, width) is None at test time."""

    box: tuple[int, int, int, int] | None = None
    flip: bool = False
    jitter_order: tuple[int, ...] = ()  # ColorJitter's fn_idx, empty when no jitter applies
    # brightness, contrast, saturation and hue factors; None: that operation is off (strength 0)
    jitter: tuple[float | None, ...] = (None, None, None, None)
    grey: bool = False
    blur_sigma: float = 0.0  # 0: no blur


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return float(torch.empty(1).uniform_(low, high, generator=gen))


def _happens(gen: torch.Generator, p: float, apply_when_equal: bool = False) -> bool:
    """torchvision's coin: `torch.rand(1) < p` (flip, greyscale); RandomApply's is `not p < rand`."""
    r = torch.rand(1, generator=gen)
    return bool(not p < r) if apply_when_equal else bool(r < p)


def resized_crop_box(gen: torch.Generator, height: int, width: int, scale) -> tuple[int, int, int, int]:
    """RandomResizedCrop.get_params: ten tries of an area fraction and a log-uniform aspect ratio that
    fit the image, else the central crop of the nearest allowed ratio."""
    area = height * width
    log_ratio = torch.log(torch.tensor(RATIO))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1], generator=gen).item()
        aspect_ratio = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1], generator=gen)).item()
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            i = torch.randint(0, height - h + 1, size=(1,), generator=gen).item()
            j = torch.randint(0, width - w + 1, size=(1,), generator=gen).item()
            return i, j, h, w
    in_ratio = width / height
    if in_ratio < min(RATIO):
        w, h = width, int(round(width / min(RATIO)))
    elif in_ratio > max(RATIO):
        w, h = int(round(height * max(RATIO))), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def _jitter_draw(gen: torch.Generator, strengths) -> tuple[tuple[int, ...], tuple[float | None, ...]]:
    """ColorJitter.get_params: the random order of the four operations, then each factor that is on."""
    order = tuple(torch.randperm(4, generator=gen).tolist())
    b, c, s, h = strengths
    factors = [_uniform(gen, max(0.0, 1 - v), 1 + v) if v else None for v in (b, c, s)]
    return order, (*factors, _uniform(gen, -h, h) if h else None)


class TensorTransform:
    """image_transform(augment, size, resize) of ltr.data.image_loader, on tensors: draw(gen, h, w)
    one image's parameters, crop(image, draw) its float (3, size, size) crop, finish(batch, draws)
    the rest on the batch. Values on a 0-255 scale, not normalised."""

    def __init__(self, augment: str, size: int, resize: int):
        self.augment, self.size, self.resize = augment, size, resize
        self.view = LARGE_IMAGE_VIEWS.get(augment)
        if self.view is not None and self.view.crop != "resized":
            raise ValueError(f"view {augment!r}: only RandomResizedCrop views run on the device")
        if self.view is None and augment not in ("none", "crop_flip"):
            raise ValueError(f"unknown augment {augment!r}")

    def draw(self, gen: torch.Generator, height: int, width: int) -> Draw:
        """In the order of image_transform's Compose."""
        if self.augment == "none":
            return Draw()
        if self.view is None:  # crop_flip: crop, flip, jitter
            box = resized_crop_box(gen, height, width, TRAIN_CROP_SCALE)
            flip = _happens(gen, 0.5)
            return Draw(box, flip, *_jitter_draw(gen, TRAIN_JITTER))
        # a strong view: crop, RandomApply(jitter), RandomGrayscale, RandomApply(blur), flip
        view = self.view
        box = resized_crop_box(gen, height, width, view.crop_scale)
        order, factors = _jitter_draw(gen, view.jitter) if _happens(gen, view.jitter_p, True) else ((), Draw.jitter)
        grey = _happens(gen, view.grey_p)
        sigma = _uniform(gen, *view.blur_sigma) if _happens(gen, view.blur_p, True) else 0.0
        return Draw(box, _happens(gen, 0.5), order, factors, grey, sigma)

    def crop(self, image: torch.Tensor, draw: Draw) -> torch.Tensor:
        """uint8 (3, H, W) -> float (3, size, size): RandomResizedCrop's crop, or Resize + CenterCrop."""
        from torchvision.transforms.v2 import functional as TF

        # resized as uint8 and rounded, as PIL resizes (on CPU torchvision's fast uint8 path; CUDA
        # resizes in float and rounds)
        if draw.box is None:
            x = TF.center_crop(TF.resize(image, [self.resize], antialias=True), [self.size, self.size])
        else:
            x = TF.resized_crop(image, *draw.box, [self.size, self.size], antialias=True)
        return x.float()

    def finish(self, x: torch.Tensor, draws: list[Draw]) -> torch.Tensor:
        """Flip, colour jitter, greyscale and blur of a batch of crops (B, 3, size, size), 0-255 floats;
        each operation touches only the images it applies to."""
        if self.augment == "none":
            return x
        x = x / 255

        def rows(flags) -> torch.Tensor:
            return torch.tensor(flags, dtype=torch.bool).nonzero().flatten().to(x.device)

        flip = rows([d.flip for d in draws])
        x[flip] = x[flip].flip(-1)
        identity = (1.0, 1.0, 1.0, 0.0)
        factors = [[identity[i] if f is None else f for i, f in enumerate(d.jitter)] for d in draws]
        factors = torch.tensor(factors, device=x.device, dtype=x.dtype)
        for k in range(4):  # the k-th operation of every image's own order
            for op, adjust in enumerate(ADJUST):
                chosen = rows(
                    [bool(d.jitter_order) and d.jitter_order[k] == op and d.jitter[op] is not None for d in draws]
                )
                if len(chosen):
                    x[chosen] = adjust(x[chosen], factors[chosen, op].view(-1, 1, 1, 1))
        grey = rows([d.grey for d in draws])
        x[grey] = greyscale(x[grey]).expand(-1, 3, -1, -1)
        blur = rows([d.blur_sigma > 0 for d in draws])
        if len(blur):
            sigma = torch.tensor([d.blur_sigma for d in draws], device=x.device)[blur]
            x[blur] = gaussian_blur(x[blur], sigma, radius=BLUR_KERNEL // 2)
        return 255 * x


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """factor * x + (1 - factor) * other in [0, 1], torchvision's (and PIL's) blend."""
    return torch.lerp(other, x, factor).clamp_(0, 1)


def adjust_brightness(x, factor):
    return (x * factor).clamp_(0, 1)


def adjust_contrast(x, factor):
    return _blend(x, greyscale(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x), factor)


def adjust_saturation(x, factor):
    return _blend(x, greyscale(x).expand_as(x), factor)


def adjust_hue(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Shift each image's hue by its factor (a fraction of the colour circle), through HSV."""
    r, g, b = x.unbind(1)
    value, _ = x.max(1)
    chroma = value - x.min(1).values
    saturation = chroma / torch.where(value > 0, value, 1)
    c = torch.where(chroma > 0, chroma, 1)
    rc, gc, bc = (value - r) / c, (value - g) / c, (value - b) / c
    hue = torch.where(value == r, bc - gc, torch.where(value == g, 2 + rc - bc, 4 + gc - rc))
    hue = torch.where(chroma > 0, hue / 6 % 1, 0)
    hue = (hue + factor.view(-1, 1, 1)) % 1
    sector = hue * 6
    i = sector.floor() % 6
    f = sector - sector.floor()
    p, q, t = value * (1 - saturation), value * (1 - saturation * f), value * (1 - saturation * (1 - f))
    # (r, g, b) of each of the six sectors
    choices = [(value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value), (value, p, q)]
    out = [torch.zeros_like(value) for _ in range(3)]
    for k, rgb in enumerate(choices):
        here = i == k
        out = [torch.where(here, channel, o) for channel, o in zip(rgb, out, strict=True)]
    return torch.stack(out, dim=1)


ADJUST = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)  # ColorJitter's fn_idx order
