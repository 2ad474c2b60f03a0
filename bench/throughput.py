"""Training throughput (images/s) of the stage-1 model under three input pipelines, and the speed of
the two image-list pipelines.

- ceiling:  the model alone on pre-made, normalised tensors (no data work at all);
- pipeline: this project's in-memory uint8 tensor with batched crop+flip on the device (TensorBatches);
- pil:      a per-image PIL + torchvision transforms + DataLoader pipeline, as the original code bases use.

All three run the same model, batch size, optimiser and images. Image lists (ImageNet-LT and the
like): a generated tree of 256-px JPEGs through the training transform to 224-px batches on the
device, by PIL in DataLoader workers or by torchvision on the device (runtime.decode: device; on a
CPU machine, decoded and transformed on the CPU by threads), the pipelines alone (no model: on CPU a
ResNet-50 would hide them). Usage:
    python bench/throughput.py [--arch resnet8] [--steps 30] [--rounds 3] [--workers 0 2] [--jpegs 320]

Each figure is the median of the rounds.
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from benchlib import forever, image_list_batches, make_jpeg_tree, timed_steps
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from ltr.config import RuntimeConfig
from ltr.data.loader import TensorBatches
from ltr.data.prepared import channel_stats
from ltr.data.synthetic import SyntheticSpec, generate
from ltr.device import resolve_device
from ltr.models import create_model

BATCH = 128


class PilImages(Dataset):
    def __init__(self, images: np.ndarray, labels: np.ndarray, mean, std):
        self.images, self.labels = images, labels
        self.transform = transforms.Compose(
            [
                transforms.RandomCrop(32, padding=4),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                transforms.Normalize(mean, std),
            ]
        )

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet8")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--jpegs", type=int, default=320, help="images of the generated JPEG tree")
    parser.add_argument("--list-steps", type=int, default=4, help="batches of 64 timed per image-list round")
    args = parser.parse_args()

    device = resolve_device(RuntimeConfig())
    data = generate(SyntheticSpec(), {"train": 40}, open_per_class=0, seed=0)  # 4,000 images
    images, labels = data["images"].numpy(), data["labels"].numpy()
    mean, std = channel_stats(images)
    torch.manual_seed(0)
    model = create_model(args.arch, 100).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    results = {"device": str(device), "arch": args.arch, "batch": BATCH, "threads": torch.get_num_threads()}

    x = torch.randn(BATCH, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 100, (BATCH,), device=device)
    batches = TensorBatches(
        torch.from_numpy(images).permute(0, 3, 1, 2).to(device),
        torch.from_numpy(labels).to(device),
        batch_size=BATCH,
        mean=mean,
        std=std,
        augment="crop_flip",
        shuffle=True,
        drop_last=True,
    )
    sources = {"ceiling": forever(lambda e: iter([(x, y)])), "pipeline": forever(batches.epoch)}
    for workers in args.workers:
        loader = DataLoader(
            PilImages(images, labels, mean, std),
            batch_size=BATCH,
            shuffle=True,
            drop_last=True,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            persistent_workers=workers > 0,
        )
        sources[f"pil_workers{workers}"] = (
            (a.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last), b.to(device))
            for a, b in forever(lambda e, loader=loader: loader)
        )
    # rounds interleave the pipelines so that a slow spell of a shared machine hits all of them
    rates = {name: [] for name in sources}
    for _ in range(args.rounds):
        for name, source in sources.items():
            rates[name].append(timed_steps(source, args.steps, warmup=5, model=model, optimizer=optimizer))
    results.update({name: float(np.median(r)) for name, r in rates.items()})

    best_pil = max(v for k, v in results.items() if k.startswith("pil_"))
    print(f"device {results['device']}, {results['arch']}, batch {BATCH}, {results['threads']} threads")
    print("| input pipeline | images/s | of ceiling |")
    print("|---|---|---|")
    for key in [k for k in results if k == "ceiling" or k == "pipeline" or k.startswith("pil_")]:
        print(f"| {key} | {results[key]:.0f} | {100 * results[key] / results['ceiling']:.0f}% |")
    print(f"pipeline / best PIL pipeline: {results['pipeline'] / best_pil:.2f}x")

    lists = image_list_rates(device, args.workers, args.jpegs, args.list_steps, args.rounds)
    print(f"image lists: {args.jpegs} JPEGs of 256 px to 224-px batches of 64 on {device}, the pipeline alone")
    print("| image-list pipeline | images/s |")
    print("|---|---|")
    for key, rate in lists.items():
        print(f"| {key} | {rate:.0f} |")
    results.update(lists)
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in results.items()}))


def image_list_rates(device, workers: list[int], n: int, steps: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="ltr-bench-") as tmp:
        paths, labels = make_jpeg_tree(Path(tmp), n)
        sources = {}
        for w in workers:
            sources[f"list_pil_workers{w}"] = ("pil", w)
            sources[f"list_device_threads{max(w, 1)}"] = ("device", w)
        rates = {name: [] for name in sources}
        for _ in range(rounds):
            for name, (decode, w) in sources.items():
                source = image_list_batches(Path(tmp), paths, labels, decode=decode, device=device, workers=w, batch=64)
                rates[name].append(timed_steps(forever(source.epoch), steps))
    return {name: float(np.median(r)) for name, r in rates.items()}


if __name__ == "__main__":
    main()
