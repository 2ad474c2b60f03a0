"""params.yaml -> typed, validated config objects; the bottom layer, which imports neither torch
nor any method's implementation.

Loading rejects unknown keys, wrong types and out-of-range values with one line that names the key,
the bad value and what is allowed. The shared sections are built at once; a method's section when a
stage first asks for it (and `every_method=True` builds them all: the params check, presets), so a
stage loads the declaration of the method in use only, or none.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ltr.config.fields import Section, build_section, coerce, forget_reads, param, reads
from ltr.config.methods import MethodSpec, method_names, spec
from ltr.config.sections import (
    ARCHS,
    DATASETS,
    SECTIONS,
    DataConfig,
    EvalConfig,
    FineTuneConfig,
    ImageListsConfig,
    LogitsConfig,
    MocoConfig,
    ModelConfig,
    OneTailConfig,
    PretrainConfig,
    RuntimeConfig,
    SplitsConfig,
    SyntheticConfig,
    TrainConfig,
)
from ltr.errors import LtrError

__all__ = [
    "ARCHS",
    "DATASETS",
    "Config",
    "DataConfig",
    "EvalConfig",
    "FineTuneConfig",
    "ImageListsConfig",
    "LogitsConfig",
    "MethodSpec",
    "MocoConfig",
    "ModelConfig",
    "OneTailConfig",
    "PretrainConfig",
    "RuntimeConfig",
    "Section",
    "SplitsConfig",
    "SyntheticConfig",
    "TrainConfig",
    "build_section",
    "config_hash",
    "forget_reads",
    "load_config",
    "method_names",
    "param",
    "parse_config",
    "reads",
    "spec",
]


@dataclass(frozen=True)
class Config(Section):
    method: str
    seed: int  # training seed: model init, batch order, augmentation
    data: DataConfig
    splits: SplitsConfig
    model: ModelConfig
    stage1: TrainConfig
    pretrain: PretrainConfig
    logits: LogitsConfig
    eval: EvalConfig
    runtime: RuntimeConfig
    _raw_methods: dict = field(default_factory=dict, repr=False)  # method name -> its YAML mapping
    _built: dict = field(default_factory=dict, repr=False)  # method name -> its section, once built

    @property
    def spec(self) -> MethodSpec:
        return spec(self.method)

    @property
    def method_params(self) -> Section:
        """The section of the method in use: what its steps receive."""
        return self.section(self.method)

    def section(self, name: str) -> Section:
        """The params section of method `name`, validated when first asked for."""
        if name not in self._built:
            self._built[name] = build_section(spec(name).params, self._raw_methods.get(name), name)
        return self._built[name]


def parse_config(raw: dict, every_method: bool = False) -> Config:
    if not isinstance(raw, dict):
        raise LtrError("params.yaml must be a mapping of sections")
    methods = method_names()
    allowed = ["method", "seed", *SECTIONS, *methods]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise LtrError(f"params.yaml: unknown key '{unknown[0]}'; top-level keys allowed: {', '.join(allowed)}")
    method = raw.get("method", "softmax")
    if method not in methods:
        raise LtrError(f"params.yaml: method = {method!r} is not registered; choose one of: {', '.join(methods)}")
    seed = coerce(raw.get("seed", 0), int, "seed", {"ge": 0})
    sections = {name: build_section(cls, raw.get(name), name) for name, cls in SECTIONS.items()}
    config = Config(method=method, seed=seed, _raw_methods={m: raw.get(m) for m in methods}, **sections)
    object.__setattr__(config, "_path", "")  # top-level keys record as `method`, `seed`
    if every_method:
        for name in methods:
            config.section(name)
    return config


def load_config(path: str | Path = "params.yaml", every_method: bool = False) -> Config:
    path = Path(path)
    if not path.exists():
        raise LtrError(f"{path} is missing: run from the repository root, where params.yaml lives")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise LtrError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    return parse_config(raw or {}, every_method)


def config_hash(*parts) -> str:
    """A short stable hash of plain values (the params a stage read, file digests), for resume keys."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
