"""RIDE's loss (Wang et al., "Long-tailed Recognition by Routing Diverse Distribution-Aware Experts",
ICLR 2021): for every expert, LDAM with deferred re-weighting, plus a distribution-aware diversity
term. With z_e the expert logits and z the (detached) ensemble mean,

    L = sum_e [ LDAM(z_e, y; weight) + lambda * mean(T)^2 * KL(softmax(z / T) || softmax(z_e / T)) ]

lambda is negative, so minimising L pushes each expert away from the ensemble. In the re-weighting
phase the class-balanced weights switch on and the temperature becomes class-dependent,
T_c = T0 * w_c with w_c = (C pi_c r + 1 - r) / max_j (C pi_j r + 1 - r), hotter for frequent classes.
(The original silently switches to a different loss when lambda is 0; here lambda 0 is just no
diversity term.)
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.losses.class_balanced import effective_number_weights
from ltr.losses.ldam import LDAMLoss


class RIDELoss(nn.Module):
    def __init__(
        self,
        class_counts,
        max_margin: float = 0.5,
        scale: float = 30.0,
        diversity_weight: float = -0.45,
        temperature: float = 1.0,
        reweight_factor: float = 0.05,
        beta: float = 0.9999,
    ):
        super().__init__()
        counts = torch.as_tensor(class_counts, dtype=torch.float32)
        self.ldam = LDAMLoss(counts, max_margin, scale)
        self.diversity_weight, self.temperature = diversity_weight, temperature
        prior = counts / counts.sum()
        spread = len(counts) * prior * reweight_factor + 1 - reweight_factor
        self.register_buffer("class_temperature", temperature * spread / spread.max())
        self.register_buffer("class_weights", effective_number_weights(counts, beta))

    def forward(self, expert_logits: torch.Tensor, labels: torch.Tensor, reweight: bool) -> torch.Tensor:
        """expert_logits: (B, E, C); reweight: the deferred re-weighting phase has begun."""
        weight = self.class_weights if reweight else None
        temperature = self.class_temperature if reweight else torch.full_like(self.class_temperature, self.temperature)
        ensemble = expert_logits.mean(dim=1).detach()
        target = F.softmax(ensemble / temperature, dim=1)
        factor = self.diversity_weight * temperature.mean() ** 2
        loss = expert_logits.new_zeros(())
        for e in range(expert_logits.shape[1]):
            z = expert_logits[:, e]
            loss = loss + self.ldam(z, labels, weight=weight)
            if self.diversity_weight:
                loss = loss + factor * F.kl_div(F.log_softmax(z / temperature, dim=1), target, reduction="batchmean")
        return loss
