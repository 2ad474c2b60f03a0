"""scikit-learn's bundled 8x8 handwritten digits (no download), upscaled to 32x32 (ltr.data.digits)."""

from typing import TYPE_CHECKING

from ltr.config.datasets.spec import DatasetSpec, NoParams, Pixels, Traits

if TYPE_CHECKING:
    from ltr.config.sections import DataConfig


def prepare(data: "DataConfig") -> dict:
    from ltr.data.digits import prepare_digits  # numpy and scikit-learn: only prepare pays their import

    return prepare_digits(data.seed)


SPECS = (DatasetSpec("digits", Traits(Pixels.MEMORY), NoParams, prepare, "scikit-learn's digits: nothing to set"),)
