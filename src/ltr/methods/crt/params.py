"""crt's params: the fine-tuning schedule of its new classifier and class-aware sampling."""

from ltr.methods import MethodSpec
from ltr.methods.shared.params import RetrainingParams

SPEC = MethodSpec(
    RetrainingParams,
    "re-trains a new linear classifier on frozen stage-1 features, class-balanced sampling",
    ("stage1", "stage2"),
    paper="Kang et al., ICLR 2020",
)
