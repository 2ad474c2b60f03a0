"""Backbones and classifiers. A model maps images to logits and exposes its pooled features."""

import torch
import torch.nn as nn

from ltr.config.archs import ARCHS, ArchSpec, Family
from ltr.models.resnet_cifar import CifarResNet


def arch_spec(arch: str) -> ArchSpec:
    """The registered architecture `arch` (ltr.config.archs); a checkpoint names it by its name."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(ARCHS)}")
    return ARCHS[arch]


def create_backbone(arch: str) -> nn.Module:
    spec = arch_spec(arch)
    if spec.family is Family.CIFAR_RESNET:
        return CifarResNet(spec.depth)
    from ltr.models.resnet_torchvision import TorchvisionBackbone  # torchvision costs 1.3 s to import

    return TorchvisionBackbone(spec)


class Classifier(nn.Module):
    """backbone -> pooled feature -> head. `head` is any module mapping features to logits."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone, self.head = backbone, head

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class FrozenBackbone(nn.Module):
    """A backbone whose weights stay what they were (no gradients) while the model around it trains.
    Its BatchNorm follows the model's mode, so in training its statistics are re-estimated on what the
    method samples (class-balanced for cRT, LWS, SSP and the few-shot expert): the originals call
    train() on every network and only stop the backbone's gradients."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone.requires_grad_(False)
        self.out_dim = backbone.out_dim

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.backbone.forward_map(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.backbone(x)


def train_last_stages(backbone: nn.Module, stages: int) -> nn.Module:
    """Keep only the last `stages` residual stages of a backbone trainable (-1: all of it; 0: none, a
    FrozenBackbone). Frozen parts keep updating BN statistics in train mode, as the class-balanced
    experts code does."""
    if stages < 0:
        return backbone
    if stages == 0:
        return FrozenBackbone(backbone)
    backbone.requires_grad_(False)
    for stage in backbone.residual_stages()[-stages:]:
        stage.requires_grad_(True)
    return backbone


def create_model(arch: str, num_classes: int) -> Classifier:
    """The stage-1 model: a backbone and a linear head."""
    backbone = create_backbone(arch)
    return Classifier(backbone, nn.Linear(backbone.out_dim, num_classes))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
