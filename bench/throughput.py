"""Training throughput (images/s) of the stage-1 model under three input pipelines.

- ceiling:  the model alone on pre-made, normalised tensors (no data work at all);
- pipeline: this project's in-memory uint8 tensor with batched crop+flip on the device (TensorBatches);
- pil:      a per-image PIL + torchvision transforms + DataLoader pipeline, as the original code bases use.

All three run the same model, batch size, optimiser and images. Usage:
    python bench/throughput.py [--arch resnet8] [--steps 30] [--rounds 3] [--workers 0 2]

Each figure is the median of the rounds.
"""

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
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


def timed_steps(model, optimizer, batches, steps: int, warmup: int = 5) -> float:
    """images/s over `steps` SGD steps after `warmup` untimed ones."""
    model.train()
    it = iter(batches)
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        x, y = next(it)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if x.is_cuda:
        torch.cuda.synchronize()
    return steps * BATCH / (time.perf_counter() - start)


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


def forever(make_epoch):
    epoch = 0
    while True:
        yield from make_epoch(epoch)
        epoch += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet8")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
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
            rates[name].append(timed_steps(model, optimizer, source, args.steps))
    results.update({name: float(np.median(r)) for name, r in rates.items()})

    best_pil = max(v for k, v in results.items() if k.startswith("pil_"))
    print(f"device {results['device']}, {results['arch']}, batch {BATCH}, {results['threads']} threads")
    print("| input pipeline | images/s | of ceiling |")
    print("|---|---|---|")
    for key in [k for k in results if k == "ceiling" or k == "pipeline" or k.startswith("pil_")]:
        print(f"| {key} | {results[key]:.0f} | {100 * results[key] / results['ceiling']:.0f}% |")
    print(f"pipeline / best PIL pipeline: {results['pipeline'] / best_pil:.2f}x")
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in results.items()}))


if __name__ == "__main__":
    main()
