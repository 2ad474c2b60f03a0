"""ResNets for 32x32 inputs (He et al., CVPR 2016, Sec. 4.2): 6n+2 layers, widths 16/32/64.

The shortcut is option A (identity, stride-2 subsampling, zero-padded channels), as in the
LDAM-DRW / RIDE / TADE ResNet-32.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def shortcut(self, x):
        if self.stride != 1:
            x = x[:, :, ::2, ::2]
        if self.pad:
            x = F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return x

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    """Backbone: forward_map(x) -> (B, 64, H/4, W/4); forward(x) -> pooled feature (B, 64)."""

    def __init__(self, depth: int, widths=(16, 32, 64)):
        super().__init__()
        assert (depth - 2) % 6 == 0, "CIFAR ResNet depth must be 6n+2"
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            for j in range(n):
                blocks.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.blocks_per_stage = n
        self.out_dim = widths[-1]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def residual_stages(self) -> list[nn.Module]:
        """The three stages of n blocks (widths 16, 32, 64), first to last."""
        n = self.blocks_per_stage
        return [self.blocks[i * n : (i + 1) * n] for i in range(3)]

    def forward_map(self, x):
        return self.blocks(F.relu(self.bn1(self.conv1(x))))

    def forward(self, x):
        return torch.flatten(F.adaptive_avg_pool2d(self.forward_map(x), 1), 1)
