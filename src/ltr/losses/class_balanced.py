"""Class-balanced weights from the effective number of samples (Cui et al., "Class-Balanced Loss
Based on Effective Number of Samples", CVPR 2019): w_c = (1 - beta) / (1 - beta^n_c), normalised to
sum to the number of classes. LDAM-DRW and RIDE apply them in the deferred re-weighting phase."""

import torch


def effective_number_weights(class_counts, beta: float = 0.9999) -> torch.Tensor:
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    weights = (1 - beta) / (1 - beta**counts)
    return (weights / weights.sum() * len(counts)).float()
