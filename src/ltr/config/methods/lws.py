"""lws's params: the fine-tuning schedule of its class scales and class-aware sampling."""

from ltr.config.methods import MethodSpec, RetrainingParams

SPEC = MethodSpec(
    RetrainingParams,
    "learns one scale per class on the frozen stage-1 classifier, class-balanced sampling",
    ("stage1", "stage2"),
)
