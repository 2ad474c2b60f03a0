"""The params sections shared by every method: data, splits, model, the stage-1 and pre-training
schedules, logits, eval and runtime. Each field carries its default, its allowed values and its help,
from which params.yaml is rendered (ltr.params_file)."""

from dataclasses import dataclass, make_dataclass

from ltr.config.archs import ARCHS
from ltr.config.datasets import DATASETS
from ltr.config.fields import Section, param, shared_schedule

SCHEDULES = ("cosine", "multistep", "constant")


@dataclass(frozen=True)
class OneTailConfig(Section):
    head_count: int = param(500, ge=1, help="training images of every class but the last")
    tail_count: int = param(50, ge=1, help="training images of the last class, the tail")


@dataclass(frozen=True)
class DataSection(Section):
    """The data section's own keys; DataConfig adds one section per registered data set."""

    name: str = param(
        "synthetic",
        choices=tuple(DATASETS),
        help="one of the data sets whose sections follow, from synthetic to folder (your own)",
    )
    root: str = param(
        "data/raw/none", help="the data set's folder, a dependency of prepare (synthetic, digits: an empty one)"
    )
    seed: int = param(
        0,
        ge=0,
        help="the data's own seed: synthetic images, the held-out splits of digits and folder (not the training seed)",
    )
    imb_factor: float = param(
        100,
        ge=1.0,
        help="n_max / n_min of the LT training split (CIFAR-100-LT: 100); official LT lists ignore it; an image "
        "folder (data.name: folder) cuts the profile from its train/ images, and at 1 keeps its own counts",
    )
    profile: str = param(
        "exponential",
        choices=("exponential", "one_tail"),
        help="exponential: the LT profile of imb_factor | one_tail: the toy cases below",
    )
    one_tail: OneTailConfig = param(
        OneTailConfig(),
        help="Liu & Liu (2021): every class keeps head_count training images but the last, tail_count",
    )

    @property
    def own(self) -> Section:
        """The section of the data set in use, data.<name>: the only one prepare reads (and tracks)."""
        return getattr(self, self.name)


# data.<name> for every registered data set, typed by its spec's section, so that the registry stays
# the one list of data sets; each is validated on load, and a read records its keys as any section's
DataConfig = make_dataclass(
    "DataConfig",
    [(spec.name, spec.params, param(spec.params(), help=spec.help)) for spec in DATASETS.values()],
    bases=(DataSection,),
    frozen=True,
)
DataConfig.__module__ = __name__


@dataclass(frozen=True)
class SplitsConfig(Section):
    seed: int = param(0, ge=0, help="which images the LT cut and the shifted test sets keep (TADE / RIDE use 0)")
    many_threshold: int = param(100, ge=1, help="many-shot: more than 100 training images")
    few_threshold: int = param(20, ge=1, help="few-shot: fewer than 20")
    group_rule: str = param(
        "strict", choices=("strict", "oltr"), help="strict (n > 100, n < 20) | oltr (n >= 100, n <= 20)"
    )


@dataclass(frozen=True)
class ModelConfig(Section):
    arch: str = param(
        "resnet8",
        choices=tuple(ARCHS),
        help="a CIFAR ResNet for 32x32 images (resnet8, 20, 32) or torchvision's for 224x224; resnet8 keeps "
        "the default run short, the presets name the papers'",
    )


@shared_schedule(
    "from_scratch",
    "stage 1's: the methods that train from scratch (and pretrain) merge it, to compare with softmax at equal cost",
)
@dataclass(frozen=True)
class TrainConfig(Section):
    """A training schedule. These defaults are the from-scratch one of stage 1, which the methods that
    train from scratch share (params.yaml's schedules.from_scratch) so that they compare with softmax
    at equal cost."""

    epochs: int = param(
        30,
        ge=1,
        help="a 30-epoch comparison runs in under an hour on 2 cores",
        deviation="the CIFAR recipes train 200 epochs (ImageNet-LT: 90-100); the presets carry them",
    )
    batch_size: int = param(128, ge=1, help="the CIFAR-LT papers' batch")
    lr: float = param(0.1, gt=0.0, help="the CIFAR-LT papers' rate for a batch of 128")
    backbone_lr_factor: float = param(
        1.0, ge=0.0, help="the backbone trains at lr x this (fine-tuning a pre-trained one: < 1)"
    )
    momentum: float = param(0.9, ge=0.0, lt=1.0, help="SGD momentum, as every original")
    nesterov: bool = param(False, help="plain SGD momentum; true: Nesterov's")
    weight_decay: float = param(5e-4, ge=0.0, help="the originals use 2e-4 to 5e-4")
    warmup_epochs: int = param(1, ge=0, help="linear warm-up, then the schedule (LDAM-DRW, RIDE: 5 of 200 epochs)")
    schedule: str = param("cosine", choices=SCHEDULES, help="cosine | multistep | constant")
    milestones: list[int] = param([], help="epochs at which multistep multiplies the lr by gamma")
    gamma: float = param(0.1, gt=0.0, le=1.0, help="multistep's factor at each milestone")
    augment: str = param(
        "crop_flip",
        choices=("none", "crop_flip", "crop_flip_rotate"),
        help="none | crop_flip | crop_flip_rotate (+ RandomRotation(15): RIDE and TADE on CIFAR)",
    )


