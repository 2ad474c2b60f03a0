"""What every stage and method shares: the config, the device, the split lists and their images,
training with resume, and logits for every split list.

A method's code receives a StageContext and never builds paths, devices or loaders itself.
"""

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from ltr.config import Config, TrainConfig, config_hash, load_config
from ltr.data.image_lists import ImageListBatches
from ltr.data.loader import TensorBatches
from ltr.data.prepared import PreparedImages
from ltr.data.samplers import ClassAwareSampler, epoch_size
from ltr.data.split_list import SplitList, read_split_list
from ltr.engine import distributed
from ltr.engine.checkpoint import ResumeState, load_checkpoint, save_checkpoint
from ltr.engine.device import resolve_device
from ltr.engine.train import FitResult, fit, predict
from ltr.errors import LtrError
from ltr.layout import PREPARED, RESUME, SPLITS, read_json, require, write_json
from ltr.models import Classifier, count_parameters, create_model


@dataclass
class MethodOutput:
    """What a method's logits step returns: logits (N x C) for every split list, the cost of its model
    (StageContext.cost), and what it chose or learned at this step (e.g. tau-norm's tau), reported in
    metrics/method.json."""

    logits: dict[str, np.ndarray]
    cost: dict
    info: dict = field(default_factory=dict)


def make_sgd(params, cfg: TrainConfig) -> torch.optim.SGD:
    return torch.optim.SGD(
        params,
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        nesterov=cfg.nesterov and cfg.momentum > 0,
    )


HEADS = ("head", "heads", "classifier")  # the names models give their classifiers


