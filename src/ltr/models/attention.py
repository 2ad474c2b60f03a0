"""Modulated attention of OLTR (Liu et al., CVPR 2019, Sec. 3.2) on the last feature map.

A non-local (embedded Gaussian) self-attention branch, modulated by a spatial attention over the map
positions, added to the input. conv_mask starts at zero, so the block is exactly the identity at
initialisation and stage 2 starts from the stage-1 features. The original hard-codes a 7x7 map
(224 input); here the spatial branch is built for the map size it is given.
"""

import torch
import torch.nn as nn


class ModulatedAttention(nn.Module):
    def __init__(self, channels: int, height: int, width: int):
        super().__init__()
        inner = channels // 2
        self.g = nn.Conv2d(channels, inner, 1)
        self.theta = nn.Conv2d(channels, inner, 1)
        self.phi = nn.Conv2d(channels, inner, 1)
        self.conv_mask = nn.Conv2d(inner, channels, 1, bias=False)
        self.fc_spatial = nn.Linear(channels * height * width, height * width)
        for conv in (self.g, self.theta, self.phi):
            nn.init.kaiming_normal_(conv.weight)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.conv_mask.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        query = self.theta(x).flatten(2).transpose(1, 2)  # (B, HW, C/2)
        key = self.phi(x).flatten(2)  # (B, C/2, HW)
        value = self.g(x).flatten(2).transpose(1, 2)  # (B, HW, C/2)
        attention = torch.softmax(query @ key, dim=-1)  # no 1/sqrt(d) scaling, as in the original
        non_local = self.conv_mask((attention @ value).transpose(1, 2).reshape(b, c // 2, h, w))
        spatial = torch.softmax(self.fc_spatial(x.reshape(b, -1)), dim=1).view(b, 1, h, w)
        return spatial * non_local + x
