"""Your own data as an image-folder tree, one folder a class (ltr.data.image_folder): the long-tailed
profile is cut from train/, and data.imb_factor 1 keeps the tree's own counts."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ltr.config.datasets.spec import DatasetSpec, ImageFileParams, Pixels, Traits
from ltr.config.fields import param

if TYPE_CHECKING:
    from ltr.config.sections import DataConfig


@dataclass(frozen=True)
class FolderParams(ImageFileParams):
    val_per_class: int = param(
        20, ge=1, help="without val/: images of each class held out of train/ as val (drawn by data.seed)"
    )


def prepare(data: "DataConfig") -> dict:
    from ltr.data.image_folder import prepare_image_folder  # numpy, PIL: only prepare pays their import

    return prepare_image_folder(data, data.folder)


HELP = 'your own image tree: train/<class>/*, test/<class>/*, optional val/, open/ (README, "Your own data")'
SPECS = (DatasetSpec("folder", Traits(Pixels.FILES, own_counts_at_imbalance_one=True), FolderParams, prepare, HELP),)
