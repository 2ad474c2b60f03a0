"""oltr's params: its fine-tuning schedule and rates, the memory and classifier settings."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import FineTuneConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class OltrTrain(FineTuneConfig):
    lr: float = param(0.1, gt=0.0, help="the meta-embedding classifier's (ImageNet-LT stage 2)")
    backbone_lr_factor: float = param(0.1, ge=0.0, help="backbone, attention and fc layer at lr x 0.1 = 0.01")
    centroid_lr: float = param(0.01, ge=0.0, help="the centroids' own SGD rate, the original's")
    centroid_loss_weight: float = param(0.01, ge=0.0, help="of the discriminative centroid loss, the original's")
    centroid_gradient: str = param(
        "original",
        choices=("original", "autograd"),
        help="the released code's centroid update, not scaled by the 0.01 (or: autograd, the weighted loss's exact "
        "gradient: centroids 20-100x slower here)",
    )
    samples_per_class: int = param(4, ge=1, help="class-aware sampling: 32 classes x 4 images in a batch of 128")
    attention: bool = param(True, help="modulated attention on the last feature map")
    fc_dim: int = param(
        0,
        ge=0,
        help="0: none; else Linear + ReLU to this size after pooling",
        deviation="the papers' fc_add: 512, on ResNet-10's 512-d feature; ResNet-8's is 64-d (presets: 512)",
    )
    freeze_backbone: bool = param(False, help="Places-LT: only attention and the fc layer train in the feature model")
    reach_scale: float = param(
        10.0, gt=0.0, help="reachability = this / distance to the nearest centroid, the original's"
    )
    cos_scale: float = param(16.0, gt=0.0, help="scale of the cosine-norm classifier, the original's")


@dataclass(frozen=True)
class OltrParams(Section):
    train: OltrTrain = param(OltrTrain(), help="fine-tunes stage 1 with attention and the meta-embedding classifier")
    logits: Empty = param(Empty(), help="nothing after training")


SPEC = MethodSpec(
    OltrParams,
    "meta embedding with centroid memory, modulated attention, class-aware sampling (stage 2)",
    ("stage1", "stage2"),
    paper="Liu et al., CVPR 2019",
)
