"""OLTR: Open Long-Tailed Recognition (Liu et al., "Large-Scale Long-Tailed Recognition in an Open
World", CVPR 2019).

Stage 2 fine-tunes the stage-1 model with modulated attention on the last feature map (and optionally
an extra fc layer), replaces the linear head by the meta-embedding classifier, and trains with
cross-entropy plus 0.01 x the discriminative centroid loss under class-aware sampling (4 images per
class). The centroids start as the class means of the training features of the stage-2 network at
initialisation (test-time transform), then are learned with their own learning rate, by the
original's hand-written center-loss update by default (ltr.losses.disc_centroids).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.engine.context import Context, MethodOutput
from ltr.losses.disc_centroids import DiscCentroidsLoss
from ltr.methods.oltr.params import OltrParams, OltrTrain
from ltr.models import create_backbone
from ltr.models.attention import ModulatedAttention
from ltr.models.heads import MetaEmbeddingClassifier


class OLTRNet(nn.Module):
    """backbone -> modulated attention -> pool -> (fc + ReLU) = direct feature -> meta embedding."""

    def __init__(self, backbone: nn.Module, num_classes: int, map_size: tuple[int, int], p: OltrTrain):
        super().__init__()
        self.backbone = backbone
        dim = backbone.out_dim
        self.attention = ModulatedAttention(dim, *map_size) if p.attention else nn.Identity()
        self.fc = nn.Sequential(nn.Linear(dim, p.fc_dim), nn.ReLU()) if p.fc_dim else nn.Identity()
        dim = p.fc_dim or dim
        self.classifier = MetaEmbeddingClassifier(dim, num_classes, p.reach_scale, p.cos_scale)
        self.centroid_loss = DiscCentroidsLoss(num_classes, dim, centroid_gradient=p.centroid_gradient)

    def direct_features(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.attention(self.backbone.forward_map(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(maps, 1), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the classifier reads the centroids but does not train them (as in the original)
        return self.classifier(self.direct_features(x), self.centroid_loss.centroids.detach())


def build(ctx: Context, arch: str, t: OltrTrain) -> OLTRNet:
    backbone = create_backbone(arch)
    size = ctx.data.meta["image_size"]
    with torch.no_grad():
        map_size = tuple(backbone.eval().forward_map(torch.zeros(1, 3, size, size)).shape[-2:])
    torch.manual_seed(ctx.seed)
    return OLTRNet(backbone, ctx.data.num_classes, map_size, t)


def class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    sums = features.new_zeros(num_classes, features.shape[1]).index_add_(0, labels, features)
    return sums / torch.bincount(labels, minlength=num_classes).clamp_min(1)[:, None]


def train_stage2(ctx: Context, p: OltrParams) -> None:
    t = p.train
    net = build(ctx, ctx.models.arch, t)
    stage1 = ctx.models.load("stage1")
    net.backbone.load_state_dict(stage1.backbone.state_dict())
    if net.classifier.hallucinator.weight.shape == stage1.head.weight.shape:
        net.classifier.hallucinator.load_state_dict(stage1.head.state_dict())
    net = ctx.models.to_device(net)

    features, labels = ctx.data.predict(net, ctx.data.split("train"), net.direct_features)
    with torch.no_grad():
        net.centroid_loss.centroids.copy_(class_means(features, labels, ctx.data.num_classes))

    if t.freeze_backbone:
        net.backbone.requires_grad_(False)  # BN statistics still update in train mode, as in the original
    feature_params = [
        q for q in [*net.backbone.parameters(), *net.attention.parameters(), *net.fc.parameters()] if q.requires_grad
    ]
    groups = [
        {"params": feature_params, "lr": t.lr * t.backbone_lr_factor},
        {"params": net.classifier.parameters(), "lr": t.lr},
        {"params": net.centroid_loss.parameters(), "lr": t.centroid_lr},
    ]

    def step(model, x, y, epoch):
        direct = model.direct_features(x)
        logits = model.classifier(direct, model.centroid_loss.centroids.detach())
        return F.cross_entropy(logits, y) + t.centroid_loss_weight * model.centroid_loss(direct, y), logits

    ctx.models.train(net, t, groups=groups, per_class=t.samples_per_class, step=step, starts_from=("stage1/model.pt",))


def logits(ctx: Context, p: OltrParams) -> MethodOutput:
    trained = ctx.models.trained("stage2", OltrTrain)
    net = ctx.models.load("stage2", build(ctx, trained.arch, trained.train))
    return MethodOutput(ctx.data.predict_splits(net), ctx.models.cost("stage2"))
