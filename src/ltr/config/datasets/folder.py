"""Your own data as an image-folder tree, one folder a class (ltr.data.image_folder): the long-tailed
profile is cut from train/, and data.imb_factor 1 keeps the tree's own counts."""

from dataclasses import dataclass

from ltr.config.datasets.spec import DatasetSpec, ImageFileParams, Pixels, Traits
from ltr.config.fields import param


@dataclass(frozen=True)
class FolderParams(ImageFileParams):
    val_per_class: int = param(
        20, ge=1, help="without val/: images of each class held out of train/ as val (drawn by data.seed)"
    )


HELP = 'your own image tree: train/<class>/*, test/<class>/*, optional val/, open/ (README, "Your own data")'
SPECS = (
    DatasetSpec(
        "folder", Traits(Pixels.FILES, own_counts_at_imbalance_one=True), FolderParams, "ltr.data.image_folder", HELP
    ),
)
