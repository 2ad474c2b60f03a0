"""`ltr explain KEY`: what a params.yaml key is, from the same declarations as params.yaml itself
(ltr.params_file): its value in the file, its default (and the schedule it comes from), its type and
range, its help, the stages whose dvc.yaml `params:` track it, and the code that reads it. Torch-free.

The readers are found statically: an AST scan of src/ltr and stages/ follows the annotated types of
function arguments, assignments and return values (`cfg: TrainConfig`, `p: TdeParams`, `cfg =
load_config()`) into attribute reads (`cfg.lr`, `p.logits.alpha`). A read through the whole config
(`cfg.stage1.lr`) is of that key only; a read through a section's type is of every key the section's
class (or a subclass) holds: engine code that reads `cfg.lr` of a TrainConfig reads every schedule's.
"""

import ast
import dataclasses
import difflib
import json
import re
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ltr.config import Config, Section
from ltr.config.fields import allowed, schedule_of
from ltr.errors import LtrError
from ltr.methods import method_names
from ltr.params_file import Declared, declarations, parent_schedule, scalar, written_fields

# -- where a value comes from: a section's own key, or a shared schedule it merges ----------------------


def schedule_chain(section: Section, key: str, anchor: type | None) -> list[str]:
    """The shared schedules that a section's value of `key` comes through, from the one it merges
    (`anchor`) to the one that sets the value ([]: the section sets it itself)."""
    chain: list[str] = []
    while anchor is not None and key not in {f.name for f in written_fields(section, anchor)}:
        chain.append(vars(anchor)["__shared_schedule__"][0])
        section, anchor = anchor(), parent_schedule(anchor)
    return chain if anchor is not None or key in {f.name for f in dataclasses.fields(section)} else []


def source_of(declared: dict[str, Declared], key: str) -> str | None:
    """The shared schedule that the value of `key` comes from, where its section merges one."""
    parent, _, leaf = key.rpartition(".")
    section = declared[parent].default if parent in declared else None
    if not isinstance(section, Section):
        return None
    merged = parent_schedule(type(section)) if parent.startswith("schedules.") else schedule_of(type(section))
    chain = schedule_chain(section, leaf, merged)
    return chain[-1] if chain else None


def schedule_users(declared: dict[str, Declared], name: str, key: str) -> list[str]:
    """The sections that take schedules.<name>.<key>: it is on the way of their value of the key."""
    return [
        d.key
        for d in declared.values()
        if isinstance(d.default, Section)
        and not d.key.startswith("schedules")
        and name in schedule_chain(d.default, key, schedule_of(type(d.default)))
    ]


# -- the stages that track it ---------------------------------------------------------------------------


def param_keys(entries: list) -> list[str]:
    """The keys of a stage's params entries, from params.yaml or from another file (`data/method_params.yaml:
    [${method}.train]`: the method's section as check_params resolved it, with the same names)."""
    keys = []
    for entry in entries:
        if isinstance(entry, dict):
            keys.extend(str(k) for keys_of_file in entry.values() for k in keys_of_file or [])
        else:
            keys.append(str(entry))
    return keys


def stage_params(dvc_yaml: dict) -> dict[str, list[str]]:
    """Each stage's params keys (foreach stages expanded: experts@many), ${item} filled in."""
    out = {}
    for name, definition in (dvc_yaml.get("stages") or {}).items():
        if "foreach" in definition:
            for item in definition["foreach"]:
                keys = param_keys(definition["do"].get("params", []))
                out[f"{name}@{item}"] = [k.replace("${item}", str(item)) for k in keys]
        else:
            out[name] = param_keys(definition.get("params", []))
    return out


def tracking(key: str, entries: dict[str, list[str]]) -> list[tuple[str, str, dict]]:
    """(stage, entry, {placeholder: the value it needs}) for every entry of a stage that covers the key:
    the key itself or a section above it, with ${method} and ${data.name} matched to the key."""
    found = []
    for stage, stage_entries in entries.items():
        for entry in stage_entries:
            names = re.findall(r"\$\{([^}]+)\}", entry)
            pattern = re.escape(entry)
            for var in names:
                pattern = pattern.replace(re.escape(f"${{{var}}}"), r"([^.]+)", 1)
            match = re.fullmatch(rf"{pattern}(?:\..+)?", key)
            needs = dict(zip(names, match.groups(), strict=True)) if match else {}
            if match and all(value in placeholder_values(var) for var, value in needs.items()):
                found.append((stage, entry, needs))
    return found


def placeholder_values(var: str) -> tuple:
    """What a dvc.yaml placeholder can be: a registered method, a data set (data.name's choices)."""
    if var == "method":
        return method_names()
    f = declarations().get(var)
    return (f.field.metadata.get("choices") or ()) if f and f.field else ()


