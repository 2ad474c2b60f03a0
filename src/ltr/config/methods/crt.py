"""crt's params: the fine-tuning schedule of its new classifier and class-aware sampling."""

from ltr.config.methods import MethodSpec, RetrainingParams

SPEC = MethodSpec(
    RetrainingParams,
    "re-trains a new linear classifier on frozen stage-1 features, class-balanced sampling",
    ("stage1", "stage2"),
)
