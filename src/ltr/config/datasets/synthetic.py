"""The default data set: a procedural miniature of CIFAR-100 generated from data.seed (ltr.data.synthetic)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ltr.config.datasets.spec import DatasetSpec, Pixels, Traits
from ltr.config.fields import Section, param

if TYPE_CHECKING:
    from ltr.config.sections import DataConfig


@dataclass(frozen=True)
class SyntheticParams(Section):
    num_classes: int = param(100, ge=2)
    num_superclasses: int = param(20, ge=1)
    open_classes: int = param(20, ge=0)  # extra classes whose test images form the open set
    similarity: float = param(0.5, ge=0.0, le=1.0)  # latent correlation of classes in one super-class
    difficulty: float = param(0.4, ge=0.0, le=1.0)  # scales every nuisance of an instance
    train_per_class: int = param(500, ge=1)  # before the long-tailed cut
    test_per_class: int = param(100, ge=1)
    val_per_class: int = param(20, ge=1)
    image_size: int = param(32, ge=8)


def prepare(data: "DataConfig") -> dict:
    from ltr.data.synthetic import prepare_synthetic  # torch: only prepare pays its import

    return prepare_synthetic(data.synthetic, data.seed)


SPECS = (DatasetSpec("synthetic", Traits(Pixels.MEMORY), SyntheticParams, prepare),)