def tracked_text(found: list[tuple[str, str, dict]], params: dict) -> str:
    """One clause a stage and entry: `stage2 (as ${method}.train, while method is crt or lws; now softmax)`."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for stage, entry, needs in found:
        grouped.setdefault((stage, entry), []).append(needs)
    clauses = []
    for (stage, entry), needs in grouped.items():
        notes = [] if not needs[0] else [f"as {entry}"]
        for var in needs[0]:
            values = list(dict.fromkeys(n[var] for n in needs))
            now = lookup(params, var)
            if now not in values:  # not tracked with params.yaml as it is
                notes.append(f"while {var} is {' or '.join(values)}; now {now}")
        clauses.append(f"{stage} ({', '.join(notes)})" if notes else stage)
    return "; ".join(dict.fromkeys(clauses))


def lookup(params, key: str):
    node = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# -- the code that reads it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    type: str | None  # the class the attribute was read on (None: not known)
    attr: str
    path: str | None  # the dotted key, where the read goes through the whole config (cfg.stage1.lr)
    where: str  # file:line
    text: str  # the read as written: runtime.nproc


def _type_name(node) -> str | None:
    """The class an annotation names (a forward reference's too); None for unions and generics."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.split(".")[-1].strip("'\"")
    if isinstance(node, ast.Name | ast.Attribute):
        return node.id if isinstance(node, ast.Name) else node.attr
    return None


def _section_classes() -> dict[str, type]:
    """Every params section class by name, from the declarations."""
    sections = [type(d.default) for d in declarations().values() if isinstance(d.default, Section)]
    return {c.__name__: c for cls in sections for c in cls.__mro__ if issubclass(c, Section)} | {"Config": Config}


@cache
def reads(root: Path) -> tuple[Read, ...]:
    """Every attribute read in the project's src/ltr and stages/ (typed where the types are known)."""
    classes = _section_classes()
    attrs: dict[str, dict[str, str | None]] = {
        name: {f: _hint_name(t) for f, t in typing.get_type_hints(cls).items()} for name, cls in classes.items()
    }
    returns: dict[str, str] = {}
    sources = [*sorted((root / "src" / "ltr").rglob("*.py")), *sorted((root / "stages").glob("*.py"))]
    trees = {path: ast.parse(path.read_text()) for path in sources}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name not in attrs:
                annotated = [s for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
                attrs[node.name] = {s.target.id: _type_name(s.annotation) for s in annotated}
            elif isinstance(node, ast.FunctionDef) and node.returns is not None and _type_name(node.returns):
                returns[node.name] = _type_name(node.returns)
    found = []
    for path, tree in trees.items():
        scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))]
        for scope in scopes:
            found += _scope_reads(scope, attrs, returns, str(path.relative_to(root)))
    return tuple(dict.fromkeys(found))


def _hint_name(tp) -> str | None:
    return tp.__name__ if isinstance(tp, type) else None


def _scope_reads(scope, attrs: dict, returns: dict, file: str) -> list[Read]:
    """The reads in one function (or a module's top level) through its annotated names."""
    env: dict[str, str | None] = {}
    if not isinstance(scope, ast.Module):
        for arg in [*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs]:
            env[arg.arg] = _type_name(arg.annotation) if arg.annotation else None

    def type_of(node) -> tuple[str | None, str | None]:
        if isinstance(node, ast.Name):
            name = env.get(node.id)
            return name, "" if name == "Config" else None
        if isinstance(node, ast.Attribute):
            owner, path = type_of(node.value)
            name = attrs.get(owner, {}).get(node.attr)
            return name, "" if name == "Config" else (f"{path}.{node.attr}".lstrip(".") if path is not None else None)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = returns.get(node.func.id)
            return name, "" if name == "Config" else None
        return None, None

    body = scope.body if isinstance(scope, ast.Module) else [scope]
    statements = [n for top in body for n in ast.walk(top) if isinstance(n, ast.stmt)]
    for node in sorted(statements, key=lambda n: n.lineno):  # assignments type the names that follow
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            env.setdefault(node.targets[0].id, type_of(node.value)[0])
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            env[node.target.id] = _type_name(node.annotation)
    found = []
    for node in (n for top in body for n in ast.walk(top) if isinstance(n, ast.Attribute)):
        owner, path = type_of(node.value)
        if owner in attrs and node.attr in attrs[owner]:
            key = f"{path}.{node.attr}".lstrip(".") if path is not None else None
            found.append(Read(owner, node.attr, key, f"{file}:{node.lineno}", ast.unparse(node)))
        elif owner is None and isinstance(node.value, ast.Name | ast.Attribute):
            found.append(Read(None, node.attr, None, f"{file}:{node.lineno}", ast.unparse(node)))
    return found