@shared_schedule(
    "fine_tune",
    "the methods that fine-tune the stage-1 model (cRT, LWS, OLTR, SSP's classifier): shorter, a lower rate",
)
@dataclass(frozen=True)
class FineTuneConfig(TrainConfig):
    """The schedule of a method that fine-tunes the stage-1 model (cRT, LWS, OLTR, SSP's classifier,
    the experts): shorter, a lower rate, no warm-up."""

    epochs: int = param(
        10,
        ge=1,
        help="a short re-training of the trained stage-1 model (Decoupling's cRT: 10 epochs)",
    )
    lr: float = param(0.05, gt=0.0, help="Decoupling: 0.2 at batch 512, scaled linearly to 128")
    warmup_epochs: int = param(0, ge=0, help="none: the model starts trained")


@dataclass(frozen=True)
class MocoConfig(Section):
    dim: int = param(128, ge=1, help="the MLP head's output")
    queue: int = param(4096, ge=1, help="negative keys (ImageNet-LT: 65536)")
    key_momentum: float = param(0.999, ge=0.0, lt=1.0, help="key encoder = m * key + (1 - m) * query, MoCo's")
    temperature: float = param(0.2, gt=0.0, help="MoCo v2's")


@dataclass(frozen=True)
class PretrainConfig(TrainConfig):
    """Self-supervised pre-training of the backbone on the training images, labels unused."""

    # its own lr, weight_decay and augment (the defaults of stage 1) carry the originals' values
    lr: float = param(0.1, gt=0.0, help="the rotation recipe's; MoCo v2 on ImageNet-LT: 0.015 at batch 128")
    weight_decay: float = param(5e-4, ge=0.0, help="stage 1's", deviation="the original: 2e-4 (rotation), 1e-4 (MoCo)")
    augment: str = param(
        "crop_flip",
        choices=("none", "crop_flip", "crop_flip_rotate"),
        help="rotation's; moco always uses two strong views (crop, jitter, grey, blur)",
    )
    kind: str = param(
        "rotation",
        choices=("rotation", "moco"),
        help="rotation: predict 0/90/180/270 degrees (Gidaris et al., ICLR 2018) | moco: MoCo v2",
    )
    moco: MocoConfig = param(MocoConfig(), help="kind: moco's settings")
    stage1_lr: float = param(
        0.1,
        gt=0.0,
        help="stage 1 from this backbone trains at this lr, stage 1's own",
        deviation="train_feature.py's 0.01 is for 200 epochs; in 30, 0.01 barely moves off the pretext "
        "features (10-epoch check: 3.9% val at 0.01, 21.3% at 0.1; README, deviations)",
    )


@dataclass(frozen=True)
class LogitsConfig(Section):
    batch_size: int = param(
        512, ge=1, help="inference batches: the logits stage, and validation in every training stage"
    )


@dataclass(frozen=True)
class EvalConfig(Section):
    open_threshold: float = param(
        0.1,
        ge=0.0,
        le=1.0,
        help="OLTR: reject as unknown when the max softmax probability is below this",
    )
    ece_bins: int = param(15, ge=1, help="equal-width confidence bins of the ECE, the calibration papers' 15")


@dataclass(frozen=True)
class RuntimeConfig(Section):
    device: str = param("auto", choices=("auto", "cpu", "cuda"), help="auto | cpu | cuda")
    nproc: int = param(
        1, ge=1, help="training processes on this machine, one per GPU; > 1 runs the training stages under torchrun"
    )
    threads: int = param(
        1,
        ge=1,
        help="CPU threads of every torch stage (tracked: on CPU the count changes the sums' order, so the "
        "weights); 1 gives the same numbers on any core count, make report runs cores/threads at a time",
    )
    amp: bool = param(True, help="bf16 autocast on CUDA; CPU always runs fp32")
    compile: bool = param(False, help="torch.compile the backbone for training (worth it on CUDA for long runs)")
    max_steps: int = param(
        0,
        ge=0,
        help="stop every training epoch after this many steps (0: no limit): a quick check that a preset runs",
    )
    num_workers: int = param(
        4,
        ge=0,
        help="DataLoader workers decoding image-list data sets (imagenet_lt, places_lt); decode device: threads",
    )
    decode: str = param(
        "auto",
        choices=("auto", "pil", "device"),
        help="image lists: pil (DataLoader workers) | device (torchvision decodes on it) | auto: device on CUDA",
    )


SECTIONS = {
    "data": DataConfig,
    "splits": SplitsConfig,
    "model": ModelConfig,
    "stage1": TrainConfig,
    "pretrain": PretrainConfig,
    "logits": LogitsConfig,
    "eval": EvalConfig,
    "runtime": RuntimeConfig,
}
