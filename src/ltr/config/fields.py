"""The machinery of params sections: fields with allowed values, validated construction from the
parsed YAML, and a log of every key a stage reads.

Every section is a frozen dataclass derived from `Section`. A section built by `build_section` knows
its key path (`stage1`, `tde.train`), and reading one of its fields records the dotted key and value.
A test compares these reads with the params each stage tracks in dvc.yaml (both ways), and training
stages key their resume state by them, so a stage's config is what it read, not what it was given.
"""

import dataclasses
import math
import operator
import re
import types
import typing
from dataclasses import field

from ltr.errors import LtrError

_READS: dict[str, object] = {}  # dotted key -> value, every field read since forget_reads()


def reads() -> dict[str, object]:
    """The params read since the last forget_reads(), as {dotted key: value}."""
    return dict(_READS)


def forget_reads() -> None:
    _READS.clear()


class Section:
    """Base of every params section; records reads of its fields (not of nested sections, whose own
    fields record themselves)."""

    _path: str | None = None  # set by build_section; copies made by dataclasses.replace have none

    def __getattribute__(self, name: str):
        value = object.__getattribute__(self, name)
        if name.startswith("_") or isinstance(value, Section | dict):  # dict: Config.methods, of sections
            return value
        path = object.__getattribute__(self, "_path")
        if path is not None and name in object.__getattribute__(self, "__dataclass_fields__"):
            _READS[f"{path}.{name}" if path else name] = value
        return value


def param(default, *, ge=None, gt=None, le=None, lt=None, choices=None, help=None, deviation=None):
    """A dataclass field with its allowed range or choices, and its one line of help: why it has this
    default, and the original's value where it differs (`deviation`: what differs from the original
    code, and why). params.yaml's comments are rendered from them (ltr.params_file)."""
    meta = {"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices, "help": help, "deviation": deviation}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    if dataclasses.is_dataclass(default):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value, tp, key: str):
    """Check value against the annotation tp; ints are accepted where floats are expected."""
    if isinstance(value, float):
        _finite(value, key)
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


def _finite(value: float, key: str) -> float:
    """YAML reads .inf and .nan as floats; no param means them, and a stage would fail on one only
    after DVC removed its outputs."""
    if not math.isfinite(value):
        raise LtrError(f"params.yaml: {key} = {value} is not a finite number")
    return value


_BOUNDS = {"ge": (">=", operator.ge), "gt": (">", operator.gt), "le": ("<=", operator.le), "lt": ("<", operator.lt)}


def check_range(value, meta: dict, key: str) -> None:
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise LtrError(f"params.yaml: {key} = {value!r} is not allowed; choose one of: {', '.join(meta['choices'])}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    for name, (symbol, compare) in _BOUNDS.items():
        bound = meta.get(name)
        if bound is not None and not compare(value, bound):
            raise LtrError(f"params.yaml: {key} = {value} is out of range: must be {symbol} {bound}")


def allowed(meta: dict) -> str:
    """The range or choices of a field, as check_range enforces them ("" when any value of its type is)."""
    if meta.get("choices") is not None:
        return "one of: " + ", ".join(meta["choices"])
    return ", ".join(f"{symbol} {meta[name]}" for name, (symbol, _) in _BOUNDS.items() if meta.get(name) is not None)


def coerce(value, tp, key: str, meta: dict | None = None):
    """value checked against the annotation tp and the allowed range or choices of its field."""
    value = _coerce(value, tp, key)
    check_range(value, meta or {}, key)
    return value


def build_section(cls, raw, where: str):
    """Build section `cls` at key path `where` from the mapping `raw` (missing keys take their
    defaults; nested sections are always built here, so that each knows its own path)."""
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
        if dataclasses.is_dataclass(hints[f.name]):
            # keys the YAML leaves out take the field's default section's values (experts.medium's own)
            default = dataclasses.asdict(f.default_factory()) if callable(f.default_factory) else {}
            given = raw.get(f.name)
            merged = {**default, **given} if isinstance(given, dict) else default if given is None else given
            values[f.name] = build_section(hints[f.name], merged, key)
        else:  # a default too: an int default of a float field loads as a float, as written in params.yaml
            value = raw[f.name] if f.name in raw else f.default_factory() if callable(f.default_factory) else f.default
            values[f.name] = coerce(value, hints[f.name], key, f.metadata)
    section = cls(**values)
    object.__setattr__(section, "_path", where)
    return section


# -- schedules declared once -------------------------------------------------------------------------

SHARED_SCHEDULES: dict[str, type] = {}  # name -> the section class whose defaults it is, parents first


def shared_schedule(name: str, help: str):
    """Class decorator: the class's schedule defaults are one that params.yaml declares once, as the
    anchor `schedules.<name>`, which every section of the class (or a subclass) merges (`<<: *name`)
    before its own keys. `help` says who shares it and why."""

    def mark(cls):
        cls.__shared_schedule__ = (name, help)  # in the class's own namespace: subclasses find the nearest
        SHARED_SCHEDULES[name] = cls
        return cls

    return mark


def schedule_of(cls) -> type | None:
    """The nearest class in cls's bases (itself included) that declares a shared schedule."""
    return next((base for base in cls.__mro__ if "__shared_schedule__" in vars(base)), None)


def schedule_keys(cls) -> list[str]:
    """A schedule's keys: the fields of the root shared schedule above cls (TrainConfig's)."""
    root = [base for base in cls.__mro__ if "__shared_schedule__" in vars(base)][-1]
    return [f.name for f in dataclasses.fields(root)]


def check_shared_schedules(raw) -> None:
    """params.yaml's `schedules` holds the declared schedules, unchanged: `dvc exp run -S` writes every
    section that merges one out in full, so a value set there (-S schedules.x.lr=...) would reach no
    section while the experiment recorded it. A section's own key is what sets a value."""
    if not isinstance(raw, dict):
        raise LtrError(f"params.yaml: schedules must be a mapping of schedules, got {raw!r}")
    for name, given in raw.items():
        if name not in SHARED_SCHEDULES:
            raise LtrError(f"params.yaml: unknown schedule 'schedules.{name}'; declared: {', '.join(SHARED_SCHEDULES)}")
        cls, given = SHARED_SCHEDULES[name], given or {}
        declared = {key: getattr(cls(), key) for key in schedule_keys(cls)}
        differing = [k for k in declared if given.get(k, declared[k]) != declared[k]] + sorted(
            set(given) - set(declared)
        )
        if differing:
            key = differing[0]
            raise LtrError(
                f"params.yaml: schedules.{name}.{key} = {given.get(key)!r} is not its declared default "
                f"{declared.get(key)!r}; a -S there reaches no section (DVC writes the sections out in full): set "
                f"the sections' own keys (-S crt.train.{key}=...), or change {cls.__name__} and `ltr params --write`"
            )
