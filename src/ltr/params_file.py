"""params.yaml, rendered from the declarations: every default and comment is a field's (its `help` and
`deviation`, ltr.config.fields.param), so the dataclasses are the one source of both, and the file is
their rendering. Torch-free.

    python -m ltr.params_file --write    (or `ltr params --write`) regenerates params.yaml
    python -m ltr.params_file --check    exits non-zero naming the first key that differs

A schedule shared by several sections (ltr.config.fields.shared_schedule) is written once, under
`schedules:` as a YAML anchor that each of those sections merges (`<<: *from_scratch`) before the keys in
which it differs; YAML and DVC resolve the merge, so every section still holds every key. A field's help
is written once, where the file first shows the field (a schedule's in `schedules:`). Method sections
follow the registry's order, the templates last.
"""

import dataclasses
import json
import sys
import textwrap
from dataclasses import dataclass
from functools import cache
from itertools import zip_longest
from pathlib import Path

import yaml

from ltr.config import Config, Section
from ltr.config.fields import SHARED_SCHEDULES, schedule_keys, schedule_of
from ltr.errors import LtrError
from ltr.methods import MethodSpec, method_names, spec

PARAMS = Path("params.yaml")
LINE = 120  # a key's comment goes on its line up to this width, else above it
WIDTH = 104  # the width of the comments above a key

HEADER = (
    "Rendered by `ltr params --write` from the declarations (src/ltr/config/, src/ltr/methods/<name>/params.py): "
    "every default and comment here is a field's, and `ltr params --check` (and a test) fails where this file "
    "differs. To change a default, change its field and rewrite the file; to try a value, `dvc exp run -S "
    "key=value`. `ltr explain KEY`: a key's default, range, help, the stages that track it and the code that reads it."
)
SCHEDULES = (
    "Training schedules, declared once: each section of a schedule merges it (`<<: *name`) and writes the keys in "
    "which it differs. `-S stage1.lr=0.2` sets a section's value; DVC then writes the merged sections out in "
    "full, so a `-S schedules...` value would reach no section (check_params refuses it)."
)
METHODS = (
    "One section per method (the method named by `method:` is the one in use). Its `train:` part is what stage 2 "
    "reads, its whole schedule included; its `logits:` part is what the logits stage reads, so changing it re-runs "
    "only the logits stage and evaluation. Methods that train from scratch merge stage 1's schedule, so that they "
    "compare with softmax at equal cost."
)
TEMPLATES = (
    'Templates to copy for your own method (README, "Add a method"): registered and tested like the methods above '
    "(`dvc exp run -S method=template_posthoc`), but left out of `make report`'s comparison."
)


def scalar(value) -> str:
    """A value in YAML flow style, read back as the same value and type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text if "." in text or "e" not in text else text.replace("e", ".0e", 1)  # YAML 1.1: 1e-09 is a string
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, str) and not reads_back(value):
        return json.dumps(value)
    return str(value)


def reads_back(text: str) -> bool:
    try:
        return bool(text) and yaml.safe_load(text) == text
    except yaml.YAMLError:
        return False


def comment_lines(text: str, indent: int) -> list[str]:
    pad = "  " * indent
    return textwrap.wrap(text, WIDTH, initial_indent=f"{pad}# ", subsequent_indent=f"{pad}# ", break_on_hyphens=False)


def keyed(indent: int, text: str, comment: str) -> list[str]:
    """`key: value`, with its comment on the line, or above it where the line would be too long."""
    line = "  " * indent + text
    if not comment:
        return [line]
    if len(line) + 4 + len(comment) <= LINE:
        return [f"{line}  # {comment}"]
    return [*comment_lines(comment, indent), line]


def field_comment(f: dataclasses.Field | None, seen: set[int]) -> str:
    """The field's help (and deviation), the first time the file shows the field; "" after."""
    if f is None or id(f) in seen:
        return ""
    seen.add(id(f))
    deviation = f.metadata.get("deviation")
    return "; ".join(filter(None, [f.metadata.get("help"), deviation and f"deviation: {deviation}"]))


