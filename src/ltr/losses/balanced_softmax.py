"""Balanced Softmax (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS
2020), which is also the logit-adjusted loss of Menon et al. ("Long-Tail Learning via Logit
Adjustment", ICLR 2021) with tau = 1:

    L = CE(z + tau * log(prior), y)

Trained this way, the plain logits z estimate the balanced posterior: predict with z. TADE's second
expert uses it with tau = 1; its third uses an inverse prior.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class BalancedSoftmaxLoss(nn.Module):
    def __init__(self, prior: torch.Tensor, tau: float = 1.0):
        super().__init__()
        self.register_buffer("shift", tau * torch.log(prior))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits + self.shift, labels)
