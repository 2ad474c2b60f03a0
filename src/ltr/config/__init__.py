"""params.yaml -> typed, validated config objects; the bottom layer, which imports neither torch
nor any method.

Loading rejects unknown keys, wrong types and out-of-range values with one line that names the key,
the bad value and what is allowed. The shared sections are built at once; every other top-level key
is a method's section, kept as params.yaml gives it: the method registry (ltr.methods) validates it
when a stage asks for it (`ltr.methods.section`), or every method's at once (`ltr.methods.check_all`:
the params check, presets), so a stage loads the declaration of the method in use only, or none.
"""

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ltr.config.fields import Section, build_section, coerce, forget_reads, param, reads
from ltr.config.sections import (
    SECTIONS,
    DataConfig,
    EvalConfig,
    FineTuneConfig,
    LogitsConfig,
    MocoConfig,
    ModelConfig,
    OneTailConfig,
    PretrainConfig,
    RuntimeConfig,
    SplitsConfig,
    TrainConfig,
)
from ltr.dvc_process import dvc_process
from ltr.errors import LtrError

__all__ = [
    "Config",
    "DataConfig",
    "EvalConfig",
    "FineTuneConfig",
    "LogitsConfig",
    "MocoConfig",
    "ModelConfig",
    "OneTailConfig",
    "PretrainConfig",
    "RuntimeConfig",
    "Section",
    "SplitsConfig",
    "TrainConfig",
    "build_section",
    "config_hash",
    "forget_reads",
    "load_config",
    "param",
    "parse_config",
    "reads",
]


@dataclass(frozen=True)
class Config(Section):
    method: str = param(
        "softmax",
        help="The method whose stage-2 training, logits and metrics the pipeline produces. One of the registered "
        'methods (README, "Methods"); `dvc exp run -S method=...` switches it and reuses every cached stage.',
    )
    seed: int = param(0, ge=0, help="training seed: model init, batch order, augmentation")
    data: DataConfig = param(DataConfig(), help="the data set: prepare builds it, splits cuts its LT profile")
    splits: SplitsConfig = param(SplitsConfig(), help="the split lists and the many / medium / few-shot groups")
    model: ModelConfig = param(ModelConfig(), help="the backbone of every training stage")
    stage1: TrainConfig = param(TrainConfig(), help="the shared representation = the softmax baseline")
    pretrain: PretrainConfig = param(
        PretrainConfig(),
        help="self-supervised pre-training of the backbone (labels unused), for methods that use it (ssp); stage "
        "1 starts from it. Other methods write a constant output here, so these settings never re-train stage 1.",
    )
    logits: LogitsConfig = param(LogitsConfig(), help="the logits stage's own settings")
    eval: EvalConfig = param(EvalConfig(), help="the metrics of the evaluate stage")
    runtime: RuntimeConfig = param(
        RuntimeConfig(), help="how the stages run (nproc: untracked; the rest change what they compute, so tracked)"
    )
    # the declared shared schedules as params.yaml gives them (checked against their declarations by
    # ltr.methods.check_all, which knows them all); the sections have merged them already
    schedules: dict = field(default_factory=dict, repr=False)
    # every other top-level key: a method's section, as params.yaml gives it (ltr.methods builds it)
    method_sections: dict = field(default_factory=dict, repr=False)


def parse_config(raw: dict) -> Config:
    if not isinstance(raw, dict):
        raise LtrError("params.yaml must be a mapping of sections")
    declared = {f.name: f for f in dataclasses.fields(Config)}  # not `fields`: ltr.config.fields is a module
    seed = coerce(raw.get("seed", declared["seed"].default), int, "seed", declared["seed"].metadata)
    sections = {name: build_section(cls, raw.get(name), name) for name, cls in SECTIONS.items()}
    others = {k: v for k, v in raw.items() if k not in ("method", "seed", "schedules", *SECTIONS)}
    config = Config(
        method=raw.get("method", declared["method"].default),
        seed=seed,
        schedules=raw.get("schedules", {}),
        method_sections=others,
        **sections,
    )
    object.__setattr__(config, "_path", "")  # top-level keys record as `method`, `seed`
    return config


RUNS = Path(".dvc/tmp/ltr-runs")  # the params.yaml each running `dvc exp run` started its stages with


def refuse_params_changed_under_the_experiment(text: str) -> None:
    """Under `dvc exp run`, the first stage that loads params records their hash for its `dvc`
    process; a later stage of that run that finds other params refuses, rather than make one
    experiment of two. A second `dvc exp run` in the same workspace writes its -S values into
    params.yaml before DVC's lock refuses it, which the first run would otherwise read."""
    if "DVC_EXP_NAME" not in os.environ or not Path(".dvc").is_dir():
        return
    RUNS.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    mine = RUNS / str(dvc_process())
    if not mine.exists():
        for other in RUNS.iterdir():  # the runs that ended
            if not _alive(int(other.name)):
                other.unlink(missing_ok=True)
        mine.write_text(digest)
    elif mine.read_text() != digest:
        raise LtrError(
            "params.yaml changed while this experiment runs (another `dvc exp run` in this workspace wrote its "
            "-S values?); stopping rather than mixing two experiments: see README, Troubleshooting"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def load_config(path: str | Path = "params.yaml") -> Config:
    path = Path(path)
    if not path.exists():
        raise LtrError(f"{path} is missing: run from the repository root, where params.yaml lives")
    text = path.read_text()
    refuse_params_changed_under_the_experiment(text)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise LtrError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    return parse_config(raw or {})


def config_hash(*parts) -> str:
    """A short stable hash of plain values (the params a stage read, file digests), for resume keys."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
