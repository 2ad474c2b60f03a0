"""MoCo v2 (He et al., "Momentum Contrast for Unsupervised Visual Representation Learning", CVPR 2020;
Chen et al., "Improved Baselines with Momentum Contrastive Learning", 2020): a query encoder trained
by InfoNCE against a momentum-averaged key encoder and a queue of earlier keys.

One process holds the whole batch, so the original's cross-GPU shuffled BatchNorm is not used; its
purpose is to stop BN statistics leaking which key matches which query, which matters less with the
small batches and queue here than with 256 x 8 GPUs.
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr import processes


class MoCo(nn.Module):
    def __init__(self, backbone: nn.Module, dim: int, queue: int, key_momentum: float, temperature: float):
        super().__init__()
        width = backbone.out_dim
        # MoCo v2's MLP head: the backbone feature -> hidden -> ReLU -> dim
        self.query_encoder = nn.Sequential(backbone, nn.Linear(width, width), nn.ReLU(), nn.Linear(width, dim))
        self.key_encoder = copy.deepcopy(self.query_encoder).requires_grad_(False)
        self.key_momentum, self.temperature = key_momentum, temperature
        self.register_buffer("queue", F.normalize(torch.randn(queue, dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    @property
    def backbone(self) -> nn.Module:
        return self.query_encoder[0]

    @torch.no_grad()
    def momentum_update(self) -> None:
        for q, k in zip(self.query_encoder.parameters(), self.key_encoder.parameters(), strict=True):
            k.mul_(self.key_momentum).add_(q.detach(), alpha=1 - self.key_momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Replace the oldest keys (a ring buffer; a batch may wrap around its end)."""
        n = len(self.queue)
        keys = processes.concat_all(keys)[-n:]  # every process's keys, so that all queues stay equal
        slots = (self.queue_ptr + torch.arange(len(keys), device=keys.device)) % n
        self.queue[slots] = keys.to(self.queue.dtype)
        self.queue_ptr.copy_((self.queue_ptr + len(keys)) % n)

    def query(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.query_encoder(x).float(), dim=1)

    @torch.no_grad()
    def key(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.key_encoder(x).float(), dim=1)

    def forward(self, x_query: torch.Tensor, x_key: torch.Tensor) -> torch.Tensor:
        """InfoNCE logits (N, 1 + queue): column 0 is each query's own key, the rest the queue; the
        key encoder steps first and this batch's keys then join the queue, as in the original."""
        q = self.query(x_query)
        if self.training:
            self.momentum_update()
        k = self.key(x_key)
        positive = (q * k).sum(1, keepdim=True)
        negative = q @ self.queue.clone().T
        logits = torch.cat([positive, negative], dim=1) / self.temperature
        if self.training:
            self.enqueue(k)
        return logits
