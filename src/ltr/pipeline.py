"""What every stage and method shares: the config, the device, the split lists and their images,
training with resume, and logits for every split list.

A method's code receives a StageContext and its own params section, and never builds paths, devices
or loaders itself.
"""

import dataclasses
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from ltr import processes
from ltr.config import Config, TrainConfig, config_hash, load_config, reads
from ltr.data.image_loader import ImageListBatches
from ltr.data.loader import TensorBatches, batch_starts
from ltr.data.prepared import PreparedImages
from ltr.data.samplers import ClassAwareSampler, epoch_size
from ltr.data.split_list import SplitList, read_split_list
from ltr.device import resolve_device
from ltr.engine.checkpoint import ResumeState, load_checkpoint, save_checkpoint
from ltr.engine.train import FitResult, fit, predict
from ltr.errors import LtrError
from ltr.layout import LIVE, PREPARED, SPLITS, STAGE1_PREDICTIONS, read_json, require, resume_root, write_json
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


MIN_LAST = 2  # images a process needs in a last, partial training batch (BatchNorm normalises over them)
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
class Trained:
    """What a checkpoint says about the model in it: the backbone and the method's train section it
    was built and trained with, so that the logits stage rebuilds that model, whatever params.yaml
    says now."""

    arch: str
    train: TrainConfig | None


