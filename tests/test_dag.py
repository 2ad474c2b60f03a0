"""dvc.yaml's code dependencies are derived from the imports: each stage depends on exactly the project
modules its script can load, for every method (the registries load only the method in use)."""

import ast
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from ltr.config import method_names, spec

SRC = REPO / "src"
DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())
METHOD_FILES = ("src/ltr/config/methods/${method}.py", "src/ltr/methods/${method}.py")
# The stages that load the method's declaration (ltr.config.methods.<name>, to read its section or to
# ask which stages it trains in), and when they load its implementation (ltr.methods.<name>): logits
# always, a training stage only when the method trains there (else it writes its "unused" output).
LOADS_METHOD = {"pretrain": "pretrain", "stage2": "stage2", "experts": "experts", "logits": None}
EVERY_DECLARATION = {"check_params"}  # validates the sections of all methods


def _module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
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
        if name.split(".")[0] == "ltr" and _module_file(name):
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
        todo += [_module_file(m) for m in _imports(path)]
    return seen


def required(stage: str, script: Path, method: str) -> set[str]:
    files = closure(script)
    kind = stage.split("@")[0]
    if kind in EVERY_DECLARATION:
        files |= closure(*(SRC / "ltr" / "config" / "methods" / f"{m}.py" for m in method_names()))
    if kind in LOADS_METHOD:
        files |= closure(SRC / "ltr" / "config" / "methods" / f"{method}.py")
        if LOADS_METHOD[kind] is None or spec(method).uses(LOADS_METHOD[kind]):
            files |= closure(SRC / "ltr" / "methods" / f"{method}.py")
    return {str(f.relative_to(REPO)) for f in files}


def _stages():
    """(stage name, definition) of every stage, foreach stages expanded as DVC names them."""
    for name, definition in DVC_YAML["stages"].items():
        if "foreach" in definition:
            for item in definition["foreach"]:
                yield f"{name}@{item}", {k: _subst(v, "item", item) for k, v in definition["do"].items()}
        else:
            yield name, definition


def _subst(value, key: str, item: str):
    if isinstance(value, list):
        return [_subst(v, key, item) for v in value]
    return value.replace(f"${{{key}}}", item) if isinstance(value, str) else value


def code_deps(definition: dict) -> list[str]:
    return [d for d in definition.get("deps", []) if d.endswith(".py")]


@pytest.mark.parametrize("stage, definition", list(_stages()), ids=[s for s, _ in _stages()])
def test_code_deps_are_the_modules_the_stage_loads(stage, definition):
    script = REPO / re.search(r"python (\S+\.py)", definition["cmd"]).group(1)
    listed = code_deps(definition)
    needed = {m: required(stage, script, m) for m in method_names()}
    for method, files in needed.items():
        resolved = {d.replace("${method}", method) for d in listed}
        missing = sorted(files - resolved)
        assert not missing, f"{stage} with method={method} loads {missing}, which its deps in dvc.yaml omit"
    union = set().union(*needed.values())
    fixed = [d for d in listed if "${method}" not in d]
    extra = sorted(set(fixed) - union)
    assert not extra, f"{stage} lists {extra} in its deps, which no method's run of it loads"
    for template in METHOD_FILES:
        # a stage that loads every declaration lists them all, the method in use among them
        loads = stage not in EVERY_DECLARATION and any(
            template.replace("${method}", m) in needed[m] for m in method_names()
        )
        assert (template in listed) == loads, f"{stage}: {template} belongs in its deps iff the stage loads it"
        own = {template.replace("${method}", m) for m in method_names()}
        if stage not in EVERY_DECLARATION:
            assert not set(fixed) & own, f"{stage}: one method's file is listed for every method: {set(fixed) & own}"
    assert len(set(listed)) == len(listed), f"{stage}: a dep is listed twice"


def derived_code_deps(stage: str, definition: dict) -> list[str]:
    """The code deps the test above requires: the script, the method's own files where the stage loads
    them, then every other module any method's run loads, sorted."""
    script = re.search(r"python (\S+\.py)", definition["cmd"]).group(1)
    needed = {m: required(stage, REPO / script, m) for m in method_names()}
    templates = [
        t
        for t in METHOD_FILES
        if stage not in EVERY_DECLARATION and any(t.replace("${method}", m) in needed[m] for m in method_names())
    ]
    own = {t.replace("${method}", m) for t in templates for m in method_names()}
    fixed = sorted(set().union(*needed.values()) - own - {script})
    return [script, *templates, *fixed]


def test_dvc_yaml_is_what_the_deps_writer_writes(tmp_path):
    """`python tests/test_dag.py` leaves the committed dvc.yaml as it is: the writer and the check agree."""
    copy = tmp_path / "dvc.yaml"
    copy.write_text((REPO / "dvc.yaml").read_text())
    write_code_deps(copy)
    assert copy.read_text() == (REPO / "dvc.yaml").read_text()


def write_code_deps(path: Path = REPO / "dvc.yaml") -> None:
    """Rewrites the .py entries of every stage's deps in dvc.yaml (comments and other deps kept):
    `python tests/test_dag.py` after a change of imports."""
    lines, out, stage = path.read_text().splitlines(keepends=True), [], None
    wanted = dict(_stages())
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
    write_code_deps()
