"""The post-hoc template's params (README, "Add a method"): `ltr new-method` copies this folder, this file
with it, under your method's name; its defaults are your method's params until params.yaml has a section."""

from dataclasses import dataclass

from ltr.config.fields import Section, param
from ltr.methods import MethodSpec
from ltr.methods.shared.params import Empty, check_number_or_auto


@dataclass(frozen=True)
class TemplatePosthocLogits(Section):
    """What the logits stage reads: changing it re-runs only the logits stage and evaluation."""

    temperature: float | str = param("auto", help="a number > 0, or auto: the lowest val NLL over 0.5, 0.6, ..., 3")

    def __post_init__(self):  # a check that param()'s ranges and choices cannot express
        check_number_or_auto(self.temperature, "template_posthoc.logits.temperature", positive=True)


@dataclass(frozen=True)
class TemplatePosthocParams(Section):
    train: Empty = param(Empty(), help="no stage-2 training")
    logits: TemplatePosthocLogits = param(TemplatePosthocLogits(), help="temperature scaling (Guo et al., ICML 2017)")


SPEC = MethodSpec(
    TemplatePosthocParams,
    "template, post-hoc: temperature scaling of the stage-1 logits (temperature from val)",
    trained_in=("stage1",),  # the model directories its logits come from: stage 1's, as it wrote them
    template=True,
)
