"""Self-supervised pre-training of a backbone on the long-tailed training images, labels unused: the
two recipes of Liu & Liu, "Investigate the Essence of Long-Tailed Recognition from a Unified
Perspective" (2021) — 4-way rotation prediction (Gidaris et al., ICLR 2018) and MoCo v2.

The pretrain stage writes backbone.pt; stage 1 starts from it, at `pretrain.stage1_lr` (its manifest
carries that rate and the pretext val accuracy). Model selection uses a val accuracy of
the pretext task itself (rotation accuracy; for MoCo, finding each val image's other view among the
batch), never a class label.
"""

import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr import processes
from ltr.config import PretrainConfig
from ltr.engine.context import Context
from ltr.models import Classifier, create_backbone
from ltr.models.moco import MoCo

ROTATIONS = 4  # 0, 90, 180, 270 degrees


def rotation_targets(n: int, gen: torch.Generator) -> torch.Tensor:
    """As the original's utils.rotation: the four rotations repeated n // 4 + 1 times, shuffled, the
    first n kept, so that each image gets one rotation and a batch holds each about n / 4 times."""
    repeated = torch.arange(ROTATIONS).repeat(n // ROTATIONS + 1)
    return repeated[torch.randperm(len(repeated), generator=gen)][:n]


def rotate(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Image i turned by k[i] quarter turns counter-clockwise in the (H, W) plane."""
    out = x.clone()
    for r in range(1, ROTATIONS):
        chosen = k == r
        if chosen.any():
            out[chosen] = torch.rot90(x[chosen], r, dims=(2, 3))
    return out


class RotationStep:
    """fit's step for rotation prediction. The rotations of a batch come from a generator seeded by
    (seed, epoch, batch), so they are the same after a resume and on every device; they are drawn for
    the whole batch, of which each process rotates its slice as one process would."""

    def __init__(self, seed: int):
        self.seed, self.epoch, self.batch = seed, None, 0

    def __call__(self, model, x, y, epoch):
        if epoch != self.epoch:
            self.epoch, self.batch = epoch, 0
        gen = torch.Generator().manual_seed(((self.seed * 1_000_003 + epoch) * 1_000_003 + self.batch) % 2**63)
        self.batch += 1
        n = len(x) * processes.world_size()  # training slices are equal
        targets = rotation_targets(n, gen)[processes.local_slice(n)].to(x.device)
        logits = model(rotate(x, targets))
        return F.cross_entropy(logits, targets), logits, targets


def rotation_accuracy(model, val) -> float:
    """Percent of val images whose rotation is recognised, each image tried at all four rotations."""
    correct = total = 0
    for x, _ in val.epoch(0):
        for r in range(ROTATIONS):
            k = torch.full((len(x),), r, device=x.device)
            correct += int((model(rotate(x, k)).argmax(1) == r).sum())
            total += len(x)
    return 100.0 * correct / total


def moco_step(model, views, y, epoch):
    x_query, x_key = views
    logits = model(x_query, x_key)
    targets = torch.zeros(len(logits), dtype=torch.long, device=logits.device)  # column 0: the positive key
    return F.cross_entropy(logits.float(), targets), logits, targets


def moco_accuracy(model, val) -> float:
    """Percent of val images whose second view's key is the nearest to its first view's query among
    the keys of its batch."""
    correct = total = 0
    for (x_query, x_key), _ in val.epoch(0, views=2):
        similarity = model.query(x_query) @ model.key(x_key).T
        correct += int((similarity.argmax(1) == torch.arange(len(similarity), device=similarity.device)).sum())
        total += len(similarity)
    return 100.0 * correct / total


def pretrain_backbone(ctx: Context, cfg: PretrainConfig) -> dict:
    """Pre-train under the `pretrain` params; the stage's backbone.pt is what stage 1 loads. Returns what
    the manifest adds: the lr of the stage 1 that starts from it, and the best pretext val accuracy."""
    torch.manual_seed(ctx.seed)
    backbone = create_backbone(ctx.models.arch)
    val_size = cfg.batch_size
    if cfg.kind == "rotation":
        model = Classifier(backbone, nn.Linear(backbone.out_dim, ROTATIONS))
        val = ctx.data.batches(ctx.data.split("val"), val_size)
        objective = {"step": RotationStep(ctx.seed), "val_metric": lambda m: rotation_accuracy(m, val)}
    else:
        model = MoCo(backbone, **dataclasses.asdict(cfg.moco))
        cfg = dataclasses.replace(cfg, augment="moco")  # two MoCo v2 views of each image
        val = ctx.data.batches(ctx.data.split("val"), val_size, augment="moco", seed=ctx.seed)
        objective = {"step": moco_step, "val_metric": lambda m: moco_accuracy(m, val), "views": 2}
    model = ctx.models.to_device(model)
    result = ctx.models.train(model, cfg, with_cost=False, **objective)
    ctx.models.save_backbone(model.backbone, kind=cfg.kind)
    ctx.log(f"{cfg.kind}, best val pretext accuracy {result.best_val_top1:.2f}% at epoch {result.best_epoch}")
    return {"kind": cfg.kind, "stage1_lr": cfg.stage1_lr, "val_top1": round(result.best_val_top1, 3)}
