"""The train loop shared by every training stage: SGD steps, per-epoch validation, best checkpoint,
one summary row per epoch (stdout and dvclive) and resume after a kill from the last finished epoch.

What the loop returns (the best epoch, the per-epoch history) depends on the inputs alone, so the
stage outputs made from it are the same on every run; timings go only to the dvclive log.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ltr import processes
from ltr.config import TrainConfig
from ltr.data.loader import TensorBatches
from ltr.device import autocast
from ltr.engine.checkpoint import ResumeState
from ltr.engine.schedule import lr_factor
from ltr.errors import LtrError
from ltr.layout import LIVE_METRICS, SAVED_EPOCH


@dataclass
class Runtime:
    """How a run executes, not what it computes: the device, bf16 autocast, torch.compile of the
    backbone, and max_steps, which ends every epoch after that many steps (0: never), to check quickly
    that a configuration trains."""

    device: torch.device
    amp: bool = False
    compile: bool = False
    max_steps: int = 0


@dataclass
class Log:
    """Where a stage says what it does: stdout, each line prefixed by its name as dvc.yaml gives it
    (stage1, experts@few), and dvclive's log of its training in live_dir."""

    name: str
    live_dir: Path

    def __call__(self, text: str) -> None:
        print(f"{self.name}: {text}", flush=True)


def cross_entropy_step(model, x, y, epoch):
    """The default training step: (loss, logits) of plain cross-entropy."""
    logits = model(x)
    return F.cross_entropy(logits, y), logits


@dataclass
class Objective:
    """What a method trains for, beyond its schedule. step(model, x, y, epoch) -> (loss, logits), or
    (loss, logits, targets) when the training accuracy is not against y (self-supervised tasks);
    model selection by the top-1 of val_forward(x) (default: the model's logits) on val's labels, or by
    val_metric(model), a val accuracy in percent; patience: stop once that many epochs passed without
    a better val score; views: augmented views of each training image given to step as a list."""

    step: Callable = cross_entropy_step
    val_forward: Callable | None = None
    val_metric: Callable | None = None
    patience: int | None = None
    views: int = 1


@dataclass
class FitResult:
    best_epoch: int
    best_val_top1: float
    seconds: float  # training time of all epochs, validation excluded (in the live log, not in outputs)
    images: int  # training images processed
    history: list[dict]  # one row an epoch: epoch, train_loss, train_top1, val_top1, lr

    def summary(self) -> dict:
        """What a stage's train_summary.json holds: a function of the inputs alone."""
        return {
            "best_epoch": self.best_epoch,
            "best_val_top1": self.best_val_top1,
            "epochs": len(self.history),
            "train_images": self.images,
        }


class TrainStep(torch.nn.Module):
    """A method's whole training step as one module, forward(x, y, epoch) = step(model, x, y, epoch), so
    that DistributedDataParallel wraps every parameter the step uses, whichever sub-modules it calls
    (OLTR's meta-embedding, TDE's heads, MoCo's two encoders): DDP's gradient hooks sit on the
    parameters, not on the forward of the module it wraps."""

    def __init__(self, model: torch.nn.Module, step: Callable):
        super().__init__()
        self.model, self.step = model, step

    def forward(self, x, y, epoch: int):
        return self.step(self.model, x, y, epoch)


@torch.no_grad()
def predict(model, batches: TensorBatches, device, amp: bool, forward: Callable | None = None):
    """Logits (float32, CPU) and labels of every batch of one pass, in order. Under torchrun each
    process predicts its slice of every batch and every process gets all of them."""
    model.eval()
    parallel = processes.world_size() > 1
    outs, labels, sizes = [], [], []
    for x, y in batches.epoch(0, part=parallel):
        with autocast(device, amp):
            out = (forward or model)(x)
        outs.append(out.float() if parallel else out.float().cpu())  # NCCL gathers on the GPU
        labels.append(y if parallel else y.cpu())
        sizes.append(batches.batch_size)
    if parallel:
        sizes[-1] = len(batches.labels) - batches.batch_size * (len(sizes) - 1)
        return processes.gather_batches(outs, sizes).cpu(), processes.gather_batches(labels, sizes).cpu()
    return torch.cat(outs), torch.cat(labels)


@dataclass
class Progress:
    """What a run has done so far: a resumed run starts from it (the resume state is these fields and
    the model's, optimiser's and scheduler's states)."""

    epoch: int = 0  # epochs finished
    best: dict | None = None  # epoch, val_top1 and a CPU copy of the state dict of the best epoch
    history: list[dict] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)  # images a second of each epoch
    seconds: float = 0.0
    seen: int = 0


