"""CIFAR-10 and CIFAR-100 from torchvision's python archives under data.root (ltr.data.cifar). As in the
CIFAR-LT code bases, the balanced test set is also the val set; the other CIFAR's test set is the open set."""

from ltr.config.datasets.spec import DatasetSpec, NoParams, Pixels, Traits

TRAITS = Traits(Pixels.MEMORY, val_from_test=True)
SPECS = tuple(
    DatasetSpec(name, TRAITS, NoParams, "ltr.data.cifar", "nothing to set") for name in ("cifar10", "cifar100")
)
