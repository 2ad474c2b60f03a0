"""The CIFAR ResNets (He et al., CVPR 2016, Sec. 4.2): 6n+2 layers for 32-pixel images; ResNet-32 is
the backbone of the CIFAR-LT papers (LDAM-DRW, RIDE, TADE), ResNet-8 the default run's."""

from ltr.config.archs.spec import ArchSpec, Family

SPECS = tuple(ArchSpec(f"resnet{depth}", Family.CIFAR_RESNET, depth) for depth in (8, 20, 32))
