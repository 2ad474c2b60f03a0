"""The trained template's params (README, "Add a method"): `ltr new-method` copies this folder, this file
with it, under your method's name; its defaults are your method's params until params.yaml has a section."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.config.sections import FineTuneConfig
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty


@dataclass(frozen=True)
class TemplateTrainedTrain(FineTuneConfig):
    """What stage 2 reads: a fine-tuning schedule (epochs, lr, ...) and the method's own keys."""

    power: float = param(
        1.0, ge=0.0, help="class weights n_c ** -power: 0 plain cross-entropy, 1 inverse class frequency"
    )


@dataclass(frozen=True)
class TemplateTrainedParams(Section):
    train: TemplateTrainedTrain = param(TemplateTrainedTrain(), help="fine-tunes the stage-1 model")
    logits: Empty = param(Empty(), help="nothing to set after training")


SPEC = MethodSpec(
    TemplateTrainedParams,
    "template, trained: fine-tunes the stage-1 model with class-weighted cross-entropy",
    trained_in=("stage1", "stage2"),  # starts from stage 1's model, trains in stage 2
    template=True,
)
