"""params.yaml -> typed, validated config objects.

Every section is a frozen dataclass whose fields carry their defaults and allowed values. Loading
rejects unknown keys, wrong types and out-of-range values with one line that names the key, the bad
value and what is allowed. A method's own section is declared in its file in `ltr.methods`.
"""

import dataclasses
import hashlib
import json
import operator
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ltr.errors import LtrError

DATASETS = ("synthetic", "digits", "cifar10", "cifar100", "imagenet_lt", "places_lt", "inat2018")
ARCHS = ("resnet8", "resnet20", "resnet32", "resnet10", "resnet18", "resnet50", "resnet152", "resnext50_32x4d")


def param(default, *, ge=None, gt=None, le=None, lt=None, choices=None):
    """A dataclass field with its allowed range or choices."""
    meta = {"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    if dataclasses.is_dataclass(default):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class SyntheticConfig:
    num_classes: int = param(100, ge=2)
    num_superclasses: int = param(20, ge=1)
    open_classes: int = param(20, ge=0)  # extra classes whose test images form the open set
    similarity: float = param(0.5, ge=0.0, le=1.0)  # latent correlation of classes in one super-class
    difficulty: float = param(0.5, ge=0.0, le=1.0)  # scales every nuisance of an instance
    train_per_class: int = param(500, ge=1)  # before the long-tailed cut
    test_per_class: int = param(100, ge=1)
    val_per_class: int = param(20, ge=1)
    image_size: int = param(32, ge=8)


@dataclass(frozen=True)
class ImageListsConfig:
    size: int = param(224, ge=8)  # RandomResizedCrop size to train, CenterCrop size to test
    resize: int = param(256, ge=8)  # Resize before the test-time centre crop


@dataclass(frozen=True)
class OneTailConfig:
    head_count: int = param(500, ge=1)  # training images of every class but the last
    tail_count: int = param(50, ge=1)  # training images of the last class, the tail


@dataclass(frozen=True)
class DataConfig:
    name: str = param("synthetic", choices=DATASETS)
    root: str = "data/raw"  # where real data sets live; unused by synthetic and digits
    seed: int = param(0, ge=0)  # generation seed of the synthetic set; training seeds vary apart from it
    imb_factor: float = param(100.0, ge=1.0)  # n_max / n_min of the long-tailed training split
    # exponential: the LT profile of imb_factor; one_tail: the toy cases of Liu & Liu (2021), every class
    # keeps one_tail.head_count images but the last, which keeps one_tail.tail_count
    profile: str = param("exponential", choices=("exponential", "one_tail"))
    one_tail: OneTailConfig = param(OneTailConfig())
    synthetic: SyntheticConfig = param(SyntheticConfig())
    image_lists: ImageListsConfig = param(ImageListsConfig())


@dataclass(frozen=True)
class SplitsConfig:
    seed: int = param(0, ge=0)  # which images the LT cut and the shifted test sets keep (TADE/RIDE: 0)
    many_threshold: int = param(100, ge=1)  # many-shot: n > many_threshold (oltr rule: n >= ...)
    few_threshold: int = param(20, ge=1)  # few-shot: n < few_threshold (oltr rule: n <= ...)
    group_rule: str = param("strict", choices=("strict", "oltr"))


@dataclass(frozen=True)
class ModelConfig:
    arch: str = param("resnet8", choices=ARCHS)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = param(30, ge=1)
    batch_size: int = param(128, ge=1)
    lr: float = param(0.1, gt=0.0)
    backbone_lr_factor: float = param(1.0, ge=0.0)  # the backbone trains at lr x this (fine-tuning: < 1)
    momentum: float = param(0.9, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = param(5e-4, ge=0.0)
    warmup_epochs: int = param(1, ge=0)  # linear warm-up, then the schedule
    schedule: str = param("cosine", choices=("cosine", "multistep", "constant"))
    milestones: list[int] = param([])  # epochs where multistep multiplies the lr by gamma
    gamma: float = param(0.1, gt=0.0, le=1.0)
    augment: str = param("crop_flip", choices=("none", "crop_flip"))


@dataclass(frozen=True)
class MocoConfig:
    dim: int = param(128, ge=1)  # output of the MLP projection head
    queue: int = param(4096, ge=1)  # negative keys kept (MoCo v2 on ImageNet: 65536)
    key_momentum: float = param(0.999, ge=0.0, lt=1.0)  # key encoder = m * key + (1 - m) * query
    temperature: float = param(0.2, gt=0.0)


@dataclass(frozen=True)
class PretrainConfig(TrainConfig):
    """Self-supervised pre-training of the backbone on the training images, labels unused."""

    kind: str = param("rotation", choices=("rotation", "moco"))
    moco: MocoConfig = param(MocoConfig())


@dataclass(frozen=True)
class LogitsConfig:
    batch_size: int = param(512, ge=1)


@dataclass(frozen=True)
class EvalConfig:
    open_threshold: float = param(0.1, ge=0.0, le=1.0)  # reject when the max softmax prob is below
    ece_bins: int = param(15, ge=1)


@dataclass(frozen=True)
class RuntimeConfig:
    device: str = param("auto", choices=("auto", "cpu", "cuda"))
    nproc: int = param(1, ge=1)  # training processes on this machine (torchrun, one per GPU)
    amp: bool = True  # bf16 autocast where the device supports it well (CUDA)
    compile: bool = False  # torch.compile the backbone for training (CUDA; slow to start on CPU)
    max_steps: int = param(0, ge=0)  # stop every training epoch after this many steps (0: no limit), a smoke test
    num_workers: int = param(4, ge=0)  # DataLoader workers decoding image-list data sets


@dataclass(frozen=True)
class Config:
    method: str
    seed: int
    data: DataConfig
    splits: SplitsConfig
    model: ModelConfig
    stage1: TrainConfig
    stage2: TrainConfig
    pretrain: PretrainConfig
    logits: LogitsConfig
    eval: EvalConfig
    runtime: RuntimeConfig
    methods: dict = field(default_factory=dict)  # method name -> its params dataclass

    @property
    def method_params(self):
        return self.methods.get(self.method)


_SECTIONS = {
    "data": DataConfig,
    "splits": SplitsConfig,
    "model": ModelConfig,
    "stage1": TrainConfig,
    "stage2": TrainConfig,
    "pretrain": PretrainConfig,
    "logits": LogitsConfig,
    "eval": EvalConfig,
    "runtime": RuntimeConfig,
}


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value, tp, key: str):
    """Check value against the annotation tp; ints are accepted where floats are expected."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build_section(tp, value, key)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return _coerce(value, option, key)
            except LtrError:
                continue
        allowed = " or ".join(_type_name(t) for t in typing.get_args(tp))
        raise LtrError(f"params.yaml: {key} = {value!r} has the wrong type; expected {allowed}")
    if origin is list:
        if not isinstance(value, list):
            raise LtrError(f"params.yaml: {key} = {value!r} must be a list")
        (item,) = typing.get_args(tp)
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        # YAML 1.1 reads 1e-9 (no dot) as a string, and `dvc exp run -S x=1e-9` writes it that way
        return float(value)
    if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise LtrError(f"params.yaml: {key} = {value!r} has the wrong type; expected {_type_name(tp)}")


_BOUNDS = {"ge": (">=", operator.ge), "gt": (">", operator.gt), "le": ("<=", operator.le), "lt": ("<", operator.lt)}


def _check_range(value, meta: dict, key: str):
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise LtrError(f"params.yaml: {key} = {value!r} is not allowed; choose one of: {', '.join(meta['choices'])}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    for name, (symbol, compare) in _BOUNDS.items():
        bound = meta.get(name)
        if bound is not None and not compare(value, bound):
            raise LtrError(f"params.yaml: {key} = {value} is out of range: must be {symbol} {bound}")


def build_section(cls, raw, where: str):
    """Build dataclass `cls` from the mapping `raw` (missing keys take their defaults)."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise LtrError(f"params.yaml: {where} must be a mapping of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise LtrError(f"params.yaml: unknown key '{where}.{unknown[0]}'; {where} allows: {', '.join(names)}")
    values = {}
    for f in dataclasses.fields(cls):
        key = f"{where}.{f.name}"
        if f.name not in raw:
            continue
        value = _coerce(raw[f.name], hints[f.name], key)
        _check_range(value, f.metadata, key)
        values[f.name] = value
    return cls(**values)


def parse_config(raw: dict) -> Config:
    from ltr.methods import METHODS  # the registry imports this module for `param`

    if not isinstance(raw, dict):
        raise LtrError("params.yaml must be a mapping of sections")
    allowed = ["method", "seed", *_SECTIONS, *METHODS]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise LtrError(f"params.yaml: unknown key '{unknown[0]}'; top-level keys allowed: {', '.join(allowed)}")
    method = raw.get("method", "softmax")
    if method not in METHODS:
        raise LtrError(f"params.yaml: method = {method!r} is not registered; choose one of: {', '.join(METHODS)}")
    seed = _coerce(raw.get("seed", 0), int, "seed")
    _check_range(seed, {"ge": 0}, "seed")
    sections = {name: build_section(cls, raw.get(name), name) for name, cls in _SECTIONS.items()}
    methods = {name: build_section(m.params_cls, raw.get(name), name) for name, m in METHODS.items()}
    return Config(method=method, seed=seed, methods=methods, **sections)


def load_config(path: str | Path = "params.yaml") -> Config:
    path = Path(path)
    if not path.exists():
        raise LtrError(f"{path} is missing: run from the repository root, where params.yaml lives")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise LtrError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    return parse_config(raw or {})


def config_hash(*parts) -> str:
    """A short stable hash of config sections (dataclasses or plain values), for resume keys."""
    plain = [dataclasses.asdict(p) if dataclasses.is_dataclass(p) else p for p in parts]
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()[:16]
