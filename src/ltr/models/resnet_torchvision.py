"""torchvision's ResNet / ResNeXt as backbones for large images (ImageNet-LT, Places-LT, iNaturalist),
built from the block layout their spec declares (ltr.config.archs.torchvision_resnet).
"""

import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from ltr.config.archs import ArchSpec


def build_resnet(spec: ArchSpec) -> ResNet:
    """What torchvision's factory of the same name builds without weights, the same random draws
    included (ResNet-10 has no factory: OLTR's ResNet(BasicBlock, [1, 1, 1, 1]))."""
    block = Bottleneck if spec.bottleneck else BasicBlock
    return ResNet(block, list(spec.layers), groups=spec.groups, width_per_group=spec.width_per_group)


class TorchvisionBackbone(nn.Module):
    """Backbone: forward_map(x) -> last stage's map; forward(x) -> pooled feature."""

    def __init__(self, spec: ArchSpec):
        super().__init__()
        net = build_resnet(spec)  # random init: no weights can be downloaded at run time
        self.out_dim = net.fc.in_features
        net.fc = nn.Identity()
        self.net = net

    def residual_stages(self) -> list[nn.Module]:
        return [self.net.layer1, self.net.layer2, self.net.layer3, self.net.layer4]

    def forward_map(self, x):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        return n.layer4(n.layer3(n.layer2(n.layer1(x))))

    def forward(self, x):
        return torch.flatten(self.net.avgpool(self.forward_map(x)), 1)
