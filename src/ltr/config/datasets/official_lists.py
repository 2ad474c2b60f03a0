"""ImageNet-LT, Places-LT and iNaturalist 2018, read through their official split lists, used verbatim
(ltr.data.image_lists): the training list is long-tailed already. iNaturalist's val list is also its
test list, and it has no open set."""

from ltr.config.datasets.spec import DatasetSpec, ImageFileParams, Pixels, Traits

# pool -> list file under data.root; "open_dir": the folder the open list's names are relative to
LISTS = {
    "imagenet_lt": {
        "train": "ImageNet_LT_train.txt",
        "val": "ImageNet_LT_val.txt",
        "test": "ImageNet_LT_test.txt",
        "open": "ImageNet_LT_open.txt",
        "open_dir": "ImageNet_LT_open",
    },
    "places_lt": {
        "train": "Places_LT_train.txt",
        "val": "Places_LT_val.txt",
        "test": "Places_LT_test.txt",
        "open": "Places_LT_open.txt",
        "open_dir": "Places_LT_open",
    },
    "inat2018": {"train": "iNaturalist18_train.txt", "test": "iNaturalist18_val.txt"},
}


def _spec(name: str, **traits) -> DatasetSpec:
    traits = Traits(Pixels.FILES, official_train_list=True, **traits)
    return DatasetSpec(
        name, traits, ImageFileParams, "ltr.data.image_lists", "the official lists' images, decoded as the papers do"
    )


SPECS = (_spec("imagenet_lt"), _spec("places_lt"), _spec("inat2018", val_from_test=True, open_set=False))
