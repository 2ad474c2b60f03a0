"""Joint calibration of class-balanced experts (Sharma et al., "Long-Tailed Recognition Using
Class-Balanced Experts", GCPR 2020, Sec. 3.3).

Each expert e scores its own classes plus a reject ("others") class. Its reject logit is first
shifted by log((1 + r_e) / 2), which moves the "others" prior it was trained with (1 image in 1 + r_e)
to one half. Then a learned temperature a and bias b per expert logit (initialised to 1),
p_e = softmax(a_e * z_e + b_e), the reject probability is dropped, each expert's probabilities are
placed at its classes in one vector over all classes, and the vector is renormalised. The output is
the log of that distribution: training minimises its NLL, and a class is predicted over the known
classes only, never "others".
"""

import math

import torch
import torch.nn as nn


class JointCalibration(nn.Module):
    def __init__(self, class_lists: list[list[int]], open_ratios: list[float], num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.class_lists = [list(c) for c in class_lists]
        sizes = [len(c) + 1 for c in class_lists]
        self.temperature = nn.ParameterList([nn.Parameter(torch.ones(n)) for n in sizes])
        self.bias = nn.ParameterList([nn.Parameter(torch.ones(n)) for n in sizes])
        shifts = [torch.zeros(n) for n in sizes]
        for shift, ratio in zip(shifts, open_ratios, strict=True):
            shift[-1] = math.log((1 + ratio) / 2)
        for i, shift in enumerate(shifts):
            self.register_buffer(f"reject_shift_{i}", shift)
        for i, classes in enumerate(class_lists):
            self.register_buffer(f"classes_{i}", torch.as_tensor(classes, dtype=torch.long))

    def forward(self, expert_logits: list[torch.Tensor]) -> torch.Tensor:
        """expert_logits[e]: (N, K_e + 1) raw logits, reject last -> (N, C) log-probabilities."""
        fused = expert_logits[0].new_zeros(len(expert_logits[0]), self.num_classes)
        for i, z in enumerate(expert_logits):
            z = z + getattr(self, f"reject_shift_{i}")
            probs = torch.softmax(self.temperature[i] * z + self.bias[i], dim=1)[:, :-1]
            fused[:, getattr(self, f"classes_{i}")] = probs
        return torch.log(fused / fused.sum(dim=1, keepdim=True))
