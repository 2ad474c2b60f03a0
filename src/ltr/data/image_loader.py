"""Batches of an image-list data set (ltr.data.image_lists), decoded per image in DataLoader workers
with the papers' transforms."""

from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ltr.data.loader import epoch_generator
from ltr.data.views import LARGE_IMAGE_VIEWS
from ltr.errors import LtrError
from ltr.processes import local_slice, rank


def image_transform(augment: str, size: int, resize: int, mean, std):
    """The OLTR / Decoupling transforms: RandomResizedCrop + flip + colour jitter to train ("crop_flip"),
    Resize + CenterCrop to test ("none"); "tade" and "moco" are the strong views of ltr.data.views."""
    from torchvision import transforms  # 1.5 s to import: only the stages that decode images pay for it

    if augment == "crop_flip":
        steps = [
            transforms.RandomResizedCrop(size),
            transforms.RandomHorizontalFlip(),
            transforms.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0),
        ]
    elif augment in LARGE_IMAGE_VIEWS:
        view = LARGE_IMAGE_VIEWS[augment]
        if view.crop == "pad":
            crop = [transforms.Resize(size), transforms.CenterCrop(size), transforms.RandomCrop(size, padding=4)]
        else:
            crop = [transforms.RandomResizedCrop(size, scale=view.crop_scale)]
        steps = [
            *crop,
            transforms.RandomApply([transforms.ColorJitter(*view.jitter)], p=view.jitter_p),
            transforms.RandomGrayscale(p=view.grey_p),
            transforms.RandomApply([transforms.GaussianBlur(23, sigma=view.blur_sigma)], p=view.blur_p),
            transforms.RandomHorizontalFlip(),
        ]
    else:
        steps = [transforms.Resize(resize), transforms.CenterCrop(size)]
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])


class _Images(Dataset):
    def __init__(self, root: Path, paths: list[str], labels, transform):
        self.root, self.paths, self.labels, self.transform = root, paths, labels, transform
        self.views = 1

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        path = self.root / self.paths[i]
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except (OSError, ValueError) as e:
            raise LtrError(f"cannot read image {path}: {e}") from None
        views = [self.transform(rgb) for _ in range(self.views)]
        return (views[0] if self.views == 1 else torch.stack(views)), int(self.labels[i])


class ImageListBatches:
    """Batches (x, y) of an image list, decoded in DataLoader workers; the same interface as
    TensorBatches (epoch(e), num_batches(), optional sampler), so every method runs on either."""

    def __init__(
        self,
        root,
        paths,
        labels,
        *,
        batch_size: int,
        augment: str,
        size: int,
        resize: int,
        mean,
        std,
        device,
        num_workers: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        sampler=None,
    ):
        self.labels = torch.as_tensor(labels)
        self.dataset = _Images(Path(root), list(paths), self.labels, image_transform(augment, size, resize, mean, std))
        self.batch_size, self.shuffle, self.drop_last, self.seed = batch_size, shuffle, drop_last, seed
        self.sampler, self.device, self.num_workers = sampler, device, num_workers

    def num_batches(self) -> int:
        n = self.sampler.num_samples if self.sampler is not None else len(self.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch(self, epoch: int = 0, views: int = 1, part: bool = False):
        """(x, y) batches; with views > 1, ([x_1, ..., x_views], y) as TensorBatches gives them; with
        part, this process's slice of each batch (data-parallel training)."""
        gen = epoch_generator(self.seed, epoch)
        self.dataset.views = views
        if self.num_workers == 0:  # the transforms draw from the global generator in this process
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)) + rank())
        if self.sampler is not None:
            order = self.sampler(gen)
        else:
            order = torch.randperm(len(self.labels), generator=gen) if self.shuffle else torch.arange(len(self.labels))
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, stop, self.batch_size)]
        if part:
            batches = [b[local_slice(len(b))] for b in batches]
        # the workers' augmentations differ between processes, like the images they decode
        workers_gen = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=gen)) + rank())
        loader = DataLoader(
            self.dataset,
            batch_sampler=batches,
            num_workers=self.num_workers,
            generator=workers_gen,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )
        for x, y in loader:
            x = x.to(self.device, non_blocking=True)
            xs = [v.contiguous(memory_format=torch.channels_last) for v in (x.unbind(1) if views > 1 else [x])]
            yield (xs[0] if views == 1 else xs), y.to(self.device, non_blocking=True)
