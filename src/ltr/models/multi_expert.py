"""The multi-expert network of RIDE (Wang et al., ICLR 2021) and TADE (Zhang et al., 2021): the
stem and early stages are shared, each expert owns the last `expert_stages` residual stages and a
cosine classifier (scale 30): by default CIFAR ResNets share the first stage, torchvision ResNets the
stem, layer1 and layer2 (Places-LT's ResNet-152 shares layer3 too: expert_stages 1).
`reduce_dimension` narrows each expert's stages (CIFAR: 24 / 48 channels instead of 32 / 64;
torchvision: 192 / 384 planes instead of 256 / 512) so that three experts cost about 1.5 models.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.config.archs import ArchSpec, Family
from ltr.models import arch_spec
from ltr.models.heads import NormedLinear
from ltr.models.resnet_cifar import BasicBlock, CifarResNet


def _kaiming(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


def _cifar_split(depth: int, reduce: bool, expert_stages: int):
    base = CifarResNet(depth)
    n, stages = base.blocks_per_stage, base.residual_stages()
    shared = 3 - expert_stages
    trunk = nn.Sequential(base.conv1, base.bn1, nn.ReLU(), *(b for stage in stages[:shared] for b in stage))
    widths = (16, 24, 48) if reduce else (16, 32, 64)  # reduce_dimension narrows only the experts' stages

    def branch() -> nn.Module:
        blocks, cin = [], (16, 32, 64)[shared - 1]
        for w in widths[shared:]:
            blocks += [BasicBlock(cin, w, 2), *(BasicBlock(w, w, 1) for _ in range(n - 1))]
            cin = w
        return _kaiming(nn.Sequential(*blocks))

    return trunk, branch, widths[-1]


def _torchvision_split(spec: ArchSpec, reduce: bool, expert_stages: int):
    from ltr.models.resnet_torchvision import build_resnet

    net = build_resnet(spec)
    stages = [net.layer1, net.layer2, net.layer3, net.layer4]
    shared = 4 - expert_stages
    trunk = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, *stages[:shared])
    block = type(net.layer4[0])
    planes = (64, 128, 192, 384) if reduce else (64, 128, 256, 512)  # narrows only the experts' stages

    def branch() -> nn.Module:
        net.inplanes = (64, 128, 256, 512)[shared - 1] * block.expansion  # the shared trunk's output width
        layers = [net._make_layer(block, planes[i], len(stages[i]), stride=2) for i in range(shared, 4)]
        return _kaiming(nn.Sequential(*layers))

    return trunk, branch, planes[-1] * block.expansion


class MultiExpertNet(nn.Module):
    def __init__(
        self,
        arch: str,
        num_classes: int,
        num_experts: int = 3,
        reduce_dimension: bool = True,
        expert_stages: int = 2,
        scale: float = 30.0,
    ):
        super().__init__()
        spec = arch_spec(arch)
        if spec.family is Family.CIFAR_RESNET:
            trunk, branch, dim = _cifar_split(spec.depth, reduce_dimension, expert_stages)
        else:
            trunk, branch, dim = _torchvision_split(spec, reduce_dimension, expert_stages)
        self.trunk = trunk
        self.branches = nn.ModuleList(branch() for _ in range(num_experts))
        self.heads = nn.ModuleList(NormedLinear(dim, num_classes, scale) for _ in range(num_experts))
        self.out_dim = dim

    def expert_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, E, C): each expert's scaled cosine logits."""
        shared = self.trunk(x)
        return torch.stack(
            [
                head(torch.flatten(F.adaptive_avg_pool2d(branch(shared), 1), 1))
                for branch, head in zip(self.branches, self.heads, strict=True)
            ],
            dim=1,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The ensemble: the mean of the expert logits."""
        return self.expert_logits(x).mean(dim=1)
