"""tade's params: its from-scratch schedule and experts; the test-time aggregation in the logits stage."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import TrainConfig
from ltr.methods import MethodSpec


@dataclass(frozen=True)
class TadeTrain(TrainConfig):
    reduce_dimension: bool = param(True, help="narrower expert stages (CIFAR 24/48, ImageNet 192/384 planes)")
    expert_stages: int = param(2, ge=1, le=2, help="residual stages each expert owns (Places-LT: 1)")
    tau: float = param(
        2.0, ge=0.0, help="lambda of the backward expert (CIFAR-100, ImageNet-LT: 2; iNat, Places-LT: 1)"
    )
    scale: float = param(30.0, gt=0.0, help="of the cosine classifiers")


@dataclass(frozen=True)
class AggregationParams(Section):
    epochs: int = param(5, ge=1, help="passes over each unlabeled test split")
    lr: float = param(0.1, gt=0.0, help="the training lr of the original config (CIFAR 0.1, ImageNet 0.025)")
    weight_decay: float = param(5e-4, ge=0.0, help="SGD's, on the aggregation weights")
    batch_size: int = param(128, ge=1, help="test images a step")
    stop_below: float = param(0.05, ge=0.0, lt=1.0, help="stop after an epoch in which a weight falls below this")
    entropy_weight: float = param(0.0, ge=0.0, help="iNaturalist: 0.01, maximising the predictions' entropy")


@dataclass(frozen=True)
class TadeLogits(Section):
    test_time: AggregationParams = param(
        AggregationParams(), help="learns the aggregation weights on each unlabeled test split"
    )


@dataclass(frozen=True)
class TadeParams(Section):
    train: TadeTrain = param(TadeTrain(), help="from scratch, on stage 1's schedule")
    logits: TadeLogits = param(TadeLogits(), help="the test-time aggregation, in the logits stage")


SPEC = MethodSpec(
    TadeParams,
    "three experts for forward / uniform / backward label distributions, aggregated per test split "
    "by test-time self-supervision",
    ("stage2",),
    paper="Zhang et al., 2021",
)
