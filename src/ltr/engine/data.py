"""A stage's data (ctx.data): the split lists of data/splits, their images on the run's device in
batches, the training prior and class-aware sampling, and predictions of every split list.

The images are in memory (a uint8 tensor on the device: TensorBatches) or image files decoded on the
fly (ImageListBatches, with runtime.num_workers and runtime.decode, read only then).
"""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from ltr import processes
from ltr.config import RuntimeConfig, TrainConfig
from ltr.data.image_loader import ImageListBatches
from ltr.data.loader import TensorBatches, batch_starts
from ltr.data.prepared import PreparedImages
from ltr.data.samplers import ClassAwareSampler, epoch_size
from ltr.data.split_list import SplitList, read_split_list
from ltr.engine.train import predict
from ltr.layout import SHIFTED_SPLITS, read_json, require

MIN_LAST = 2  # images a process needs in a last, partial training batch (BatchNorm normalises over them)


@dataclass
class Data:
    splits: Path  # data/splits: the split lists and meta.json
    prepared: Path  # data/prepared: the images, or their index
    device: torch.device
    amp: bool
    batch_size: int  # of every prediction pass (logits.batch_size)
    runtime: RuntimeConfig  # num_workers and decode, for image lists

    @cached_property
    def meta(self) -> dict:
        """meta.json: num_classes, class_names, train_counts, shot_groups, image_size, mean, std, splits, ..."""
        require(self.splits / "meta.json", stage="splits")
        return read_json(self.splits / "meta.json")

    @cached_property
    def images(self) -> PreparedImages:
        return PreparedImages(self.prepared)

    @property
    def num_classes(self) -> int:
        return self.meta["num_classes"]

    @property
    def shifted_splits(self) -> tuple[str, ...]:
        """The test lists drawn under forward- and backward-shifted class distributions (TADE's
        protocol), in the order the reports list them."""
        return SHIFTED_SPLITS

    def split(self, name: str) -> SplitList:
        return read_split_list(self.splits / f"{name}.txt", self.num_classes)

    def tensors(self, split: SplitList) -> tuple[torch.Tensor, torch.Tensor]:
        images = self.images.load(split.paths, source=f"{self.splits / split.name}.txt")
        return images.to(self.device), torch.from_numpy(split.labels).to(self.device)

    @property
    def decoder(self) -> str:
        """How image lists are decoded (runtime.decode): "auto" is on the device when it is a GPU."""
        decode = self.runtime.decode
        return ("device" if self.device.type == "cuda" else "pil") if decode == "auto" else decode

    def batches(self, split: SplitList, batch_size: int, *, augment: str = "none", **kwargs):
        """In-memory data: TensorBatches on the device; image lists: ImageListBatches (DataLoader)."""
        norm = {"batch_size": batch_size, "mean": self.meta["mean"], "std": self.meta["std"]}
        if self.images.in_memory:
            images, labels = self.tensors(split)
            return TensorBatches(images, labels, augment=augment, **norm, **kwargs)
        self.images.rows(split.paths, source=f"{self.splits / split.name}.txt")  # every image is indexed
        info = self.images.info
        return ImageListBatches(
            info["root"],
            split.paths,
            split.labels,
            augment=augment,
            size=info["image_size"],
            resize=info["resize"],
            device=self.device,
            num_workers=self.runtime.num_workers,
            decode=self.decoder,
            **norm,
            **kwargs,
        )

    def train_batches(self, cfg: TrainConfig, seed: int, split: SplitList | None = None, per_class: int | None = None):
        """Epochs of `split` (default: the training list) under cfg's batch size and augmentation, in an
        order drawn from `seed`: shuffled, or with per_class, class-aware (per_class images of a class at
        a draw; 1: class-balanced sampling), as many images an epoch as the list has."""
        split = split if split is not None else self.split("train")
        sampler = None
        if per_class is not None:
            size = epoch_size(len(split.labels), cfg.batch_size)
            sampler = ClassAwareSampler(split.labels, self.num_classes, per_class, size)
        return self.batches(
            split,
            cfg.batch_size,
            augment=cfg.augment,
            shuffle=True,
            min_last=MIN_LAST * processes.world_size(),
            seed=seed,
            sampler=sampler,
        )

    def steps_per_epoch(self, cfg: TrainConfig, split: SplitList | None = None) -> int:
        """The training steps of an epoch of `split` (the training list) under cfg, as the loader makes them."""
        n = len((split if split is not None else self.split("train")).labels)
        return len(batch_starts(n, cfg.batch_size, min_last=MIN_LAST * processes.world_size()))

    def prior(self) -> torch.Tensor:
        """The training prior n_c / N, from the split metadata, on the device."""
        counts = torch.tensor(self.meta["train_counts"], dtype=torch.float32)
        return (counts / counts.sum()).to(self.device)

    def predict(self, model: torch.nn.Module, split: SplitList, forward=None) -> tuple[torch.Tensor, torch.Tensor]:
        """forward(x) (default: the model's logits) of every image of `split`, and its labels, on the CPU."""
        return predict(model, self.batches(split, self.batch_size), self.device, self.amp, forward)

    def predict_splits(self, model: torch.nn.Module, forward=None) -> dict[str, np.ndarray]:
        """forward(x) of every split list, computing each distinct image once (shifted tests are subsets)."""
        splits = {name: self.split(name) for name in self.meta["splits"]}
        ids = sorted(set().union(*(s.paths for s in splits.values())))
        position = {p: i for i, p in enumerate(ids)}
        union = SplitList("all", ids, np.zeros(len(ids), dtype=np.int64))
        outputs = self.predict(model, union, forward)[0].numpy()
        return {name: outputs[[position[p] for p in s.paths]] for name, s in splits.items()}
