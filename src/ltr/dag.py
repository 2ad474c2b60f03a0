"""dvc.yaml's code dependencies, derived from the imports: each stage depends on exactly the project
modules its script can load, for every method (the registries load only the method in use).

tests/test_dag.py checks dvc.yaml against this; `python -m ltr.dag` (or `python tests/test_dag.py`)
rewrites the code deps of dvc.yaml from it, comments and data deps kept: after a change of imports.
It works on the project this package lives in (src/ltr/dag.py: two levels up), whose methods are the
ones `ltr.methods` registers. Torch-free: it reads the sources, it imports only the declarations.

A method's files are named by its folder, src/ltr/methods/${method} (a listed folder covers every file
under it), so that the stages that run the method in use need no edit of dvc.yaml when a method is
added. The params check names the method in use's declaration alone, src/ltr/methods/${method}/params.py:
it validates every method's section, but writes only that method's (data/method_params.yaml), and an
edit of a method's steps must not re-run it; another method's declaration is checked again when a run
switches to it (a change of params.yaml re-runs the check).
"""

import ast
import re
import sys
from pathlib import Path

import yaml

from ltr.methods import method_names, spec

ROOT = Path(__file__).resolve().parents[2]
MODULE_NAME = re.compile(r"ltr(\.\w+)+")
SRC = ROOT / "src"
METHODS = "src/ltr/methods"
METHOD_FOLDER = f"{METHODS}/${{method}}"  # the method in use's declaration and steps
# The stages that load the method's declaration (ltr.methods.<name>.params, to read its section or to
# ask which stages it trains in), and when they load its steps (ltr.methods.<name>.steps): logits
# always, a training stage only when the method trains there (else it writes its "unused" output).
LOADS_METHOD = {"pretrain": "pretrain", "stage2": "stage2", "experts": "experts", "logits": None}
CHECKS_PARAMS = {"check_params"}  # loads every declaration, and writes the section of the method in use


def module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imports(path: Path, named: bool = False) -> set[str]:
    """Every project module an import statement of the file names (in any scope); with `named`, also
    the modules it names in a string, which importlib loads (a data set's reader): what the file can load."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from pkg import module`
        elif named and isinstance(node, ast.Constant) and isinstance(node.value, str):
            names |= {node.value} if MODULE_NAME.fullmatch(node.value) else set()
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
        todo += [module_file(m) for m in imports(path, named=True)]
    return seen


def method_files(method: str, part: str) -> list[Path]:
    """A method's declaration or steps, and its package's __init__ (empty), which Python runs first."""
    return [ROOT / METHODS / method / "__init__.py", ROOT / METHODS / method / f"{part}.py"]


def required(stage: str, script: Path, method: str) -> set[str]:
    """The files, relative to the project, that `stage` loads when it runs `script` for `method`."""
    files = closure(script)
    kind = stage.split("@")[0]
    if kind in LOADS_METHOD or kind in CHECKS_PARAMS:
        files |= closure(*method_files(method, "params"))
    if kind in LOADS_METHOD and (LOADS_METHOD[kind] is None or spec(method).uses(LOADS_METHOD[kind])):
        files |= closure(*method_files(method, "steps"))
    return {str(f.relative_to(ROOT)) for f in files}


def method_templates(stage: str) -> list[str]:
    """How the deps of `stage` name the method in use's files: its folder, or, for the params check,
    its package and declaration alone (an edit of its steps re-runs no check)."""
    if stage.split("@")[0] in CHECKS_PARAMS:
        return [f"{METHOD_FOLDER}/__init__.py", f"{METHOD_FOLDER}/params.py"]
    return [METHOD_FOLDER]


def own(template: str, method: str) -> str:
    return template.replace("${method}", method)


def covers(dep: str, file: str) -> bool:
    """Whether a dep of dvc.yaml stands for `file`: the file itself, or a folder above it."""
    return file == dep or file.startswith(f"{dep}/")


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


def is_code(dep: str) -> bool:
    """A dep of dvc.yaml that is the project's code (a script, a module, a folder of modules): the
    others are data and params.yaml."""
    return dep.split("#")[0].strip().startswith(("src/", "stages/"))


def code_deps(definition: dict) -> list[str]:
    return [d for d in definition.get("deps", []) if is_code(d)]


def derived_code_deps(stage: str, definition: dict) -> list[str]:
    """The code deps tests/test_dag.py requires: the script, the method in use's files where the stage
    loads them (method_templates), then every other module any method's run loads, sorted."""
    script = script_of(definition)
    needed = {m: required(stage, ROOT / script, m) for m in method_names()}
    used = [t for t in method_templates(stage) if any(covers(own(t, m), f) for m in needed for f in needed[m])]
    fixed = {f for m in needed for f in needed[m] if not any(covers(own(t, m), f) for t in used)}
    return [script, *used, *sorted(fixed - {script})]


def write_code_deps(path: Path = ROOT / "dvc.yaml") -> None:
    """Rewrites the code entries of every stage's deps in dvc.yaml as text (comments and other deps kept)."""
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
            out += [b for b in block if not is_code(b.split("- ", 1)[1])]
            continue
        out.append(line)
        i += 1
    path.write_text("".join(out))


if __name__ == "__main__":
    write_code_deps(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dvc.yaml")