@dataclass
class EpochSums:
    """One epoch's training, summed over every process."""

    loss: torch.Tensor  # the summed loss of its images
    correct: torch.Tensor
    seen: int
    seconds: float
    first_bad: int  # the first batch with a non-finite loss, -1 if none

    @property
    def speed(self) -> float:
        return round(self.seen / self.seconds, 1)

    def row(self, epoch: int, val_top1: float, lr: float) -> dict:
        """The epoch's row of the history (train_summary.json, plots/training.csv, dvclive)."""
        return {
            "epoch": epoch + 1,
            "train_loss": round(self.loss.item() / self.seen, 5),
            "train_top1": round(100.0 * self.correct.item() / self.seen, 3),
            "val_top1": round(val_top1, 3),
            "lr": round(lr, 6),
        }


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train: TensorBatches,
    val: TensorBatches,
    cfg: TrainConfig,
    *,
    runtime: Runtime,
    log: Log,
    resume: ResumeState,
    objective: Objective | None = None,
) -> FitResult:
    """Train for cfg.epochs, keep the weights of the best val score and load them into `model`.
    runtime.compile compiles the backbone (or the whole model) in place, so that its state dict keeps
    its keys and method steps keep calling its sub-modules."""
    from dvclive import Live  # imports dvc: only the training stages pay for it

    objective, main, parallel = objective or Objective(), processes.is_main(), processes.world_size() > 1
    steps = _steps_per_epoch(train, cfg, runtime.max_steps, log.name)
    if runtime.compile:
        getattr(model, "backbone", model).compile()
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, steps))
    progress = _resume(resume, model, optimizer, scheduler, log.name)
    # after the resume state is loaded: DDP starts every process from rank 0's parameters
    train_step = processes.data_parallel(TrainStep(model, objective.step), runtime.device)
    # dvclive writes in place while the stage trains, so `dvc exp show` shows the running epoch
    live = Live(str(log.live_dir), dvcyaml=False, save_dvc_exp=False, report=None) if main else None
    for row, speed in zip(progress.history, progress.speeds, strict=True):  # a resumed run rewrites the rows it skips
        _log_row(live, row, speed)
    for epoch in range(progress.epoch, cfg.epochs):
        if _out_of_patience(progress, objective.patience, epoch):
            log(f"stopping early, no better val top-1 for {objective.patience} epochs")
            break
        batches = train.epoch(epoch, objective.views, part=parallel)
        bar = tqdm(
            batches,
            total=steps,
            disable=None if main else True,
            leave=False,
            desc=f"{log.name} {epoch + 1}/{cfg.epochs}",
        )
        sums = _train_epoch(model, train_step, optimizer, scheduler, bar, steps, epoch, runtime)
        if sums.first_bad >= 0:
            raise LtrError(
                f"{log.name}: the loss became nan or inf at epoch {epoch + 1}, batch {sums.first_bad + 1}; "
                f"lower the learning rate or check the data"
            )
        val_top1 = _val_top1(model, val, objective, runtime)
        row = sums.row(epoch, val_top1, optimizer.param_groups[0]["lr"])
        _advance(progress, model, row, val_top1, sums)
        _print_row(log.name, cfg.epochs, row, val_top1, sums)
        _log_row(live, row, sums.speed)
        _save(resume, progress, model, optimizer, scheduler, log.name)
    _end(live, progress)
    processes.barrier()  # no process reads a resume state that rank 0 is still writing
    model.load_state_dict(progress.best["state_dict"])
    best = progress.best
    return FitResult(best["epoch"], round(best["val_top1"], 3), progress.seconds, progress.seen, progress.history)


def _out_of_patience(progress: Progress, patience: int | None, epoch: int) -> bool:
    best = progress.best
    return patience is not None and best is not None and epoch - best["epoch"] >= patience


def _print_row(name: str, epochs: int, row: dict, val_top1: float, sums: EpochSums) -> None:
    print(
        f"{name} epoch {row['epoch']:3d}/{epochs}  loss {row['train_loss']:.4f}  train {row['train_top1']:5.1f}%  "
        f"val {val_top1:5.1f}%  lr {row['lr']:.4f}  {sums.speed:6.0f} img/s  {sums.seconds:5.1f}s",
        flush=True,
    )


