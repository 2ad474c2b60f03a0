"""What a data set declares: its name, its traits (what the splits stage and the loaders do with it),
its params section (data.<name>, the only one prepare tracks) and the module of ltr.data that reads it.
Torch-free: the reader is named, not imported, so that the registry stays below the data layer; the
data layer loads it (ltr.data.prepared.read_dataset), and only the prepare stage pays for numpy, PIL or
torch."""

from dataclasses import dataclass
from enum import Enum

from ltr.config.fields import Section, param


class Pixels(Enum):
    MEMORY = "memory"  # a uint8 array, data/prepared/images.npy; images are named <pool>/<running number>
    FILES = "files"  # image files under data.root, named by their paths and decoded by ltr.data.image_loader


@dataclass(frozen=True)
class Traits:
    pixels: Pixels
    official_train_list: bool = False  # the training list is long-tailed already: used verbatim, no LT cut
    own_counts_at_imbalance_one: bool = False  # data.imb_factor 1 keeps the train pool's counts (an LT tree)
    val_from_test: bool = False  # no val pool: val is the test pool (the CIFAR-LT protocols, iNaturalist)
    open_set: bool = True  # whether it can have an open set (its test images of unknown classes)

    @property
    def val_pool(self) -> str:
        """The pool that the val split is, and that the training stages read beside train."""
        return "test" if self.val_from_test else "val"


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # data.name
    traits: Traits
    params: type[Section]  # its section, data.<name>
    reader: str  # a module of ltr.data whose prepare(DataConfig) gives ltr.data.prepared.write_prepared's arguments
    help: str = ""  # one line on its section, data.<name> (params.yaml's comment)


@dataclass(frozen=True)
class NoParams(Section):
    """A data set with nothing to set: `data.<name>: {}`."""


@dataclass(frozen=True)
class ImageFileParams(Section):
    """How the image files of a data set are decoded (ltr.data.image_loader)."""

    # RandomResizedCrop size to train, CenterCrop size to test. Not `size`: DVC leaves params named size
    # (and nfiles) out of its run-cache key, so a changed value would restore the old output
    crop_size: int = param(224, ge=8, help="RandomResizedCrop size to train, CenterCrop size to test")
    resize: int = param(256, ge=8, help="Resize before the test-time centre crop, the papers' 256 for 224")
