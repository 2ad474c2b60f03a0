"""LDAM: label-distribution-aware margin loss (Cao et al., "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss", NeurIPS 2019).

The target logit is lowered by a class margin m_c = max_margin * n_c^(-1/4) / max_j n_j^(-1/4)
before cross-entropy. The logits are those of a cosine classifier scaled by s (30), so the margin
enters as s * m_c, as in the original and in RIDE. `weight` carries DRW's per-class weights; the
weighted mean is over the whole batch, every process's slice (ltr.processes).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr import processes


class LDAMLoss(nn.Module):
    def __init__(self, class_counts, max_margin: float = 0.5, scale: float = 30.0):
        super().__init__()
        margins = torch.as_tensor(class_counts, dtype=torch.float32).clamp_min(1) ** -0.25
        self.register_buffer("margins", scale * margins * (max_margin / margins.max()))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        shifted = logits - F.one_hot(labels, logits.shape[1]).to(logits.dtype) * self.margins[labels, None]
        loss = F.cross_entropy(shifted, labels, weight=weight)  # divided by the slice's sum of weights
        if weight is None:
            return loss
        return loss * processes.share_of_total(weight[labels].sum())
