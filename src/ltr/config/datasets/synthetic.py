"""The default data set: a procedural miniature of CIFAR-100 generated from data.seed (ltr.data.synthetic)."""

from dataclasses import dataclass

from ltr.config.datasets.spec import DatasetSpec, Pixels, Traits
from ltr.config.fields import Section, param


@dataclass(frozen=True)
class SyntheticParams(Section):
    num_classes: int = param(100, ge=2, help="CIFAR-100's")
    num_superclasses: int = param(20, ge=1, help="CIFAR-100's; siblings share shape (similarity)")
    open_classes: int = param(20, ge=0, help="extra classes whose test images are the open set")
    similarity: float = param(
        0.5, ge=0.0, le=1.0, help="latent correlation of classes inside a super-class (0: unrelated, 1: identical)"
    )
    difficulty: float = param(
        0.4,
        ge=0.0,
        le=1.0,
        help="scales every nuisance: jitter, clutter, occlusion, lighting, defocus, noise (docs, Data)",
    )
    train_per_class: int = param(500, ge=1, help="before the long-tailed cut, CIFAR-100's")
    test_per_class: int = param(100, ge=1, help="CIFAR-100's")
    val_per_class: int = param(20, ge=1, help="ImageNet-LT's 20 a class")
    image_size: int = param(32, ge=8, help="CIFAR's 32x32")


SPECS = (
    DatasetSpec(
        "synthetic",
        Traits(Pixels.MEMORY),
        SyntheticParams,
        "ltr.data.synthetic",
        "a procedural miniature of CIFAR-100 (docs, Data)",
    ),
)
