"""A stage's models (ctx.models): the checkpoints of the model directories under data/models, each
named by its stage as the methods' trained_in names it (stage1, stage2, experts/few, pretrain), new
models, training with resume, and the stage's own output directory.

Every checkpoint records the arch and train section it was trained with and the cost of its model,
so that a later stage rebuilds that model and reports that cost, whatever params.yaml says now.
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ltr import processes
from ltr.config import TrainConfig
from ltr.engine.checkpoint import ResumeState, load_checkpoint, resume_state, save_checkpoint
from ltr.engine.data import Data
from ltr.engine.optim import body_and_head, make_sgd
from ltr.engine.train import FitResult, Log, Objective, Runtime, fit
from ltr.errors import LtrError
from ltr.layout import read_json, require, write_json
from ltr.models import Classifier, count_parameters, create_model


@dataclass
class Trained:
    """What a checkpoint says about the model in it: the backbone and the method's train section it
    was built and trained with."""

    arch: str
    train: TrainConfig | None


@dataclass
class Training:
    """What a stage that trains adds to its store: the backbone and seed of new models, how training
    runs, and the input folders (data/prepared, data/splits) whose files' bytes key its resume state."""

    arch: str
    seed: int
    runtime: Runtime
    inputs: list[Path]


@dataclass
class Models:
    root: Path  # data/models: a directory a stage
    predictions: Path  # data/predictions/stage1: stage 1's logits and features of every split list
    out: Path | None  # the stage's output directory
    data: Data
    log: Log
    training: Training | None = None  # the training stages': stage1, pretrain, stage2, experts
    loaded: dict[str, dict] = field(default_factory=dict)  # checkpoints, each read once
    resumes: list[ResumeState] = field(default_factory=list)  # of the runs this stage trained

    # -- reading ---------------------------------------------------------------------------------------
    def checkpoint(self, stage: str, name: str = "model.pt") -> dict:
        path = self.root / stage / name
        if str(path) not in self.loaded:
            self.loaded[str(path)] = load_checkpoint(path)
        return self.loaded[str(path)]

    def trained(self, stage: str, train_cls: type | None = None) -> Trained:
        """The arch and (as train_cls) the train section that stage's model.pt was trained with: a logits
        step rebuilds the model from them rather than read its own `train`, which its stage does not track."""
        ckpt = self.checkpoint(stage)
        train = ckpt.get("train")
        return Trained(ckpt["arch"], train_cls(**train) if train_cls is not None and train is not None else None)

    def load(self, stage: str, model: torch.nn.Module | None = None) -> torch.nn.Module:
        """The stage's model.pt loaded into `model` (by default the stage-1 architecture it was saved
        from), on the device."""
        if model is None:
            model = create_model(self.trained(stage).arch, self.data.num_classes)
        self._load_into(model, stage, "model.pt")
        return self.to_device(model)

    def load_backbone(self, stage: str, model: Classifier) -> None:
        """model.backbone from a pre-training stage's backbone.pt."""
        self._load_into(model.backbone, stage, "backbone.pt")

    def _load_into(self, module: torch.nn.Module, stage: str, name: str) -> None:
        try:
            module.load_state_dict(self.checkpoint(stage, name)["state_dict"])
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0][:160]
            raise LtrError(
                f"checkpoint {self.root / stage / name} does not fit the model built for it ({first}); re-run its stage"
            ) from None

    def read(self, stage: str, name: str) -> dict:
        """A JSON file of the stage's directory (manifest.json, expert.json, train_summary.json)."""
        return read_json(self.root / stage / name)

    def cost(self, *stages: str) -> dict:
        """The cost of the models of these stages that make a prediction together, as their checkpoints
        recorded it when they were trained."""
        from ltr.engine.cost import total

        return total([self.checkpoint(stage)["cost"] for stage in stages])

    def stage1_predictions(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{split: (logits, features)} of the stage-1 model, as the predict stage wrote them."""
        path = self.predictions / "predictions.npz"
        require(path, stage="predict")
        with np.load(path) as f:
            return {name: (f[f"{name}.logits"], f[f"{name}.features"]) for name in self.data.meta["splits"]}

    # -- making ----------------------------------------------------------------------------------------
    def _training(self) -> Training:
        if self.training is None:
            raise LtrError(f"{self.log.name} trains no model: new models and training are the training stages'")
        return self.training

    @property
    def arch(self) -> str:
        """The backbone of new models (model.arch)."""
        return self._training().arch

    def to_device(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.to(self.data.device, memory_format=torch.channels_last)

    def new(self) -> Classifier:
        """The model.arch backbone and a linear head, initialised from the seed."""
        torch.manual_seed(self._training().seed)
        return self.to_device(create_model(self.arch, self.data.num_classes))

    def write(self, name: str, obj: dict) -> None:
        """A JSON file into the stage's output (what its next stages read)."""
        write_json(self.out / name, obj)

    def save_backbone(self, backbone: torch.nn.Module, **meta) -> None:
        """out/backbone.pt, which the next stage loads with load_backbone."""
        save_checkpoint(self.out / "backbone.pt", backbone.state_dict(), arch=self.arch, **meta)

    def save_predictions(self, model: Classifier) -> None:
        """out/predictions.npz: the logits and pooled features of every split list, from the same
        batches as the logits stage's, for the methods that work on the stage-1 model post hoc."""

        def logits_and_features(x):
            features = model.features(x)
            return torch.cat([model.head(features), features], dim=1)

        arrays, c = {}, self.data.num_classes
        for name, both in self.data.predict_splits(model, forward=logits_and_features).items():
            arrays[f"{name}.logits"], arrays[f"{name}.features"] = both[:, :c], both[:, c:]
        np.savez(self.out / "predictions.npz", **arrays)

    def train(
        self,
        model: torch.nn.Module,
        cfg: TrainConfig,
        *,
        groups: list[dict] | None = None,
        per_class: int | None = None,
        train_split=None,
        val_split=None,
        key_parts: tuple = (),
        starts_from: tuple[str, ...] = (),
        with_cost: bool = True,
        **objective,
    ) -> FitResult:
        """SGD under cfg on the param groups (default: body_and_head) over the training list (or
        train_split; class-aware with per_class, see Data.train_batches), model selection on val (or
        val_split); then out/model.pt and
        out/train_summary.json, while dvclive logs into the log's live_dir. The resume state is keyed
        by every param the stage has read so far, key_parts, and the bytes of its input files and of
        the checkpoints it starts from (starts_from: "stage1/model.pt", whose change must not resume an
        old state); with_cost records the cost of the model in the
        checkpoint (the logits stage reports it); objective: the Objective's fields (step, val_forward,
        val_metric, patience, views)."""
        t = self._training()
        val = self.data.batches(val_split if val_split is not None else self.data.split("val"), self.data.batch_size)
        train = self.data.train_batches(cfg, t.seed, train_split, per_class)
        inputs = sorted(f for folder in t.inputs for f in folder.iterdir()) + [self.root / f for f in starts_from]
        resume = resume_state(self.log.name, cfg, inputs, key_parts)
        self.resumes.append(resume)
        # before fit, which may compile the backbone; a pretext model (MoCo's two encoders) predicts nothing
        cost = self._measure(model) if with_cost else None
        optimizer = make_sgd(groups if groups is not None else body_and_head(model, cfg), cfg)
        result = fit(
            model,
            optimizer,
            train,
            val,
            cfg,
            runtime=t.runtime,
            log=self.log,
            resume=resume,
            objective=Objective(**objective),
        )
        save_checkpoint(
            self.out / "model.pt",
            model.state_dict(),
            arch=self.arch,
            num_classes=self.data.num_classes,
            train=dataclasses.asdict(cfg),
            cost=cost,
        )
        summary = {**result.summary(), "params": count_parameters(model), "history": result.history}
        write_json(self.out / "train_summary.json", summary)
        return result

    def _measure(self, model: torch.nn.Module) -> dict:
        from ltr.engine.cost import measure  # torch's flop counter: 1.5 s to import

        return measure(model, self.data.meta["image_size"])

    def finish(self) -> None:
        """Drop the resume states once the stage's outputs are in place."""
        processes.barrier()
        if not processes.is_main():
            return
        for resume in self.resumes:
            resume.clear()
