"""Discriminative centroid loss of OLTR (Liu et al., "Large-Scale Long-Tailed Recognition in an Open
World", CVPR 2019, Eq. 7-9), as the released code computes it on the direct feature:

    L = sum_i |f_i - c_{y_i}|^2 / (2B)  +  repel_weight * max(0, margin - mean_{i,j != y_i} |f_i - c_j|^2)

where the mean runs over all B x C entries with the true-class entries set to zero. The centroids are
a parameter with their own learning rate. The original hand-wrote the centroids' gradient of the
attracting term (a center-loss update that ignores the 0.01 loss weight); here autograd gives the
exact gradient of the loss as written, so the loss weight scales every update.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class DiscCentroidsLoss(nn.Module):
    def __init__(self, num_classes: int, dim: int, margin: float = 10.0, repel_weight: float = 0.01):
        super().__init__()
        self.margin, self.repel_weight = margin, repel_weight
        self.centroids = nn.Parameter(torch.randn(num_classes, dim))

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        b, c = features.shape[0], self.centroids.shape[0]
        attract = (features - self.centroids[labels]).pow(2).sum() / 2 / b
        squared = (
            features.pow(2).sum(1, keepdim=True) + self.centroids.pow(2).sum(1) - 2 * features @ self.centroids.t()
        )
        squared = squared * (1 - F.one_hot(labels, c).to(squared.dtype))
        repel = (self.margin - squared.sum() / (b * c)).clamp(0, 1e6)
        return attract + self.repel_weight * repel
