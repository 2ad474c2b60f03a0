"""Batches of an image-list data set (ltr.data.image_lists) under the papers' transforms, decoded one of
two ways (`runtime.decode`):

- "pil": per image by PIL in DataLoader workers, with torchvision's transforms, as the original code
  bases do (the CPU default);
- "device": by torchvision.io.decode_jpeg on the training device (nvJPEG on CUDA, a batch at a time),
  with the same transforms on the decoded tensors there (ltr.data.tensor_transforms): the CUDA default,
  since a GPU outruns the CPU workers that would feed it.

The two draw their random transforms from different streams, round differently (PIL to 8 bits after
every operation) and, on a GPU, decode with nvJPEG rather than libjpeg-turbo, so a model trained
through one is not bitwise the model trained through the other.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ltr.data.loader import batch_starts, epoch_generator, normalise
from ltr.data.tensor_transforms import TensorTransform
from ltr.data.views import BLUR_KERNEL, LARGE_IMAGE_VIEWS, TRAIN_CROP_SCALE, TRAIN_JITTER
from ltr.errors import LtrError
from ltr.processes import local_slice, rank

DECODERS = ("pil", "device")


def image_transform(augment: str, size: int, resize: int, mean, std):
    """The OLTR / Decoupling transforms: RandomResizedCrop + flip + colour jitter to train ("crop_flip"),
    Resize + CenterCrop to test ("none"); "tade" and "moco" are the strong views of ltr.data.views."""
    from torchvision import transforms  # 1.5 s to import: only the stages that decode images pay for it

    if augment == "crop_flip":
        steps = [
            transforms.RandomResizedCrop(size, scale=TRAIN_CROP_SCALE),
            transforms.RandomHorizontalFlip(),
            transforms.ColorJitter(*TRAIN_JITTER),
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
            transforms.RandomApply([transforms.GaussianBlur(BLUR_KERNEL, sigma=view.blur_sigma)], p=view.blur_p),
            transforms.RandomHorizontalFlip(),
        ]
    else:
        steps = [transforms.Resize(resize), transforms.CenterCrop(size)]
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])


def read_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError) as e:
        raise LtrError(f"cannot read image {path}: {e}") from None


def read_bytes(path: Path) -> torch.Tensor:
    try:
        return torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
    except OSError as e:
        raise LtrError(f"cannot read image {path}: {e}") from None


def decode(datas: list[torch.Tensor], paths: list[Path], device: torch.device) -> list[torch.Tensor]:
    """uint8 (3, H, W) images on `device`: JPEGs by torchvision.io.decode_jpeg (on CUDA, nvJPEG, the
    whole list at once), anything it refuses (PNG, a CMYK JPEG on the GPU, ...) by PIL as the PIL path
    reads it. (torchvision 0.29, pinned, deprecates its decoders for TorchCodec, not a dependency here.)"""
    from torchvision.io import ImageReadMode, decode_jpeg
    from torchvision.transforms.v2.functional import pil_to_tensor

    def one(data):
        try:
            return decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
        except RuntimeError:
            return None

    images: list[torch.Tensor | None] = [None] * len(datas)
    jpegs = [i for i, d in enumerate(datas) if d[:2].tolist() == [0xFF, 0xD8]]
    try:
        decoded = decode_jpeg([datas[i] for i in jpegs], mode=ImageReadMode.RGB, device=device) if jpegs else []
    except RuntimeError:  # one image the decoder refuses fails the whole list
        decoded = [one(datas[i]) for i in jpegs]
    for i, image in zip(jpegs, decoded, strict=True):
        images[i] = image
    return [pil_to_tensor(read_rgb(paths[i])).to(device) if im is None else im for i, im in enumerate(images)]


class _Images(Dataset):
    def __init__(self, root: Path, paths: list[str], labels, transform):
        self.root, self.paths, self.labels, self.transform = root, paths, labels, transform
        self.views = 1

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        rgb = read_rgb(self.root / self.paths[i])
        views = [self.transform(rgb) for _ in range(self.views)]
        return (views[0] if self.views == 1 else torch.stack(views)), int(self.labels[i])


class ImageListBatches:
    """Batches (x, y) of an image list, decoded in DataLoader workers (decode "pil") or on the device
    ("device"); the same interface as TensorBatches (epoch(e), num_batches(), optional sampler), so
    every method runs on either."""

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
        min_last: int = 1,
        seed: int = 0,
        sampler=None,
        decode: str = "pil",
    ):
        if decode not in DECODERS:
            raise ValueError(f"decode {decode!r}: allowed {DECODERS}")
        if augment == "crop_flip_rotate":
            raise LtrError(
                "augment crop_flip_rotate is RIDE's and TADE's CIFAR recipe, for in-memory 32-pixel data sets; "
                "image files train with crop_flip (RandomResizedCrop, flip, colour jitter)"
            )
        self.labels = torch.as_tensor(labels)
        self.root, self.paths, self.decode = Path(root), list(paths), decode
        self.batch_size, self.shuffle, self.drop_last, self.seed = batch_size, shuffle, drop_last, seed
        self.min_last = min_last
        self.sampler, self.device, self.num_workers = sampler, device, num_workers
        if decode == "pil":
            self.dataset = _Images(
                self.root, self.paths, self.labels, image_transform(augment, size, resize, mean, std)
            )
        else:
            self.transform = TensorTransform(augment, size, resize)
            self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1) * 255
            self.std = torch.tensor(std, device=device).view(1, -1, 1, 1) * 255

    def num_batches(self) -> int:
        n = self.sampler.num_samples if self.sampler is not None else len(self.labels)
        return len(batch_starts(n, self.batch_size, self.drop_last, self.min_last))

    def epoch(self, epoch: int = 0, views: int = 1, part: bool = False):
        """(x, y) batches; with views > 1, ([x_1, ..., x_views], y) as TensorBatches gives them; with
        part, this process's slice of each batch (data-parallel training)."""
        gen = epoch_generator(self.seed, epoch)
        if self.num_workers == 0:  # PIL's transforms draw from the global generator in this process
            in_process_seed = int(torch.randint(2**62, (1,), generator=gen)) + rank()
            if self.decode == "pil":
                torch.manual_seed(in_process_seed)
        if self.sampler is not None:
            order = self.sampler(gen)
        else:
            order = torch.randperm(len(self.labels), generator=gen) if self.shuffle else torch.arange(len(self.labels))
        starts = batch_starts(len(order), self.batch_size, self.drop_last, self.min_last)
        batches = [order[i : i + self.batch_size].tolist() for i in starts]
        if self.decode == "device":
            yield from self._decoded_on_device(batches, views, part, gen)
            return
        self.dataset.views = views
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

    def _decoded_on_device(self, batches: list[list[int]], views: int, part: bool, gen: torch.Generator):
        """The epoch of decode "device". Each image draws its transforms from its own generator, seeded
        by its position in the epoch, so a process transforms its slice of a batch as one process
        transforms the whole (and two processes train as one, BatchNorm aside). Threads read the next
        batch's files while this one is decoded; on CPU they decode and crop too."""
        base = int(torch.randint(2**62, (1,), generator=gen))
        transform, on_cpu = self.transform, self.device.type == "cpu"

        def crops(image: torch.Tensor, position: int) -> tuple[list[torch.Tensor], list]:
            image_gen = torch.Generator().manual_seed(base + position)
            draws = [transform.draw(image_gen, *image.shape[-2:]) for _ in range(views)]
            return [transform.crop(image, d) for d in draws], draws

        def on_cpu_thread(path: Path, position: int):
            return crops(decode([read_bytes(path)], [path], self.device)[0], position)

        with ThreadPoolExecutor(max(1, self.num_workers)) as pool:

            def start(k: int):
                """Submit the reading of batch k's files (on CPU, their decoding and cropping too)."""
                rows = range(len(batches[k]))[local_slice(len(batches[k])) if part else slice(None)]
                indices = [batches[k][r] for r in rows]
                paths = [self.root / self.paths[i] for i in indices]
                positions = [k * self.batch_size + r for r in rows]
                work = on_cpu_thread if on_cpu else lambda path, _: read_bytes(path)
                futures = [pool.submit(work, p, q) for p, q in zip(paths, positions, strict=True)]
                return indices, paths, positions, futures

            pending = start(0) if batches else None
            for k in range(len(batches)):
                indices, paths, positions, futures = pending
                pending = start(k + 1) if k + 1 < len(batches) else None
                if on_cpu:
                    images = [f.result() for f in futures]
                else:
                    decoded = decode([f.result() for f in futures], paths, self.device)
                    images = [crops(image, q) for image, q in zip(decoded, positions, strict=True)]
                xs = []
                for v in range(views):
                    x = transform.finish(torch.stack([c[v] for c, _ in images]), [d[v] for _, d in images])
                    xs.append(normalise(x, self.mean, self.std))
                yield (xs[0] if views == 1 else xs), self.labels[indices].to(self.device)
