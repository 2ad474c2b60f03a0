"""The data-set registry: every data set `data.name` can name, torch-free. Each module declares its data
sets' specs (ltr.config.datasets.spec); DATASETS, in the order of MODULES, is the one name list that
config validation (data.name's choices and the data.<name> sections), the prepare stage's dispatch and
the splits stage's traits read."""

from ltr.config.datasets import cifar, digits, folder, official_lists, synthetic
from ltr.config.datasets.spec import DatasetSpec, ImageFileParams, NoParams, Pixels, Traits
from ltr.errors import LtrError

__all__ = ["DATASETS", "DatasetSpec", "ImageFileParams", "NoParams", "Pixels", "Traits", "dataset"]

MODULES = (synthetic, digits, cifar, official_lists, folder)
DATASETS: dict[str, DatasetSpec] = {spec.name: spec for module in MODULES for spec in module.SPECS}


def dataset(name: str) -> DatasetSpec:
    """The spec of data set `name`, which a prepared data set's info.json names."""
    if name not in DATASETS:
        raise LtrError(f"data set {name!r} is not registered; the data sets: {', '.join(DATASETS)}")
    return DATASETS[name]
