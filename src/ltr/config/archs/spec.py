"""What an architecture declares: its family, which says how ltr.models builds it, and the numbers
that family's builder takes. Torch-free: params validate against these without importing a model."""

from dataclasses import dataclass
from enum import Enum


class Family(Enum):
    CIFAR_RESNET = "cifar_resnet"  # He et al.'s 6n+2-layer ResNets for 32-pixel images (ltr.models.resnet_cifar)
    TORCHVISION_RESNET = "torchvision_resnet"  # torchvision's ResNet / ResNeXt for 224-pixel images


@dataclass(frozen=True)
class ArchSpec:
    name: str  # model.arch, and what a checkpoint records
    family: Family
    depth: int  # weighted layers; a CIFAR ResNet is built from it alone
    # the torchvision builder's ResNet(block, layers, groups, width_per_group): residual blocks per stage,
    # bottleneck blocks (else basic ones), and ResNeXt's grouped convolutions
    layers: tuple[int, ...] = ()
    bottleneck: bool = False
    groups: int = 1
    width_per_group: int = 64
