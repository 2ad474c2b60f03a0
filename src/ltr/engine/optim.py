"""The optimiser of every training stage: SGD over parameter groups, each at its own rate (its
schedule is ltr.engine.schedule's)."""

import torch

from ltr.config import TrainConfig

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


def make_sgd(groups: list[dict], cfg: TrainConfig) -> torch.optim.SGD:
    return torch.optim.SGD(
        groups,
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        nesterov=cfg.nesterov and cfg.momentum > 0,
    )
