"""torchvision's ResNet / ResNeXt as backbones for large images (ImageNet-LT, Places-LT, iNaturalist).

ResNet-10 (BasicBlock, [1, 1, 1, 1]) is OLTR's ImageNet-LT backbone; torchvision has no factory for it.
"""

import torch
import torch.nn as nn
from torchvision.models import resnet
from torchvision.models.resnet import BasicBlock, ResNet

FACTORIES = {
    "resnet10": lambda: ResNet(BasicBlock, [1, 1, 1, 1]),
    "resnet18": resnet.resnet18,
    "resnet50": resnet.resnet50,
    "resnet152": resnet.resnet152,
    "resnext50_32x4d": resnet.resnext50_32x4d,
}


class TorchvisionBackbone(nn.Module):
    """Backbone: forward_map(x) -> last stage's map; forward(x) -> pooled feature."""

    def __init__(self, arch: str):
        super().__init__()
        net = FACTORIES[arch]()  # random init: no weights can be downloaded at run time
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
