"""The train loop shared by every training stage: SGD steps, per-epoch validation, best checkpoint,
one summary row per epoch (stdout and dvclive) and resume after a kill from the last finished epoch.

What the loop returns (the best epoch, the per-epoch history) depends on the inputs alone, so the
stage outputs made from it are the same on every run; timings go only to the dvclive log.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
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


def cross_entropy_step(model, x, y, epoch):
    """The default training step: (loss, logits) of plain cross-entropy."""
    logits = model(x)
    return F.cross_entropy(logits, y), logits


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


def _cpu_copy(state_dict: dict) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train: TensorBatches,
    val: TensorBatches,
    cfg: TrainConfig,
    *,
    device,
    amp: bool,
    resume: ResumeState,
    live_dir: Path,
    name: str,
    step: Callable = cross_entropy_step,
    val_forward: Callable | None = None,
    val_metric: Callable | None = None,
    patience: int | None = None,
    views: int = 1,
    compile: bool = False,
    max_steps: int = 0,
) -> FitResult:
    """Train for cfg.epochs, keep the weights of the best val top-1 and load them into `model`.

    step(model, x, y, epoch) -> (loss, logits) or (loss, logits, targets) when the training accuracy
    is not against y (self-supervised tasks); val_forward(x) -> logits used for model selection;
    val_metric(model) -> the val accuracy in percent, in place of the top-1 of val's labels;
    patience: stop early once that many epochs passed without a better val top-1;
    views: augmented views of each training image given to step as a list (MoCo's two);
    compile: torch.compile the backbone (or the whole model) in place, so that its state dict keeps
    its keys and method steps keep calling its sub-modules; max_steps: end every epoch after that
    many steps (0: never), to check quickly that a configuration trains.
    """
    from dvclive import Live  # imports dvc: only the training stages pay for it

    main, parallel = processes.is_main(), processes.world_size() > 1
    if cfg.batch_size % processes.world_size():
        raise LtrError(
            f"{name}: batch_size = {cfg.batch_size} is not divisible by runtime.nproc = {processes.world_size()}; "
            f"every process takes an equal slice of each batch"
        )
    if compile:
        getattr(model, "backbone", model).compile()
    steps = min(train.num_batches(), max_steps or train.num_batches())
    if steps == 0:
        raise LtrError(f"{name}: too few training images for one batch (a batch needs 2 a process); add images")
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, steps))
    start, best, history, speeds, seconds, seen_total = 0, None, [], [], 0.0, 0
    state = resume.load()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start, best, history, speeds = state["epoch"], state["best"], state["history"], state["speeds"]
        seconds, seen_total = state["seconds"], state["seen"]
        SAVED_EPOCH.update(stage=name, epoch=start)
        print(f"{name}: resuming after epoch {start} from {resume.path}", flush=True)

    # after the resume state is loaded: DDP starts every process from rank 0's parameters
    train_step = processes.data_parallel(TrainStep(model, step), device)
    # dvclive writes in place while the stage trains, so `dvc exp show` shows the running epoch
    live = Live(str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None) if main else None
    for row, speed in zip(history, speeds, strict=True):  # a resumed run rewrites the rows it skips
        _log_row(live, row, speed)

    for epoch in range(start, cfg.epochs):
        if patience is not None and best is not None and epoch - best["epoch"] >= patience:
            print(f"{name}: stopping early, no better val top-1 for {patience} epochs", flush=True)
            break
        model.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        first_bad = torch.full((), -1, device=device, dtype=torch.long)
        bar = tqdm(
            train.epoch(epoch, views, part=parallel),
            total=steps,
            disable=None if main else True,
            leave=False,
            desc=f"{name} {epoch + 1}/{cfg.epochs}",
        )
        for i, (x, y) in enumerate(bar):
            if i == steps:
                break
            with autocast(device, amp):
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
        if first_bad.item() >= 0:
            raise LtrError(
                f"{name}: the loss became nan or inf at epoch {epoch + 1}, batch {first_bad.item() + 1}; "
                f"lower the learning rate or check the data"
            )
        epoch_seconds = time.perf_counter() - t0
        seconds += epoch_seconds
        seen_total += seen

        if val_metric is not None:
            model.eval()
            with torch.no_grad(), autocast(device, amp):
                val_top1 = float(val_metric(model))
        else:
            val_logits, val_labels = predict(model, val, device, amp, val_forward)
            val_top1 = 100.0 * (val_logits.argmax(1) == val_labels).float().mean().item()
        row = {
            "epoch": epoch + 1,
            "train_loss": round(loss_sum.item() / seen, 5),
            "train_top1": round(100.0 * correct.item() / seen, 3),
            "val_top1": round(val_top1, 3),
            "lr": round(optimizer.param_groups[0]["lr"], 6),
        }
        speed = round(seen / epoch_seconds, 1)
        history.append(row)
        speeds.append(speed)
        if best is None or val_top1 > best["val_top1"]:
            best = {"epoch": epoch + 1, "val_top1": val_top1, "state_dict": _cpu_copy(model.state_dict())}
        print(
            f"{name} epoch {epoch + 1:3d}/{cfg.epochs}  loss {row['train_loss']:.4f}  train {row['train_top1']:5.1f}%  "
            f"val {val_top1:5.1f}%  lr {row['lr']:.4f}  {speed:6.0f} img/s  {epoch_seconds:5.1f}s",
            flush=True,
        )
        _log_row(live, row, speed)
        if main:
            resume.save(
                {
                    "epoch": epoch + 1,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "best": best,
                    "history": history,
                    "speeds": speeds,
                    "seconds": seconds,
                    "seen": seen_total,
                }
            )
            SAVED_EPOCH.update(stage=name, epoch=epoch + 1)
    if live is not None:
        live.summary.update(
            train_seconds=round(seconds, 2),
            train_images=seen_total,
            train_img_per_s=round(seen_total / max(seconds, 1e-9), 1),
        )
        live.end()
    processes.barrier()  # no process reads a resume state that rank 0 is still writing

    model.load_state_dict(best["state_dict"])
    return FitResult(best["epoch"], round(best["val_top1"], 3), seconds, seen_total, history)


def _log_row(live, row: dict, speed: float) -> None:
    if live is None:
        return
    values = {**row, "img_per_s": speed}
    for key in LIVE_METRICS:
        live.log_metric(key, values[key])
    live.next_step()