@dataclass
class StageContext:
    cfg: Config
    stage: str  # as dvc.yaml names it: stage1, stage2, experts@few, ...
    live_dir: Path | None = None  # where training logs with dvclive (default live/<stage>)
    resume_dirs: list[Path] = field(default_factory=list)
    checkpoints: dict[Path, dict] = field(default_factory=dict)  # each loaded once

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
        return processes.local_device(resolve_device(self.cfg.runtime))

    @property
    def decoder(self) -> str:
        """How image lists are decoded (runtime.decode): "auto" is on the device when it is a GPU."""
        decode = self.cfg.runtime.decode
        return ("device" if self.device.type == "cuda" else "pil") if decode == "auto" else decode

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
            decode=self.decoder,
            **norm,
            **kwargs,
        )

    def train_batches(self, cfg: TrainConfig, sampler=None, split: SplitList | None = None):
        return self.batches(
            split if split is not None else self.split("train"),
            cfg.batch_size,
            augment=cfg.augment,
            shuffle=True,
            min_last=MIN_LAST * processes.world_size(),
            seed=self.cfg.seed,
            sampler=sampler,
        )

    def steps_per_epoch(self, cfg: TrainConfig, split: SplitList | None = None) -> int:
        """The training steps of an epoch of `split` (the training list) under cfg, as the loader makes them."""
        n = len((split if split is not None else self.split("train")).labels)
        return len(batch_starts(n, cfg.batch_size, min_last=MIN_LAST * processes.world_size()))

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

    def checkpoint(self, path: Path) -> dict:
        path = Path(path)
        if path not in self.checkpoints:
            self.checkpoints[path] = load_checkpoint(path)
        return self.checkpoints[path]

    def _load_into(self, module: torch.nn.Module, path: Path) -> None:
        ckpt = self.checkpoint(path)
        try:
            module.load_state_dict(ckpt["state_dict"])
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0][:160]
            raise LtrError(
                f"checkpoint {path} does not fit the model built for it ({first}); re-run its stage"
            ) from None

    def trained(self, directory: Path, train_cls: type | None = None) -> Trained:
        """The arch and (as train_cls) the train section that directory/model.pt was trained with."""
        ckpt = self.checkpoint(Path(directory) / "model.pt")
        train = ckpt.get("train")
        return Trained(ckpt["arch"], train_cls(**train) if train_cls is not None and train is not None else None)

    def load_model(self, directory: Path, model: torch.nn.Module | None = None) -> torch.nn.Module:
        """Load directory/model.pt into `model` (by default the stage-1 architecture it was saved from)."""
        if model is None:
            model = create_model(self.trained(directory).arch, self.num_classes)
        self._load_into(model, Path(directory) / "model.pt")
        return self.to_device(model)

    def load_backbone(self, directory: Path, model: Classifier) -> None:
        """Initialise model.backbone from a pre-training stage's directory/backbone.pt."""
        self._load_into(model.backbone, Path(directory) / "backbone.pt")

    def measure_cost(self, model: torch.nn.Module) -> dict:
        """Parameters and multiply-accumulates per image of a model's forward pass."""
        from ltr.engine.cost import macs_per_image  # torch's flop counter: 1.5 s to import

        return {"params": count_parameters(model), "macs": macs_per_image(model, self.meta["image_size"])}

    def cost(self, *directories: Path) -> dict:
        """The cost of the models in these directories that make a prediction together, as their
        checkpoints recorded it when they were trained."""
        costs = [self.checkpoint(Path(d) / "model.pt")["cost"] for d in directories]
        return {"params": sum(c["params"] for c in costs), "macs": sum(c["macs"] for c in costs)}

    def save_model(
        self, out: Path, model: torch.nn.Module, result: FitResult, train: TrainConfig, cost: dict | None
    ) -> None:
        """out/model.pt, with the arch, the train section (see `trained`) and the cost of the model,
        and out/train_summary.json: nothing in either varies between runs of the same inputs."""
        save_checkpoint(
            Path(out) / "model.pt",
            model.state_dict(),
            arch=self.cfg.model.arch,
            num_classes=self.num_classes,
            train=dataclasses.asdict(train),
            cost=cost,
        )
        write_json(
            Path(out) / "train_summary.json",
            {**result.summary(), "params": count_parameters(model), "history": result.history},
        )

    def save_predictions(self, out: Path, model: Classifier) -> None:
        """out/predictions.npz: the logits and pooled features of every split list, from the same
        batches as the logits stage's, for the methods that work on the stage-1 model post hoc."""

        def logits_and_features(x):
            features = model.features(x)
            return torch.cat([model.head(features), features], dim=1)

        arrays, c = {}, self.num_classes
        for name, both in self.predict_splits(model, forward=logits_and_features).items():
            arrays[f"{name}.logits"], arrays[f"{name}.features"] = both[:, :c], both[:, c:]
        np.savez(Path(out) / "predictions.npz", **arrays)

    def stage1_predictions(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{split: (logits, features)} of the stage-1 model, as the predict stage wrote them."""
        path = STAGE1_PREDICTIONS / "predictions.npz"
        require(path, stage="predict")
        with np.load(path) as f:
            return {name: (f[f"{name}.logits"], f[f"{name}.features"]) for name in self.meta["splits"]}

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
        with_cost: bool = True,
        **fit_kwargs,
    ) -> FitResult:
        """SGD under cfg on `params` (default: body_and_head) over the training list (or
        train_split), model selection on val (or val_split); then out/model.pt and
        out/train_summary.json, while dvclive logs into live_dir. Resume state is keyed by every param
        the stage has read so far and its input files (the prepared data, the split lists, and
        key_files, e.g. the stage-1 checkpoint it fine-tunes); with_cost records the cost of the model in the
        checkpoint (the logits stage reports it); fit_kwargs go to engine.train.fit."""
        params = params if params is not None else body_and_head(model, cfg)
        val = self.val_batches() if val_split is None else self.batches(val_split, self.cfg.logits.batch_size)
        train = self.train_batches(cfg, sampler, train_split)
        inputs = sorted([*PREPARED.iterdir(), *SPLITS.iterdir()]) + [Path(f) for f in key_files]
        digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in inputs if f.is_file()]
        key = config_hash(self.stage, dataclasses.asdict(cfg), sorted(reads().items()), *key_parts, *digests)
        resume_dir = resume_root() / f"{self.stage}-{key}"
        self.resume_dirs.append(resume_dir)
        # before fit, which may compile the backbone; a pretext model (MoCo's two encoders) predicts nothing
        cost = self.measure_cost(model) if with_cost else None
        result = fit(
            model,
            make_sgd(params, cfg),
            train,
            val,
            cfg,
            device=self.device,
            amp=self.amp,
            resume=ResumeState(resume_dir),
            live_dir=self.live_dir or LIVE / self.stage,
            name=self.stage,
            compile=self.cfg.runtime.compile,
            max_steps=self.cfg.runtime.max_steps,
            **fit_kwargs,
        )
        self.save_model(out, model, result, cfg, cost)
        return result

    def finish(self) -> None:
        """Drop resume state once the stage's outputs are in place."""
        processes.barrier()
        if not processes.is_main():
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
