"""experts' params: the subset thresholds, each expert's schedule, the joint calibration."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import SCHEDULES, FineTuneConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class ExpertParams(FineTuneConfig):
    """One expert's schedule. The defaults are the original's ImageNet-LT ones: SGD at lr 0.1 for a
    batch of 256 (main.py forces both), here 0.05 for a batch of 128 by the linear scaling rule (lr per
    image 0.1 / 256), as cRT's 0.2 at 512 became 0.05 at 128; many and medium StepLR(10, 0.1) (here
    multistep at 10 and 20, with 30 epochs as a cap that early stopping reaches first in the
    original), few cosine over 60 epochs; early stopping at patience 15."""

    epochs: int = param(30, ge=1)
    lr: float = param(0.05, gt=0.0)
    schedule: str = param("multistep", choices=SCHEDULES)
    milestones: list[int] = param([10, 20])
    open_ratio: float = param(16.0, gt=0.0)  # subset training images per "others" image
    train_stages: int = param(-1, ge=-1)  # -1 all; 0 classifier only; k: last k residual stages + classifier
    patience: int = param(15, ge=1)  # stop after this many epochs without a better val top-1


@dataclass(frozen=True)
class CalibrationParams(Section):
    epochs: int = param(100, ge=1)
    lr: float = param(0.1, gt=0.0)
    batch_size: int = param(256, ge=1)
    step_size: int = param(30, ge=1)  # StepLR(step_size, 0.1), per epoch
    weight_decay: float = param(5e-4, ge=0.0)
    patience: int = param(30, ge=1)  # stop after this many epochs without a better accuracy


@dataclass(frozen=True)
class ExpertsLogits(Section):
    calibration: CalibrationParams = param(CalibrationParams())


@dataclass(frozen=True)
class ExpertsParams(Section):
    many_threshold: int = param(100, ge=1)  # many-shot expert: n >= many_threshold
    few_threshold: int = param(20, ge=1)  # few-shot expert: n < few_threshold; medium: the rest
    many: ExpertParams = param(ExpertParams())
    medium: ExpertParams = param(ExpertParams(train_stages=1))
    few: ExpertParams = param(ExpertParams(epochs=60, schedule="cosine", milestones=[], train_stages=0))
    train: Empty = param(Empty())  # stage 2 is unused: the experts have their own stages
    logits: ExpertsLogits = param(ExpertsLogits())


SPEC = MethodSpec(
    ExpertsParams,
    "many / medium / few-shot experts with a reject class, fused by joint calibration on val",
    ("stage1", "experts/many", "experts/medium", "experts/few"),
)
