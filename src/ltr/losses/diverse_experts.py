"""TADE's diverse-expert loss (Zhang et al., "Test-Agnostic Long-Tailed Recognition by Test-Time
Aggregating Diverse Experts with Self-Supervision", 2021). Three experts learn three label
distributions from one long-tailed training set:

    L = CE(z_1, y)                                       forward (head-favouring) expert
      + CE(z_2 + log pi, y)                              uniform expert: Balanced Softmax
      + CE(z_3 + log pi - tau * log pi_inv, y)           backward (tail-favouring) expert

pi is the training prior and pi_inv the rank-reversed prior: the most frequent class gets the
smallest prior value, and so on (not 1 / pi).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.losses.balanced_softmax import BalancedSoftmaxLoss

EPS = 1e-9  # inside the logs, as the original


def rank_reversed_prior(prior: torch.Tensor) -> torch.Tensor:
    """The prior values in reversed rank order: the class with rank r gets the value of rank C-1-r."""
    values, order = torch.sort(prior)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(prior), device=prior.device)
    return values[len(prior) - 1 - rank]


class DiverseExpertLoss(nn.Module):
    def __init__(self, prior: torch.Tensor, tau: float = 2.0):
        super().__init__()
        self.uniform = BalancedSoftmaxLoss(prior + EPS)
        self.register_buffer(
            "backward_shift", torch.log(prior + EPS) - tau * torch.log(rank_reversed_prior(prior) + EPS)
        )

    def forward(self, expert_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """expert_logits: (B, 3, C)."""
        forward, uniform, backward = expert_logits.unbind(dim=1)
        return (
            F.cross_entropy(forward, labels)
            + self.uniform(uniform, labels)
            + F.cross_entropy(backward + self.backward_shift, labels)
        )
