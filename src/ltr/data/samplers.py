"""Samplers that rebalance classes: each returns the image indices of one epoch.

ClassAwareSampler is the sampler of OLTR and Decoupling (Shen et al., ECCV 2016): classes are drawn
from a cycle over all classes, reshuffled whenever it is exhausted, and each draw takes the next
`per_class` images of that class from its own cycle, reshuffled at every wrap-around. With
`per_class = 1` it is plain class-balanced sampling. An epoch has floor(N / batch) batches, as in the
original training loop. The cycles restart each epoch from the epoch's generator, so a resumed run
draws the same batches.
"""

import numpy as np
import torch


class ClassAwareSampler:
    def __init__(self, labels, num_classes: int, per_class: int, num_samples: int):
        labels = np.asarray(labels)
        self.by_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
        self.classes = [c for c in range(num_classes) if len(self.by_class[c])]
        self.per_class, self.num_samples = per_class, num_samples

    def __call__(self, gen: torch.Generator) -> torch.Tensor:
        out = np.empty(self.num_samples, dtype=np.int64)
        class_cycle, class_pos = [], 0
        cycles = {c: (None, len(self.by_class[c])) for c in self.classes}  # class -> (order, position)
        n = 0
        while n < self.num_samples:
            if class_pos == len(class_cycle):
                class_cycle, class_pos = torch.randperm(len(self.classes), generator=gen).tolist(), 0
            c = self.classes[class_cycle[class_pos]]
            class_pos += 1
            order, pos = cycles[c]
            for _ in range(min(self.per_class, self.num_samples - n)):
                if pos == len(self.by_class[c]):
                    order, pos = torch.randperm(len(self.by_class[c]), generator=gen).numpy(), 0
                out[n] = self.by_class[c][order[pos]]
                n, pos = n + 1, pos + 1
            cycles[c] = (order, pos)
        return torch.from_numpy(out)


def epoch_size(num_images: int, batch_size: int) -> int:
    """Samples per epoch of a rebalancing sampler: floor(N / batch) full batches (OLTR, Decoupling)."""
    return (num_images // batch_size) * batch_size
