"""How much class evidence survives the augmentations that methods borrow from natural images?

Top-1 of a trained model on the test images as they are and after greyscale, Gaussian blur (sigma 1),
colour jitter alone, and the strong views of TADE's test-time aggregation and of MoCo v2
(ltr.data.views), each also as a percentage of the clean top-1. On natural images (CIFAR) a model keeps
most of its accuracy under each; a data set whose classes live in colour or fine texture does not.

    dvc repro stage1 && python bench/probe_invariances.py      # the committed stage-1 model
"""

import argparse
import json
from functools import partial
from pathlib import Path

import torch
import torchvision.transforms.v2.functional as TF

from ltr.data.loader import epoch_generator, strong_augment
from ltr.data.views import SMALL_IMAGE_VIEWS, StrongView

JITTER_ONLY = StrongView("pad", blur_p=0.0, jitter_p=1.0, grey_p=0.0)


def _greyscale(x, gen):
    return TF.rgb_to_grayscale(x, num_output_channels=3)


def _blur(x, gen, sigma=1.0):
    return TF.gaussian_blur(x.float(), kernel_size=7, sigma=sigma)


PROBES = {
    "clean": None,
    "greyscale": _greyscale,
    "blur sigma 1": _blur,
    "colour jitter": partial(strong_augment, view=JITTER_ONLY),
    "strong view (tade)": partial(strong_augment, view=SMALL_IMAGE_VIEWS["tade"]),
    "strong view (moco)": partial(strong_augment, view=SMALL_IMAGE_VIEWS["moco"]),
}


@torch.no_grad()
def probe_top1(model, images, labels, mean, std, batch_size=512, seed=0) -> dict[str, float]:
    """Top-1 (%) of `model` on uint8 images (N, 3, H, W) under every probe, same draws for every model."""
    model.eval()
    dev = next(model.parameters()).device
    mean = torch.tensor(mean, device=dev).view(1, -1, 1, 1) * 255
    std = torch.tensor(std, device=dev).view(1, -1, 1, 1) * 255
    out = {}
    for name, transform in PROBES.items():
        gen, correct = epoch_generator(seed, 0), 0
        for start in range(0, len(labels), batch_size):
            x = images[start : start + batch_size].to(dev)
            x = (transform(x, gen) if transform else x).float()
            x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
            correct += int((model(x).argmax(1).cpu() == labels[start : start + batch_size]).sum())
        out[name] = 100 * correct / len(labels)
    return out


def table(top1: dict[str, float]) -> str:
    rows = ["| test images | top-1 | of clean |", "|---|---|---|"]
    for name, value in top1.items():
        rows.append(f"| {name} | {value:.2f} | {100 * value / top1['clean']:.0f}% |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="data/models/stage1", help="a trained stage's directory")
    parser.add_argument("--split", default="test")
    parser.add_argument("--json", action="store_true", help="print JSON rather than a table")
    args = parser.parse_args()

    from ltr.config import load_config
    from ltr.layout import MODELS
    from ltr.pipeline import stage_models

    models = stage_models(load_config(), "probe", trains=False)
    model = models.load(str(Path(args.model).relative_to(MODELS)))
    images, labels = models.data.tensors(models.data.split(args.split))
    top1 = probe_top1(model, images, labels.cpu(), models.data.meta["mean"], models.data.meta["std"])
    print(json.dumps(top1) if args.json else table(top1))


if __name__ == "__main__":
    main()
