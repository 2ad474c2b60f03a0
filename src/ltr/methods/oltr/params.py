"""oltr's params: its fine-tuning schedule and rates, the memory and classifier settings."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import FineTuneConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class OltrTrain(FineTuneConfig):
    # lr: the meta-embedding classifier's; the backbone, attention and fc layer train at lr x
    # backbone_lr_factor (ImageNet-LT stage 2: 0.1 and 0.01)
    lr: float = param(0.1, gt=0.0)
    backbone_lr_factor: float = param(0.1, ge=0.0)
    centroid_lr: float = param(0.01, ge=0.0)
    centroid_loss_weight: float = param(0.01, ge=0.0)
    # original: the released code's hand-written centroid update, which this weight does not scale;
    # autograd: the exact gradient of the weighted loss (centroids 20-100x slower here)
    centroid_gradient: str = param("original", choices=("original", "autograd"))
    samples_per_class: int = param(4, ge=1)  # class-aware sampling: images of one class per draw
    attention: bool = True  # modulated attention on the last feature map
    fc_dim: int = param(0, ge=0)  # 0: none; else Linear(feature -> fc_dim) + ReLU after pooling (papers: 512)
    freeze_backbone: bool = False  # Places-LT: only attention and the fc layer train in the feature model
    reach_scale: float = param(10.0, gt=0.0)  # reachability = reach_scale / distance to the nearest centroid
    cos_scale: float = param(16.0, gt=0.0)  # scale of the cosine-norm classifier


@dataclass(frozen=True)
class OltrParams(Section):
    train: OltrTrain = param(OltrTrain())
    logits: Empty = param(Empty())


SPEC = MethodSpec(
    OltrParams,
    "meta embedding with centroid memory, modulated attention, class-aware sampling (stage 2)",
    ("stage1", "stage2"),
)