def body_and_head(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """Param groups of the trainable parameters: the classifier(s) at lr, the rest at
    lr x backbone_lr_factor (fine-tuning a pre-trained body: < 1)."""
    body, head = [], []
    for name, q in model.named_parameters():
        if q.requires_grad:
            (head if name.split(".")[0] in HEADS else body).append(q)
    groups = [{"params": body, "lr": cfg.lr * cfg.backbone_lr_factor}, {"params": head, "lr": cfg.lr}]
    return [g for g in groups if g["params"]]


@dataclass
class StageContext:
    cfg: Config
    stage: str
    resume_dirs: list[Path] = field(default_factory=list)

    @classmethod
    def load(cls, stage: str, params: str | Path = "params.yaml") -> "StageContext":
        return cls(load_config(params), stage)

    # -- inputs --------------------------------------------------------------------------------------------
    @cached_property
    def meta(self) -> dict:
        require(SPLITS / "meta.json", stage="splits")
        return read_json(SPLITS / "meta.json")

    @property
    def num_classes(self) -> int:
        return self.meta["num_classes"]

    @cached_property
    def images(self) -> PreparedImages:
        return PreparedImages(PREPARED)

    @cached_property
    def device(self) -> torch.device:
        return distributed.local_device(resolve_device(self.cfg.runtime))

    @property
    def amp(self) -> bool:
        return self.cfg.runtime.amp

    def split(self, name: str) -> SplitList:
        return read_split_list(SPLITS / f"{name}.txt", self.num_classes)

    def tensors(self, split: SplitList) -> tuple[torch.Tensor, torch.Tensor]:
        images = self.images.load(split.paths, source=f"{SPLITS / split.name}.txt")
        return images.to(self.device), torch.from_numpy(split.labels).to(self.device)

    def batches(self, split: SplitList, batch_size: int, *, augment: str = "none", **kwargs):
        """In-memory data: TensorBatches on the device; image lists: ImageListBatches (DataLoader)."""
        norm = {"batch_size": batch_size, "mean": self.meta["mean"], "std": self.meta["std"]}
        if self.images.in_memory:
            images, labels = self.tensors(split)
            return TensorBatches(images, labels, augment=augment, **norm, **kwargs)
        self.images.rows(split.paths, source=f"{SPLITS / split.name}.txt")  # every image is indexed
        info = self.images.info
        return ImageListBatches(
            info["root"],
            split.paths,
            split.labels,
            augment=augment,
            size=info["image_size"],
            resize=info["resize"],
            device=self.device,
            num_workers=self.cfg.runtime.num_workers,
            **norm,
            **kwargs,
        )

    def train_batches(self, cfg: TrainConfig, sampler=None, split: SplitList | None = None):
        return self.batches(
            split if split is not None else self.split("train"),
            cfg.batch_size,
            augment=cfg.augment,
            shuffle=True,
            drop_last=True,
            seed=self.cfg.seed,
            sampler=sampler,
        )

    def val_batches(self):
        return self.batches(self.split("val"), self.cfg.logits.batch_size)

    def prior(self) -> torch.Tensor:
        """The training prior n_c / N, from the split metadata."""
        counts = torch.tensor(self.meta["train_counts"], dtype=torch.float32)
        return (counts / counts.sum()).to(self.device)

    def class_aware_sampler(self, per_class: int, batch_size: int) -> ClassAwareSampler:
        """Class-aware sampling over the training list (per_class 1: class-balanced sampling)."""
        labels = self.split("train").labels
        return ClassAwareSampler(labels, self.num_classes, per_class, epoch_size(len(labels), batch_size))

    # -- models ------------------------------------------------------------------------------------------
    def new_model(self) -> Classifier:
        torch.manual_seed(self.cfg.seed)
        return self.to_device(create_model(self.cfg.model.arch, self.num_classes))

    def to_device(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.to(self.device, memory_format=torch.channels_last)

    def _load_into(self, module: torch.nn.Module, path: Path) -> None:
        ckpt = load_checkpoint(path)
        try:
            module.load_state_dict(ckpt["state_dict"])
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0][:160]
            raise LtrError(
                f"checkpoint {path} does not fit model.arch = {self.cfg.model.arch!r} ({first}); re-run its stage"
            ) from None

    def load_model(self, directory: Path, model: torch.nn.Module | None = None) -> torch.nn.Module:
        """Load directory/model.pt into `model` (by default a fresh stage-1 architecture)."""
        model = model if model is not None else create_model(self.cfg.model.arch, self.num_classes)
        self._load_into(model, Path(directory) / "model.pt")
        return self.to_device(model)

    def load_backbone(self, directory: Path, model: Classifier) -> None:
        """Initialise model.backbone from a pre-training stage's directory/backbone.pt."""
        self._load_into(model.backbone, Path(directory) / "backbone.pt")

    def cost(self, *models: torch.nn.Module, forward=None) -> dict:
        """Parameters and multiply-accumulates per image of the models that make a prediction together."""
        from ltr.engine.cost import macs_per_image  # torch's flop counter: only the logits stage pays for it

        size = self.meta["image_size"]
        return {
            "params": sum(count_parameters(m) for m in models),
            "macs": sum(macs_per_image(m, size, forward) for m in models),
        }

    def save_model(self, out: Path, model: torch.nn.Module, result: FitResult | None = None) -> None:
        save_checkpoint(
            Path(out) / "model.pt", model.state_dict(), arch=self.cfg.model.arch, num_classes=self.num_classes
        )
        if result is not None:
            write_json(
                Path(out) / "train_summary.json",
                {**result.summary(), "params": count_parameters(model), "history": result.history},
            )

    # -- training ----------------------------------------------------------------------------------------
    def train_and_save(
        self,
        out: Path,
        model,
        cfg: TrainConfig,
        *,
        params=None,
        sampler=None,
        train_split: SplitList | None = None,
        val_split: SplitList | None = None,
        key_parts: tuple = (),
        key_files: tuple = (),
        **fit_kwargs,
    ) -> FitResult:
        """SGD under cfg on `params` (default: body_and_head) over the training list (or
        train_split), model selection on val (or val_split); then out/model.pt, out/train_summary.json
        and dvclive logs in out/live. Resume state is keyed by this stage's config and input files
        (e.g. the stage-1 checkpoint it fine-tunes); fit_kwargs go to engine.train.fit."""
        params = params if params is not None else body_and_head(model, cfg)
        digests = [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in key_files]
        key = config_hash(
            self.stage,
            self.cfg.seed,
            self.cfg.data,
            self.cfg.splits,
            self.cfg.model,
            cfg,
            self.cfg.runtime,
            self.meta,
            *key_parts,
            *digests,
        )
        resume_dir = RESUME / f"{self.stage}-{key}"
        self.resume_dirs.append(resume_dir)
        val = self.val_batches() if val_split is None else self.batches(val_split, self.cfg.logits.batch_size)
        result = fit(
            model,
            make_sgd(params, cfg),
            self.train_batches(cfg, sampler, train_split),
            val,
            cfg,
            device=self.device,
            amp=self.amp,
            resume=ResumeState(resume_dir),
            live_dir=Path(out) / "live",
            name=self.stage,
            compile=self.cfg.runtime.compile,
            max_steps=self.cfg.runtime.max_steps,
            **fit_kwargs,
        )
        self.save_model(out, model, result)
        return result

    def finish(self) -> None:
        """Drop resume state once the stage's outputs are in place."""
        distributed.barrier()
        if not distributed.is_main():
            return
        for directory in self.resume_dirs:
            ResumeState(directory).clear()

    # -- logits ------------------------------------------------------------------------------------------
    def predict_splits(self, model: torch.nn.Module, forward=None) -> dict[str, np.ndarray]:
        """Logits for every split list, computing each distinct image once (shifted tests are subsets)."""
        splits = {name: self.split(name) for name in self.meta["splits"]}
        ids = sorted(set().union(*(s.paths for s in splits.values())))
        position = {p: i for i, p in enumerate(ids)}
        union = SplitList("all", ids, np.zeros(len(ids), dtype=np.int64))
        logits, _ = predict(model, self.batches(union, self.cfg.logits.batch_size), self.device, self.amp, forward)
        logits = logits.numpy()
        return {name: logits[[position[p] for p in s.paths]] for name, s in splits.items()}
