"""What the benchmarks share (`make bench`, `make gpu-check`): timed training steps, and image-list
input pipelines on a generated JPEG tree: PIL in DataLoader workers against torchvision decoding on
the device (runtime.decode), both under the training transform (RandomResizedCrop to 224 px, flip,
colour jitter) into normalised channels_last batches on the device."""

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ltr.data.image_lists import IMAGENET_MEAN, IMAGENET_STD
from ltr.data.image_loader import ImageListBatches

SIZE = 224


def make_jpeg_tree(root: Path, n: int = 320, short: int = 256, seed: int = 0) -> tuple[list[str], list[int]]:
    """n JPEGs (quality 90) of `short` px on the short side, aspect ratios up to 3:2, smooth colour
    waves with noise (pure noise would make JPEG files unusually large); their paths and 10 labels."""
    rng, paths = np.random.RandomState(seed), []
    for i in range(n):
        long = int(rng.uniform(short, 1.5 * short))
        h, w = (short, long) if i % 2 else (long, short)
        yy, xx = np.mgrid[0:h, 0:w]
        f = rng.uniform(5, 40, 3)
        waves = [128 + 100 * np.sin(xx / f[0] + i), 128 + 100 * np.cos(yy / f[1]), 128 + 80 * np.sin((xx + yy) / f[2])]
        pixels = np.clip(np.stack(waves, -1) + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
        rel = f"train/c{i % 10}/{i:05d}.JPEG"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / rel, quality=90)
        paths.append(rel)
    return paths, [i % 10 for i in range(n)]


def image_list_batches(
    root: Path, paths, labels, *, decode: str, device, workers: int, batch: int, size: int = SIZE
) -> ImageListBatches:
    """The training batches of an ImageNet-LT run (224-px crops of 256-px images) over the tree."""
    return ImageListBatches(
        root,
        paths,
        labels,
        batch_size=batch,
        augment="crop_flip",
        size=size,
        resize=size * 8 // 7,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        device=device,
        num_workers=workers,
        shuffle=True,
        drop_last=True,
        decode=decode,
    )


def forever(make_epoch):
    """Batches of epoch 0, 1, 2, ... of make_epoch(epoch), without end."""
    epoch = 0
    while True:
        yield from make_epoch(epoch)
        epoch += 1


def timed_steps(batches, steps: int, warmup: int = 1, model=None, optimizer=None, amp: bool = False) -> float:
    """Images/s over `steps` batches of the iterator after `warmup` untimed ones (workers starting,
    first kernels): the input pipeline alone, or with an SGD step of `model` on every batch."""
    from ltr.device import autocast

    if model is not None:
        model.train()
    images = 0
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        x, y = next(batches)
        if model is not None:
            with autocast(x.device, amp):
                loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        images += len(y) if i >= warmup else 0
    if x.is_cuda:
        torch.cuda.synchronize()
    return images / (time.perf_counter() - start)
