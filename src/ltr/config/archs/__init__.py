"""The architecture registry: every backbone `model.arch` can name, one module per family, torch-free.
Config validation (model.arch's choices) and ltr.models.create_backbone both read ARCHS, the one list."""

from ltr.config.archs import cifar_resnet, torchvision_resnet
from ltr.config.archs.spec import ArchSpec, Family

__all__ = ["ARCHS", "ArchSpec", "Family"]

ARCHS: dict[str, ArchSpec] = {spec.name: spec for family in (cifar_resnet, torchvision_resnet) for spec in family.SPECS}
