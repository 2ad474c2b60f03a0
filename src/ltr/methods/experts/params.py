"""experts' params: the subset thresholds, each expert's schedule, the joint calibration."""

from dataclasses import dataclass

from ltr.config.fields import Section, param, shared_schedule
from ltr.config.sections import SCHEDULES, FineTuneConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@shared_schedule("expert", "each expert's (experts.many, medium, few): the original's ImageNet-LT schedule")
@dataclass(frozen=True)
class ExpertParams(FineTuneConfig):
    """One expert's schedule. The defaults are the original's ImageNet-LT ones: SGD at lr 0.1 for a
    batch of 256 (main.py forces both), here 0.05 for a batch of 128 by the linear scaling rule (lr per
    image 0.1 / 256), as cRT's 0.2 at 512 became 0.05 at 128; many and medium StepLR(10, 0.1) (here
    multistep at 10 and 20, with 30 epochs as a cap that early stopping reaches first in the
    original), few cosine over 60 epochs; early stopping at patience 15."""

    epochs: int = param(30, ge=1, help="a cap: early stopping (patience 15) ends the original's StepLR(10) runs")
    lr: float = param(
        0.05, gt=0.0, help="the original's 0.1 at batch 256, scaled linearly to 128 (0.1 / 256 per image)"
    )
    schedule: str = param("multistep", choices=SCHEDULES, help="StepLR(10, 0.1)")
    milestones: list[int] = param(
        [10, 20],
        help="StepLR(10)'s steps within the cap",
        deviation="the original steps every 10 epochs until early stopping; here at most 30 epochs",
    )
    open_ratio: float = param(16, gt=0.0, help='subset training images per image of the "others" class')
    train_stages: int = param(
        -1, ge=-1, help="-1 all; 0 classifier only; k: the last k residual stages and the classifier"
    )
    patience: int = param(15, ge=1, help="early stopping on the val subset: epochs without a better val top-1")


@dataclass(frozen=True)
class CalibrationParams(Section):
    epochs: int = param(100, ge=1, help="a cap: early stopping (patience) ends it")
    lr: float = param(0.1, gt=0.0, help="SGD's rate for the calibration weights")
    batch_size: int = param(256, ge=1, help="val logits a step")
    step_size: int = param(30, ge=1, help="StepLR(step_size, 0.1), per epoch")
    weight_decay: float = param(5e-4, ge=0.0, help="SGD's weight decay on the calibration weights")
    patience: int = param(30, ge=1, help="stop after this many epochs without a better accuracy")


@dataclass(frozen=True)
class ExpertsLogits(Section):
    calibration: CalibrationParams = param(CalibrationParams(), help="trained on the val logits only")


@dataclass(frozen=True)
class ExpertsParams(Section):
    many_threshold: int = param(100, ge=1, help="many-shot expert: n >= 100")
    few_threshold: int = param(20, ge=1, help="few-shot expert: n < 20; medium-shot: the rest")
    many: ExpertParams = param(
        ExpertParams(),
        help="each expert trains in its own stage, under its own schedule (the original's ImageNet-LT ones)",
    )
    medium: ExpertParams = param(ExpertParams(train_stages=1), help="the last residual stage and the classifier")
    few: ExpertParams = param(
        ExpertParams(epochs=60, schedule="cosine", milestones=[], train_stages=0),
        help="cosine over 60 epochs, the classifier only",
    )
    train: Empty = param(Empty(), help="stage 2 is unused: the experts have their own stages")
    logits: ExpertsLogits = param(ExpertsLogits(), help="the joint calibration that fuses the experts")


SPEC = MethodSpec(
    ExpertsParams,
    "many / medium / few-shot experts with a reject class, fused by joint calibration on val",
    ("stage1", "experts/many", "experts/medium", "experts/few"),
    paper="Sharma et al., GCPR 2020",
)
