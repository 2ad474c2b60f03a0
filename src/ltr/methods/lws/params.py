"""lws's params: the fine-tuning schedule of its class scales and class-aware sampling."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty, RetrainingTrain


@dataclass(frozen=True)
class LwsTrain(RetrainingTrain):
    epochs: int = param(5, ge=1, help="classifier-balancing's cls_lws.yaml (cRT: 10)")


@dataclass(frozen=True)
class LwsParams(Section):
    train: LwsTrain = param(LwsTrain(), help="the class scales, learned on frozen stage-1 features and classifier")
    logits: Empty = param(Empty(), help="nothing after training")


SPEC = MethodSpec(
    LwsParams,
    "learns one scale per class on the frozen stage-1 classifier, class-balanced sampling",
    ("stage1", "stage2"),
    paper="Kang et al., ICLR 2020",
)
