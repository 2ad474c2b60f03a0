"""Image-folder benchmarks read through their official split lists: ImageNet-LT, Places-LT and
iNaturalist 2018.

`data.root` holds the lists and the images they name, as the OLTR / Decoupling / TADE code bases lay
them out:

    <root>/ImageNet_LT_train.txt, ImageNet_LT_val.txt, ImageNet_LT_test.txt, ImageNet_LT_open.txt
    <root>/train/..., <root>/val/...            paths as the train / val / test lists give them
    <root>/ImageNet_LT_open/...                 the open list's file names are relative to this folder

Places-LT: Places_LT_*.txt and Places_LT_open/. iNaturalist 2018: iNaturalist18_train.txt and
iNaturalist18_val.txt; its val list is also the test list (as in TADE and RIDE) and it has no open
set. The lists are used verbatim: the training list is already long-tailed, so `data.imb_factor` does
not apply. Images are decoded per image in DataLoader workers with the papers' transforms.
"""

from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ltr.config import DataConfig
from ltr.data.loader import epoch_generator
from ltr.data.split_list import read_split_list
from ltr.engine.distributed import local_slice, rank
from ltr.errors import LtrError
from ltr.layout import SHIFT_FACTORS

# pool -> list file; "open_dir": the folder the open list's names are relative to
LISTS = {
    "imagenet_lt": {
        "train": "ImageNet_LT_train.txt",
        "val": "ImageNet_LT_val.txt",
        "test": "ImageNet_LT_test.txt",
        "open": "ImageNet_LT_open.txt",
        "open_dir": "ImageNet_LT_open",
    },
    "places_lt": {
        "train": "Places_LT_train.txt",
        "val": "Places_LT_val.txt",
        "test": "Places_LT_test.txt",
        "open": "Places_LT_open.txt",
        "open_dir": "Places_LT_open",
    },
    "inat2018": {"train": "iNaturalist18_train.txt", "test": "iNaturalist18_val.txt"},
}
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def prepare_image_lists(cfg: DataConfig) -> dict:
    """Read and check the official lists; the index names every image by its path under data.root."""
    root, files = Path(cfg.root), LISTS[cfg.name]
    if not root.is_dir():
        raise LtrError(f"data.root = {cfg.root!r} is not a directory; point it at the {cfg.name} images and lists")
    train = read_split_list(root / files["train"], num_classes=None, is_open=False)
    num_classes = int(train.labels.max()) + 1
    ids, labels, pools = [], [], []
    for pool in ("train", "val", "test", "open"):
        if pool not in files:
            continue
        path = root / files[pool]
        lst = read_split_list(path, num_classes, is_open=pool == "open")
        rel = [f"{files['open_dir']}/{p}" for p in lst.paths] if pool == "open" else lst.paths
        missing = next((p for p in rel if not (root / p).is_file()), None)
        if missing is not None:
            raise LtrError(f"{path}: image {missing!r} does not exist under data.root = {cfg.root!r}")
        ids += rel
        labels += lst.labels.tolist()
        pools += [pool] * len(rel)
    if len(set(ids)) != len(ids):
        raise LtrError(f"the {cfg.name} lists name an image in two splits; each image belongs to one split")
    test = {p: y for p, y, pool in zip(ids, labels, pools, strict=True) if pool == "test"}
    shifted = read_shifted_lists(root, files["test"].rsplit("_", 1)[0], files["test"], test, num_classes)
    info = {
        "name": cfg.name,
        "kind": "files",
        "root": str(root),
        "num_classes": num_classes,
        "class_names": [str(c) for c in range(num_classes)],
        "long_tailed": True,
        **({} if "val" in files else {"val_from": "test"}),
        "image_size": cfg.image_lists.size,
        "resize": cfg.image_lists.resize,
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
    }
    return {"images": None, "ids": ids, "labels": labels, "pools": pools, "info": info, "shifted": shifted}


def read_shifted_lists(root: Path, prefix: str, test_file: str, test: dict, num_classes: int) -> dict:
    """TADE's forward / backward test lists (<prefix>_forward50.txt, ..._backward2.txt) where data.root
    has them: subsets of the test list, used verbatim, since their images cannot be drawn again
    (only their counts follow the profile). {split name: paths}; the others are generated."""
    shifted = {}
    for factor in SHIFT_FACTORS:
        for direction in ("forward", "backward"):
            path = root / f"{prefix}_{direction}{factor}.txt"
            if not path.exists():
                continue
            lst = read_split_list(path, num_classes, is_open=False)
            stray = next((p for p, y in zip(lst.paths, lst.labels, strict=True) if test.get(p) != y), None)
            if stray is not None:
                raise LtrError(
                    f"{path}: image {stray!r} is not in {test_file} with that label; "
                    f"a shifted test list takes its images from the test list"
                )
            shifted[f"test_{direction}{factor}"] = lst.paths
    return shifted


def image_transform(augment: str, size: int, resize: int, mean, std):
    """The OLTR / Decoupling transforms: RandomResizedCrop + flip + colour jitter to train ("crop_flip"),
    Resize + CenterCrop to test ("none"); "strong" is the MoCo-v2 view of TADE's test-time training."""
    from torchvision import transforms  # 1.5 s to import: only the stages that decode images pay for it

    if augment == "crop_flip":
        steps = [
            transforms.RandomResizedCrop(size),
            transforms.RandomHorizontalFlip(),
            transforms.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0),
        ]
    elif augment == "strong":
        steps = [
            transforms.RandomResizedCrop(size, scale=(0.2, 1.0)),
            transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            transforms.RandomGrayscale(p=0.2),
            transforms.RandomApply([transforms.GaussianBlur(23, sigma=(0.1, 2.0))], p=0.5),
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
