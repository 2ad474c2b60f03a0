"""The params sections shared by every method: data, splits, model, the stage-1 and pre-training
schedules, logits, eval and runtime. Each field carries its default and allowed values; params.yaml
repeats them with comments."""

from dataclasses import dataclass, make_dataclass

from ltr.config.archs import ARCHS
from ltr.config.datasets import DATASETS
from ltr.config.fields import Section, param

SCHEDULES = ("cosine", "multistep", "constant")


@dataclass(frozen=True)
class OneTailConfig(Section):
    head_count: int = param(500, ge=1)  # training images of every class but the last
    tail_count: int = param(50, ge=1)  # training images of the last class, the tail


@dataclass(frozen=True)
class DataSection(Section):
    """The data section's own keys; DataConfig adds one section per registered data set."""

    name: str = param("synthetic", choices=tuple(DATASETS))
    root: str = "data/raw/none"  # the data set's folder, a dependency of prepare (synthetic, digits: an empty one)
    seed: int = param(0, ge=0)  # the synthetic images, digits' and folder's held-out splits; not the training seed
    imb_factor: float = param(100.0, ge=1.0)  # n_max / n_min of the long-tailed training split
    # exponential: the LT profile of imb_factor; one_tail: the toy cases of Liu & Liu (2021), every class
    # keeps one_tail.head_count images but the last, which keeps one_tail.tail_count
    profile: str = param("exponential", choices=("exponential", "one_tail"))
    one_tail: OneTailConfig = param(OneTailConfig())

    @property
    def own(self) -> Section:
        """The section of the data set in use, data.<name>: the only one prepare reads (and tracks)."""
        return getattr(self, self.name)


# data.<name> for every registered data set, typed by its spec's section, so that the registry stays
# the one list of data sets; each is validated on load, and a read records its keys as any section's
DataConfig = make_dataclass(
    "DataConfig",
    [(spec.name, spec.params, param(spec.params())) for spec in DATASETS.values()],
    bases=(DataSection,),
    frozen=True,
)
DataConfig.__module__ = __name__


@dataclass(frozen=True)
class SplitsConfig(Section):
    seed: int = param(0, ge=0)  # which images the LT cut and the shifted test sets keep (TADE/RIDE: 0)
    many_threshold: int = param(100, ge=1)  # many-shot: n > many_threshold (oltr rule: n >= ...)
    few_threshold: int = param(20, ge=1)  # few-shot: n < few_threshold (oltr rule: n <= ...)
    group_rule: str = param("strict", choices=("strict", "oltr"))


@dataclass(frozen=True)
class ModelConfig(Section):
    arch: str = param("resnet8", choices=tuple(ARCHS))


@dataclass(frozen=True)
class TrainConfig(Section):
    """A training schedule. These defaults are the from-scratch one of stage 1, which the methods that
    train from scratch repeat in their own `train` sections so that they compare with softmax at
    equal cost."""

    epochs: int = param(30, ge=1)
    batch_size: int = param(128, ge=1)
    lr: float = param(0.1, gt=0.0)
    backbone_lr_factor: float = param(1.0, ge=0.0)  # the backbone trains at lr x this (fine-tuning: < 1)
    momentum: float = param(0.9, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = param(5e-4, ge=0.0)
    warmup_epochs: int = param(1, ge=0)  # linear warm-up, then the schedule
    schedule: str = param("cosine", choices=SCHEDULES)
    milestones: list[int] = param([])  # epochs where multistep multiplies the lr by gamma
    gamma: float = param(0.1, gt=0.0, le=1.0)
    # crop_flip: RandomCrop(32, 4) + flip on 32-pixel sets, the papers' RandomResizedCrop + flip + jitter on
    # image files; crop_flip_rotate adds RandomRotation(15), RIDE's and TADE's CIFAR recipe
    augment: str = param("crop_flip", choices=("none", "crop_flip", "crop_flip_rotate"))


@dataclass(frozen=True)
class FineTuneConfig(TrainConfig):
    """The schedule of a method that fine-tunes the stage-1 model (cRT, LWS, OLTR, SSP's classifier,
    the experts): shorter, a lower rate, no warm-up."""

    epochs: int = param(10, ge=1)
    lr: float = param(0.05, gt=0.0)
    warmup_epochs: int = param(0, ge=0)


@dataclass(frozen=True)
class MocoConfig(Section):
    dim: int = param(128, ge=1)  # output of the MLP projection head
    queue: int = param(4096, ge=1)  # negative keys kept (MoCo v2 on ImageNet: 65536)
    key_momentum: float = param(0.999, ge=0.0, lt=1.0)  # key encoder = m * key + (1 - m) * query
    temperature: float = param(0.2, gt=0.0)


@dataclass(frozen=True)
class PretrainConfig(TrainConfig):
    """Self-supervised pre-training of the backbone on the training images, labels unused."""

    kind: str = param("rotation", choices=("rotation", "moco"))
    moco: MocoConfig = param(MocoConfig())
    # the lr of the stage 1 that starts from this backbone. Deviation: train_feature.py uses 0.01 for
    # 200 epochs; in this repository's 30 epochs 0.01 barely moves off the pretext features (10-epoch
    # check: 3.9% val at 0.01, 21.3% at 0.1), so 0.1, stage 1's own rate (README, deviations)
    stage1_lr: float = param(0.1, gt=0.0)


@dataclass(frozen=True)
class LogitsConfig(Section):
    batch_size: int = param(512, ge=1)


@dataclass(frozen=True)
class EvalConfig(Section):
    open_threshold: float = param(0.1, ge=0.0, le=1.0)  # reject when the max softmax prob is below
    ece_bins: int = param(15, ge=1)


@dataclass(frozen=True)
class RuntimeConfig(Section):
    device: str = param("auto", choices=("auto", "cpu", "cuda"))
    nproc: int = param(1, ge=1)  # training processes on this machine (torchrun, one per GPU)
    amp: bool = True  # bf16 autocast where the device supports it well (CUDA)
    compile: bool = False  # torch.compile the backbone for training (CUDA; slow to start on CPU)
    max_steps: int = param(0, ge=0)  # stop every training epoch after this many steps (0: no limit), a smoke test
    num_workers: int = param(4, ge=0)  # DataLoader workers decoding image-list data sets (decode "device": threads)
    # image lists: PIL in DataLoader workers, or torchvision on the training device; auto: the device on CUDA
    decode: str = param("auto", choices=("auto", "pil", "device"))


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