def parent_schedule(cls: type) -> type | None:
    """The shared schedule that schedule class `cls` itself merges (its nearest base's), if any."""
    return next((base for base in cls.__mro__[1:] if "__shared_schedule__" in vars(base)), None)


def schedule_name(cls: type) -> str:
    return vars(cls)["__shared_schedule__"][0]


def written_fields(value: Section, anchor: type | None) -> list[dataclasses.Field]:
    """The fields a section writes after merging the schedule `anchor`: its own, and of the schedule's
    keys those it declares again (with its own help) or whose value differs."""
    if anchor is None:
        return list(dataclasses.fields(value))
    mro = type(value).__mro__
    declared_below = {name for cls in mro[: mro.index(anchor)] for name in vars(cls).get("__annotations__", {})}
    shared, base = set(schedule_keys(anchor)), anchor()
    return [
        f
        for f in dataclasses.fields(value)
        if f.name not in shared or f.name in declared_below or getattr(value, f.name) != getattr(base, f.name)
    ]


def section_lines(name: str, value: Section, comment: str, indent: int, seen: set[int]) -> list[str]:
    anchor = schedule_of(type(value))
    written = written_fields(value, anchor)
    if not anchor and not written:
        return keyed(indent, f"{name}: {{}}", comment)
    lines = keyed(indent, f"{name}:", comment)
    if anchor:
        lines.append("  " * (indent + 1) + f"<<: *{schedule_name(anchor)}")
    for f in written:
        lines += entry_lines(f.name, getattr(value, f.name), f, indent + 1, seen)
    return lines


def entry_lines(name: str, value, f: dataclasses.Field | None, indent: int, seen: set[int]) -> list[str]:
    comment = field_comment(f, seen)
    if isinstance(value, Section):
        return section_lines(name, value, comment, indent, seen)
    return keyed(indent, f"{name}: {scalar(value)}", comment)


def schedules_lines(seen: set[int]) -> list[str]:
    """`schedules:`, each shared schedule an anchor that merges its parent's (fine_tune: from_scratch's)."""
    lines = ["", *comment_lines(SCHEDULES, 0), "schedules:"]
    for name, cls in sorted(SHARED_SCHEDULES.items(), key=lambda item: len(item[1].__mro__)):
        parent, keys = parent_schedule(cls), schedule_keys(cls)
        lines += keyed(1, f"{name}: &{name}", vars(cls)["__shared_schedule__"][1])
        if parent:
            lines.append(f"    <<: *{schedule_name(parent)}")
        for f in written_fields(cls(), parent):
            if f.name in keys:
                lines += entry_lines(f.name, getattr(cls(), f.name), f, 2, seen)
    return lines


def method_order() -> list[str]:
    """The registry's order (softmax first, then by name), the templates last; every declaration is
    loaded, and with them the shared schedules that some declare."""
    return sorted(method_names(), key=lambda name: spec(name).template)


def method_comment(declared: MethodSpec) -> str:
    return f"{declared.paper}: {declared.summary}" if declared.paper else declared.summary


def render() -> str:
    methods = method_order()
    seen: set[int] = set()
    lines = [*comment_lines(HEADER, 0), ""]
    defaults = Config()
    for f in dataclasses.fields(Config):
        if f.name in ("schedules", "method_sections"):
            continue
        value = getattr(defaults, f.name)
        if isinstance(value, Section) and schedule_of(type(value)) and "schedules:" not in lines:
            lines += schedules_lines(seen)  # before the first section that merges one
        lines += [""] if isinstance(value, Section) else []
        lines += entry_lines(f.name, value, f, 0, seen)
    lines += ["", *comment_lines(METHODS, 0)]
    for name in methods:
        declared = spec(name)
        if declared.template and not any(spec(n).template for n in methods[: methods.index(name)]):
            lines += comment_lines(TEMPLATES, 0)
        lines += section_lines(name, declared.params(), method_comment(declared), 0, seen)
    return "\n".join(lines) + "\n"


