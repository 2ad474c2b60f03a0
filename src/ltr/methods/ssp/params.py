"""ssp's params: cRT's (pretrain.* holds the self-supervised pre-training)."""

from ltr.methods import MethodSpec
from ltr.methods.shared.params import RetrainingParams

SPEC = MethodSpec(
    RetrainingParams,
    "self-supervised pre-training (rotation or MoCo v2), stage 1 from it, then cRT on frozen features",
    ("pretrain", "stage1", "stage2"),
    paper="Liu & Liu, 2021",
)