def readers(declared: Declared, root: Path) -> list[str]:
    """file:line of each read of the key, its source line beside it: the typed reads, else the untyped
    ones written as the key's last two parts (`runtime.nproc` on an argument without annotation)."""
    if declared.owner is None:
        return []
    name = declared.key.rsplit(".", 1)[-1]
    bases = {c.__name__ for c in declared.owner.__mro__}
    typed = [r for r in reads(root) if r.type is not None and r.attr == name]
    places = [r.where for r in typed if (r.path == declared.key if r.path is not None else r.type in bases)]
    if not places:
        tail = ".".join(declared.key.split(".")[-2:])
        places = [r.where for r in reads(root) if r.type is None and (r.text == tail or r.text.endswith(f".{tail}"))]
    lines = []
    for where in dict.fromkeys(places):
        file, line = where.rsplit(":", 1)
        code = (root / file).read_text().splitlines()[int(line) - 1].strip()
        lines.append(f"{where}  {code if len(code) <= 80 else code[:77] + '...'}")
    return lines


# -- the command ---------------------------------------------------------------------------------------


def unknown(key: str, keys: list[str]) -> LtrError:
    close = [k for k in keys if k.endswith(f".{key}")][:6]  # a key's last parts: lr, train.lr
    close += [k for k in difflib.get_close_matches(key, keys, n=3, cutoff=0.7) if k not in close]
    hint = f"; close matches: {', '.join(close)}" if close else "; `ltr explain` takes a dotted key such as stage1.lr"
    return LtrError(f"unknown key {key!r}{hint}")


def described_type(d: Declared) -> str:
    hint = typing.get_type_hints(d.owner)[d.field.name]
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    return ", ".join(filter(None, [text, allowed(d.field.metadata)]))


def explain(key: str, root: Path) -> str:
    """The lines `ltr explain KEY` prints for the project at `root` (its params.yaml, dvc.yaml, code)."""
    declared = declarations()
    if key not in declared:
        raise unknown(key, list(declared))
    d = declared[key]
    params = yaml.safe_load((root / "params.yaml").read_text()) if (root / "params.yaml").exists() else {}
    value, parent, source = lookup(params, key), key.rpartition(".")[0], source_of(declared, key)
    if isinstance(value, dict) or d.default is None or isinstance(d.default, Section):
        lines = [
            f"{key}: a section",
            f"  keys      {', '.join(k.rpartition('.')[2] for k in declared if k.rpartition('.')[0] == key)}",
        ]
    else:
        lines = [f"{key} = {scalar(value)} in params.yaml" if value is not None else f"{key}: not in params.yaml"]
        default = scalar(d.default) + (f" (schedules.{source}'s, merged into {parent})" if source else "")
        lines += [f"  default   {default}", f"  type      {described_type(d)}"]
    lines.append(f"  help      {d.help or '-'}")
    if parent in declared and declared[parent].help:
        lines.append(f"  in        {parent}: {declared[parent].help}")
    if d.field is not None and d.field.metadata.get("deviation"):
        lines.append(f"  deviation {d.field.metadata['deviation']}")
    keys = [key]
    if key.startswith("schedules.") and key.count(".") == 2:
        _, name, leaf = key.split(".")
        users = schedule_users(declared, name, leaf)
        lines.append(f"  taken by  {', '.join(f'{u}.{leaf}' for u in users) or 'no section'}")
        keys = [f"{u}.{leaf}" for u in users]
    dvc_yaml = yaml.safe_load((root / "dvc.yaml").read_text()) if (root / "dvc.yaml").exists() else {}
    entries = stage_params(dvc_yaml)
    if isinstance(d.default, Section):  # a section: the stages that track it or a part of it
        keys += [f"{k}.{f.name}" for k in keys for f in dataclasses.fields(d.default)]
    tracked = tracked_text([t for k in keys for t in tracking(k, entries)], params)
    lines.append(f"  tracked   {tracked or 'by no stage (check_params validates the whole file)'}")
    used = [s for s, definition in (dvc_yaml.get("stages") or {}).items() if f"${{{key}}}" in json.dumps(definition)]
    if used:
        lines.append(f"  dvc.yaml  ${{{key}}} in {', '.join(used)}")
    if not isinstance(d.default, Section) and d.default is not None:  # a section's keys have the readers
        places = readers(d, root) or ["no read found (grep for its name)"]
        lines += [f"  read at   {places[0]}", *(f"            {p}" for p in places[1:])]
    return "\n".join(lines)
