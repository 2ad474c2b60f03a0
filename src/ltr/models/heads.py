"""Classifier heads beyond the linear one."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class CosNormClassifier(nn.Module):
    """OLTR's cosine-norm classifier: `scale * <squash(v), w_j / |w_j|>` with
    squash(v) = |v| / (1 + |v|) * v / |v|, so the logits grow with the feature norm (Liu et al., 2019)."""

    def __init__(self, dim: int, num_classes: int, scale: float = 16.0):
        super().__init__()
        self.scale = scale
        bound = 1.0 / math.sqrt(dim)
        self.weight = nn.Parameter(torch.empty(num_classes, dim).uniform_(-bound, bound))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        norm = v.norm(dim=1, keepdim=True)
        squashed = v / (1 + norm)  # = |v| / (1 + |v|) * v / |v|, without dividing by a zero norm
        return self.scale * squashed @ F.normalize(self.weight, dim=1).t()


class MetaEmbeddingClassifier(nn.Module):
    """OLTR's meta embedding (Liu et al., CVPR 2019, Sec. 3.1-3.3).

    v_meta = (reach / min_j |x - c_j|) * (x + tanh(W_sel x) * softmax(W_hal x) @ centroids), classified by
    the cosine-norm classifier. Images far from every centroid get a small v_meta, hence small logits
    and a low max softmax probability: that is the open-set mechanism.
    """

    def __init__(self, dim: int, num_classes: int, reach_scale: float = 10.0, cos_scale: float = 16.0):
        super().__init__()
        self.reach_scale = reach_scale
        self.hallucinator = nn.Linear(dim, num_classes)
        self.selector = nn.Linear(dim, dim)
        self.cosnorm = CosNormClassifier(dim, num_classes, cos_scale)

    def reachability(self, x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
        distance = torch.cdist(x, centroids)  # L2, not squared
        return self.reach_scale / distance.min(dim=1, keepdim=True).values.clamp_min(1e-12)

    def meta_embedding(self, x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
        memory = torch.softmax(self.hallucinator(x), dim=1) @ centroids
        concept = torch.tanh(self.selector(x))
        return self.reachability(x, centroids) * (x + concept * memory)

    def forward(self, x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
        return self.cosnorm(self.meta_embedding(x, centroids))


class NormedLinear(nn.Module):
    """Cosine classifier `scale * <x / |x|, w_j / |w_j|>`, the head of LDAM-DRW (Cao et al., NeurIPS
    2019), RIDE and TADE, with their initialisation and scale 30."""

    def __init__(self, dim: int, num_classes: int, scale: float = 30.0):
        super().__init__()
        self.scale = scale
        self.weight = nn.Parameter(torch.empty(dim, num_classes).uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)


class ScaledLinear(nn.Module):
    """LWS (Kang et al., ICLR 2020): a frozen linear classifier whose logit of class j is multiplied by
    a learned scale f_j, initialised to 1."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.linear = linear.requires_grad_(False)
        self.scales = nn.Parameter(torch.ones(linear.out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * self.scales


class CausalNormClassifier(nn.Module):
    """TDE's multi-head causal-norm classifier (Tang et al., "Long-Tailed Classification by Keeping
    the Good and Removing the Bad Momentum Causal Effect", NeurIPS 2020).

    The feature and the class weights split into K heads along the feature dimension;
    logits = (tau / K) * sum_k <x_k / |x_k|, w_k / (|w_k| + gamma)>. With a moving-average feature
    direction d, the TDE logits subtract alpha * (tau / K) * sum_k cos(x_k, d_k) <d_k / |d_k|, w_k / (|w_k| + gamma)>:
    the factual logits minus the counterfactual effect of the momentum direction.
    """

    def __init__(self, dim: int, num_classes: int, heads: int = 2, tau: float = 16.0, gamma: float = 1 / 32):
        super().__init__()
        if dim % heads:
            raise ValueError(f"feature size {dim} is not divisible by {heads} heads")
        self.heads, self.scale, self.gamma = heads, tau / heads, gamma
        bound = 1.0 / math.sqrt(dim)
        self.weight = nn.Parameter(torch.empty(num_classes, dim).uniform_(-bound, bound))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(*x.shape[:-1], self.heads, -1)  # (..., K, D / K)

    def _normed_weight(self) -> torch.Tensor:
        w = self._split(self.weight)
        return w / (w.norm(dim=-1, keepdim=True) + self.gamma)  # (C, K, D / K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.normalize(self._split(x), dim=-1)  # (B, K, D / K)
        return self.scale * torch.einsum("bkd,ckd->bc", x, self._normed_weight())

    def counterfactual(self, x: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        """sum_k (tau / K) cos(x_k, d_k) <d_k / |d_k|, w_k / (|w_k| + gamma)>, per sample and class."""
        x = F.normalize(self._split(x), dim=-1)
        d = F.normalize(self._split(direction), dim=-1)  # (K, D / K)
        cos = torch.einsum("bkd,kd->bk", x, d)
        response = torch.einsum("kd,ckd->kc", d, self._normed_weight())
        return self.scale * cos @ response

    def tde_logits(self, x: torch.Tensor, direction: torch.Tensor, alpha: float) -> torch.Tensor:
        return self(x) - alpha * self.counterfactual(x, direction)
