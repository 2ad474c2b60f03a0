"""Discriminative centroid loss of OLTR (Liu et al., "Large-Scale Long-Tailed Recognition in an Open
World", CVPR 2019, Eq. 7-9), as the released code computes it on the direct feature:

    L = sum_i |f_i - c_{y_i}|^2 / (2B)  +  repel_weight * max(0, margin - mean_{i,j != y_i} |f_i - c_j|^2)

where the mean runs over all B x C entries with the true-class entries set to zero. The centroids are
a parameter with their own learning rate.

The centroids' gradient of the attracting term: the original (loss/DiscCentroidsLoss.py) hand-wrote it
as a center-loss update, sum_{i: y_i = j} (c_j - f_i) / ((1 + n_j) B) with n_j the class's images in
the batch, and ignores the upstream gradient, so the 0.01 weight of the loss in the total does not slow
the centroids down ("original", the default: the published numbers come from these dynamics).
"autograd" gives the exact gradient of the loss as written instead, which the loss weight scales; the
centroids then move 1 / (weight x (1 + n_j)) times more slowly (20 to 100x here) and stay near their
initial class means. The features' gradient and the repelling term are autograd's in both.

Under several processes the loss is the whole batch's: n_j counts the class over every process's
slice, and the repelling hinge opens or shuts on the mean over all of them, so that the processes'
averaged gradients are one process's on the whole batch (ltr.processes).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr import processes

CENTROID_GRADIENTS = ("original", "autograd")


class _AttractWithCenterLossUpdate(torch.autograd.Function):
    """sum_i |f_i - c_{y_i}|^2 / (2B) with the original's hand-written backward; counts: 1 + n_j."""

    @staticmethod
    def forward(ctx, features, labels, centroids, counts):
        ctx.save_for_backward(features, labels, centroids, counts)
        return (features - centroids[labels]).pow(2).sum() / 2 / features.shape[0]

    @staticmethod
    def backward(ctx, grad_output):
        features, labels, centroids, counts = ctx.saved_tensors
        b = features.shape[0]
        diff = centroids[labels] - features
        counts = counts.to(diff.dtype)
        grad_centroids = torch.zeros_like(centroids).index_add_(0, labels, diff) / counts[:, None] / b
        return -grad_output * diff / b, None, grad_centroids, None  # the centroids' part: no grad_output


class DiscCentroidsLoss(nn.Module):
    def __init__(
        self,
        num_classes: int,
        dim: int,
        margin: float = 10.0,
        repel_weight: float = 0.01,
        centroid_gradient: str = "original",
    ):
        super().__init__()
        if centroid_gradient not in CENTROID_GRADIENTS:
            raise ValueError(f"centroid_gradient {centroid_gradient!r}: allowed {CENTROID_GRADIENTS}")
        self.margin, self.repel_weight, self.centroid_gradient = margin, repel_weight, centroid_gradient
        self.centroids = nn.Parameter(torch.randn(num_classes, dim))

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        b, c = features.shape[0], self.centroids.shape[0]
        if self.centroid_gradient == "original":
            counts = 1 + processes.all_sum(torch.bincount(labels, minlength=c).float())
            attract = _AttractWithCenterLossUpdate.apply(features, labels, self.centroids, counts)
        else:
            attract = (features - self.centroids[labels]).pow(2).sum() / 2 / b
        squared = (
            features.pow(2).sum(1, keepdim=True) + self.centroids.pow(2).sum(1) - 2 * features @ self.centroids.t()
        )
        squared = squared * (1 - F.one_hot(labels, c).to(squared.dtype))
        mean_distance = squared.sum() / (b * c)
        # the original's clamp(margin - mean, 0, 1e6), its upper bound out of reach (distances >= 0)
        open_hinge = (self.margin - processes.global_mean(mean_distance)) > 0
        repel = (self.margin - mean_distance) * open_hinge.to(mean_distance.dtype)
        return attract + self.repel_weight * repel