def _steps_per_epoch(train: TensorBatches, cfg: TrainConfig, max_steps: int, name: str) -> int:
    """The steps of an epoch; a batch the processes cannot split evenly, or an epoch without a batch,
    is refused in one line."""
    if cfg.batch_size % processes.world_size():
        raise LtrError(
            f"{name}: batch_size = {cfg.batch_size} is not divisible by runtime.nproc = {processes.world_size()}; "
            f"every process takes an equal slice of each batch"
        )
    steps = min(train.num_batches(), max_steps or train.num_batches())
    if steps == 0:
        raise LtrError(f"{name}: too few training images for one batch (a batch needs 2 a process); add images")
    return steps


def _resume(resume: ResumeState, model, optimizer, scheduler, name: str) -> Progress:
    """The progress of an earlier run of the same inputs that was stopped, its states loaded; else none."""
    state = resume.load()
    if state is None:
        return Progress()
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    progress = Progress(
        state["epoch"], state["best"], state["history"], state["speeds"], state["seconds"], state["seen"]
    )
    SAVED_EPOCH.update(stage=name, epoch=progress.epoch)
    print(f"{name}: resuming after epoch {progress.epoch} from {resume.path}", flush=True)
    return progress


def _train_epoch(
    model, train_step, optimizer, scheduler, batches, steps: int, epoch: int, runtime: Runtime
) -> EpochSums:
    """SGD steps over `steps` batches, summed over every process."""
    device, parallel = runtime.device, processes.world_size() > 1
    model.train()
    t0 = time.perf_counter()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    first_bad = torch.full((), -1, device=device, dtype=torch.long)
    for i, (x, y) in enumerate(batches):
        if i == steps:
            break
        with autocast(device, runtime.amp):
            loss, logits, *targets = train_step(x, y, epoch)
        # remember the first non-finite batch on the device: a per-batch check would sync CUDA
        first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss.detach()), i, first_bad)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # under DDP this also averages the gradients over the processes
        optimizer.step()
        scheduler.step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == (targets[0] if targets else y)).sum()
        seen += len(y)
    if parallel:  # the epoch's row sums every process's slices; any non-finite loss stops all
        loss_sum, correct = processes.all_sum(loss_sum), processes.all_sum(correct)
        seen = int(processes.all_sum(torch.tensor(seen, device=device)).item())
        first_bad = processes.all_max(first_bad)
        processes.average_buffers(model)
    return EpochSums(loss_sum, correct, seen, time.perf_counter() - t0, int(first_bad.item()))


def _val_top1(model, val: TensorBatches, objective: Objective, runtime: Runtime) -> float:
    if objective.val_metric is not None:
        model.eval()
        with torch.no_grad(), autocast(runtime.device, runtime.amp):
            return float(objective.val_metric(model))
    val_logits, val_labels = predict(model, val, runtime.device, runtime.amp, objective.val_forward)
    return 100.0 * (val_logits.argmax(1) == val_labels).float().mean().item()


def _cpu_copy(state_dict: dict) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}


def _advance(progress: Progress, model, row: dict, val_top1: float, sums: EpochSums) -> None:
    """The finished epoch into the progress: its row, and the model's weights if its val score (unrounded)
    is the best so far."""
    progress.epoch, progress.seconds, progress.seen = (
        row["epoch"],
        progress.seconds + sums.seconds,
        progress.seen + sums.seen,
    )
    progress.history.append(row)
    progress.speeds.append(sums.speed)
    if progress.best is None or val_top1 > progress.best["val_top1"]:
        progress.best = {"epoch": row["epoch"], "val_top1": val_top1, "state_dict": _cpu_copy(model.state_dict())}


def _save(resume: ResumeState, progress: Progress, model, optimizer, scheduler, name: str) -> None:
    """The resume state after a finished epoch (rank 0 alone writes it)."""
    if not processes.is_main():
        return
    resume.save(
        {
            "epoch": progress.epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "best": progress.best,
            "history": progress.history,
            "speeds": progress.speeds,
            "seconds": progress.seconds,
            "seen": progress.seen,
        }
    )
    SAVED_EPOCH.update(stage=name, epoch=progress.epoch)


def _end(live, progress: Progress) -> None:
    if live is None:
        return
    live.summary.update(
        train_seconds=round(progress.seconds, 2),
        train_images=progress.seen,
        train_img_per_s=round(progress.seen / max(progress.seconds, 1e-9), 1),
    )
    live.end()


def _log_row(live, row: dict, speed: float) -> None:
    if live is None:
        return
    values = {**row, "img_per_s": speed}
    for key in LIVE_METRICS:
        live.log_metric(key, values[key])
    live.next_step()