# -- every key, for `ltr explain` and the tests ----------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    key: str
    default: object  # a value, or a Section's defaults
    owner: type | None  # the class whose field it is (None: a top-level method section)
    field: dataclasses.Field | None
    help: str


@cache
def declarations() -> dict[str, Declared]:
    """Every key params.yaml holds, dotted, with its declaration."""
    found: dict[str, Declared] = {}

    def walk(key: str, value, owner, f, help_: str) -> None:
        found[key] = Declared(key, value, owner, f, help_)
        if isinstance(value, Section):
            for g in dataclasses.fields(value):
                walk(f"{key}.{g.name}", getattr(value, g.name), type(value), g, g.metadata.get("help") or "")

    methods = method_order()  # loads every declaration first: some declare shared schedules
    defaults = Config()
    for f in dataclasses.fields(Config):
        if f.name not in ("schedules", "method_sections"):
            walk(f.name, getattr(defaults, f.name), Config, f, f.metadata.get("help") or "")
    found["schedules"] = Declared("schedules", None, None, None, SCHEDULES)
    for name, cls in SHARED_SCHEDULES.items():
        help_ = vars(cls)["__shared_schedule__"][1]
        found[f"schedules.{name}"] = Declared(f"schedules.{name}", cls(), None, None, help_)
        for f in (f for f in dataclasses.fields(cls) if f.name in schedule_keys(cls)):
            walk(f"schedules.{name}.{f.name}", getattr(cls(), f.name), cls, f, f.metadata.get("help") or "")
    for name in methods:
        declared = spec(name)
        walk(name, declared.params(), None, None, method_comment(declared))
    return found


def first_difference(want, have, prefix: str = "") -> tuple[str, object, object] | None:
    """(dotted key, declared value, value in the file) of the first key, in the declared order, whose value
    differs (a type too: 100 is not 100.0); a key only one side has differs from `None`."""
    if isinstance(want, dict) and isinstance(have, dict):
        for key in [*want, *(k for k in have if k not in want)]:
            found = first_difference(want.get(key), have.get(key), f"{prefix}{key}.")
            if found:
                return found
        return None
    return None if json.dumps(want) == json.dumps(have) else (prefix.rstrip("."), want, have)


def check(path: Path = PARAMS) -> str:
    """A line saying that `path` is the rendering; LtrError naming the first key (else line) that differs."""
    if not path.exists():
        raise LtrError(f"{path} is missing: run from the repository root, or `ltr params --write` to create it")
    text, rendered = path.read_text(), render()
    if text == rendered:
        return f"{path.name} is the rendering of the declarations"
    try:
        difference = first_difference(yaml.safe_load(rendered), yaml.safe_load(text))
    except yaml.YAMLError as e:
        raise LtrError(f"{path.name} is not valid YAML: {str(e).splitlines()[0]}") from None
    fix = "change the field's default, or run `ltr params --write` to rewrite the file"
    if difference:
        key, want, have = difference
        raise LtrError(f"{path.name}: {key} is {shown(have)}, declared {shown(want)}; {fix}")
    pairs = zip_longest(text.splitlines(), rendered.splitlines())
    line = next((i for i, (a, b) in enumerate(pairs, 1) if a != b), len(rendered.splitlines()))
    raise LtrError(f"{path.name}: line {line} differs from the rendering (a comment or the layout); {fix}")


def shown(value) -> str:
    return "missing" if value is None else "a section" if isinstance(value, dict) else scalar(value)


def write(path: Path = PARAMS) -> str:
    text = render()
    path.write_text(text)
    return f"wrote {path.name}: {text.count(chr(10))} lines"


if __name__ == "__main__":
    # `python -m ltr.params_file [--write]`, without the command line's imports (`ltr params` is the same)
    if sys.argv[1:] not in ([], ["--check"], ["--write"]):
        sys.exit(f"error: unknown arguments {' '.join(sys.argv[1:])}; give --check (the default) or --write")
    try:
        print(write() if sys.argv[1:] == ["--write"] else check())
    except LtrError as e:
        sys.exit(f"error: {e}")
