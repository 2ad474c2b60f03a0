"""dvc.yaml's code dependencies, derived from the imports: each stage depends on exactly the project
modules its script can load, for every method (the registries load only the method in use).

tests/test_dag.py checks dvc.yaml against this; `python -m ltr.dag` (or `python tests/test_dag.py`)
rewrites the `.py` deps of dvc.yaml from it, comments and data deps kept; `ltr new-method` runs it.
It works on the project this package lives in (src/ltr/dag.py: two levels up), whose methods are the
ones `ltr.config` registers. Torch-free: it reads the sources, it imports only the declarations.
"""

import ast
import re
import sys
from pathlib import Path

import yaml

from ltr.config import method_names, spec

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
METHOD_FILES = ("src/ltr/config/methods/${method}.py", "src/ltr/methods/${method}.py")
# The stages that load the method's declaration (ltr.config.methods.<name>, to read its section or to
# ask which stages it trains in), and when they load its implementation (ltr.methods.<name>): logits
# always, a training stage only when the method trains there (else it writes its "unused" output).
LOADS_METHOD = {"pretrain": "pretrain", "stage2": "stage2", "experts": "experts", "logits": None}
EVERY_DECLARATION = {"check_params"}  # validates the sections of all methods


def module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imports(path: Path) -> set[str]:
    """Every project module an import statement of the file names (in any scope)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from pkg import module`
    modules = set()
    for name in names:
        if name.split(".")[0] == "ltr" and module_file(name):
            parts = name.split(".")
            modules |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}  # packages' __init__ run first
    return modules


def closure(*files: Path) -> set[Path]:
    seen, todo = set(), list(files)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [module_file(m) for m in imports(path)]
    return seen


def required(stage: str, script: Path, method: str) -> set[str]:
    """The files, relative to the project, that `stage` loads when it runs `script` for `method`."""
    files = closure(script)
    kind = stage.split("@")[0]
    if kind in EVERY_DECLARATION:
        files |= closure(*(SRC / "ltr" / "config" / "methods" / f"{m}.py" for m in method_names()))
    if kind in LOADS_METHOD:
        files |= closure(SRC / "ltr" / "config" / "methods" / f"{method}.py")
        if LOADS_METHOD[kind] is None or spec(method).uses(LOADS_METHOD[kind]):
            files |= closure(SRC / "ltr" / "methods" / f"{method}.py")
    return {str(f.relative_to(ROOT)) for f in files}


def stages(dvc_yaml: dict):
    """(stage name, definition) of every stage, foreach stages expanded as DVC names them."""
    for name, definition in dvc_yaml["stages"].items():
        if "foreach" in definition:
            for item in definition["foreach"]:
                yield f"{name}@{item}", {k: _subst(v, "item", item) for k, v in definition["do"].items()}
        else:
            yield name, definition


def _subst(value, key: str, item: str):
    if isinstance(value, list):
        return [_subst(v, key, item) for v in value]
    return value.replace(f"${{{key}}}", item) if isinstance(value, str) else value


def script_of(definition: dict) -> str:
    return re.search(r"python (\S+\.py)", definition["cmd"]).group(1)


def code_deps(definition: dict) -> list[str]:
    return [d for d in definition.get("deps", []) if d.endswith(".py")]


def derived_code_deps(stage: str, definition: dict) -> list[str]:
    """The code deps tests/test_dag.py requires: the script, the method's own files where the stage
    loads them, then every other module any method's run loads, sorted."""
    script = script_of(definition)
    needed = {m: required(stage, ROOT / script, m) for m in method_names()}
    templates = [
        t
        for t in METHOD_FILES
        if stage not in EVERY_DECLARATION and any(t.replace("${method}", m) in needed[m] for m in method_names())
    ]
    own = {t.replace("${method}", m) for t in templates for m in method_names()}
    fixed = sorted(set().union(*needed.values()) - own - {script})
    return [script, *templates, *fixed]


def write_code_deps(path: Path = ROOT / "dvc.yaml") -> None:
    """Rewrites the .py entries of every stage's deps in dvc.yaml as text (comments and other deps kept)."""
    lines, out, stage = path.read_text().splitlines(keepends=True), [], None
    wanted = dict(stages(yaml.safe_load(path.read_text())))
    i = 0
    while i < len(lines):
        line = lines[i]
        name = re.match(r"^  ([a-z_0-9]+):", line)
        if name:
            stage = name.group(1)
        if line.strip() == "deps:" and stage is not None:
            out.append(line)
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            i += 1
            block = []
            while i < len(lines) and lines[i].startswith(indent + "- "):
                block.append(lines[i])
                i += 1
            key = f"{stage}@many" if f"{stage}@many" in wanted else stage
            out += [f"{indent}- {d}\n" for d in derived_code_deps(key, wanted[key])]
            out += [b for b in block if not b.split("- ", 1)[1].split("#")[0].strip().endswith(".py")]
            continue
        out.append(line)
        i += 1
    path.write_text("".join(out))


if __name__ == "__main__":
    write_code_deps(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dvc.yaml")
