"""The training transform of image lists and the strong (MoCo-v2-style) views, defined once for every
data path: the in-memory batches (ltr.data.loader, drawn on the device) and the image lists, decoded
by PIL in DataLoader workers (ltr.data.image_loader) or on the device (ltr.data.tensor_transforms).

Image lists train under the OLTR / Decoupling transform: RandomResizedCrop (area TRAIN_CROP_SCALE),
a horizontal flip, then colour jitter (TRAIN_JITTER).

A strong view is: a crop, colour jitter with probability jitter_p, greyscale with grey_p, Gaussian
blur with blur_p, then a horizontal flip with p 0.5. Each use takes its original's view:

- "tade": TADE's test-time self-supervision (SADE's data loaders): on 32-pixel images (CIFAR)
  RandomCrop(32, padding=4) and blur with p 0.2; on image lists (ImageNet-LT, Places-LT)
  RandomResizedCrop(scale 0.2-1) and blur with p 0.5.
- "moco": MoCo v2 (Chen et al., 2020; SSP's pretrain_moco.py), on both paths: RandomResizedCrop(scale
  0.2-1) and blur with p 0.5.
"""

from dataclasses import dataclass

TRAIN_CROP_SCALE = (0.08, 1.0)
TRAIN_JITTER = (0.4, 0.4, 0.4, 0.0)  # brightness, contrast, saturation, hue
BLUR_KERNEL = 23  # the image lists' GaussianBlur(23, sigma), MoCo v2's for 224-pixel images


@dataclass(frozen=True)
class StrongView:
    crop: str  # "pad": RandomCrop(size, padding=4); "resized": RandomResizedCrop(size, scale=crop_scale)
    blur_p: float
    crop_scale: tuple[float, float] = (0.2, 1.0)
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)  # brightness, contrast, saturation, hue
    jitter_p: float = 0.8
    grey_p: float = 0.2
    blur_sigma: tuple[float, float] = (0.1, 2.0)


MOCO_V2 = StrongView("resized", blur_p=0.5)
SMALL_IMAGE_VIEWS = {"tade": StrongView("pad", blur_p=0.2), "moco": MOCO_V2}  # in-memory 32-pixel sets
LARGE_IMAGE_VIEWS = {"tade": StrongView("resized", blur_p=0.5), "moco": MOCO_V2}  # image lists
