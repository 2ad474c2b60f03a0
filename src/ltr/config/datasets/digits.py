"""scikit-learn's bundled 8x8 handwritten digits (no download), upscaled to 32x32 (ltr.data.digits)."""

from ltr.config.datasets.spec import DatasetSpec, NoParams, Pixels, Traits

SPECS = (
    DatasetSpec("digits", Traits(Pixels.MEMORY), NoParams, "ltr.data.digits", "scikit-learn's digits: nothing to set"),
)
