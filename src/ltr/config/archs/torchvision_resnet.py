"""torchvision's ResNets and ResNeXt for 224-pixel images (ImageNet-LT, Places-LT, iNaturalist), each
with the block layout of its torchvision factory; ResNet-10, OLTR's ImageNet-LT backbone, has none."""

from ltr.config.archs.spec import ArchSpec, Family

TORCHVISION = Family.TORCHVISION_RESNET
SPECS = (
    ArchSpec("resnet10", TORCHVISION, 10, layers=(1, 1, 1, 1)),
    ArchSpec("resnet18", TORCHVISION, 18, layers=(2, 2, 2, 2)),
    ArchSpec("resnet50", TORCHVISION, 50, layers=(3, 4, 6, 3), bottleneck=True),
    ArchSpec("resnet152", TORCHVISION, 152, layers=(3, 8, 36, 3), bottleneck=True),
    ArchSpec("resnext50_32x4d", TORCHVISION, 50, layers=(3, 4, 6, 3), bottleneck=True, groups=32, width_per_group=4),
)
