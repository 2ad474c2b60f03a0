"""The layer rule of the package, read from the sources (docs/architecture.md): params loading ->
data / models / losses -> engine -> methods -> stages. The engine knows no stage and no method; a
method reads its own section and the typed context, never params.yaml's other sections or a path of
the DAG; no function of the engine or of a method is longer than a screen."""

import ast
from pathlib import Path

import pytest

from conftest import REPO
from ltr.dag import imports

SRC = REPO / "src" / "ltr"
MAX_LINES = 60
STAGE_LAYER = ("ltr.pipeline", "ltr.method_stage", "ltr.methods")
# docs/architecture.md's floors, top to bottom: a module imports from its own floor or the ones below
FLOORS = [
    ["stages", "ltr.cli"],
    ["ltr.report", "ltr.presets", "ltr.dag", "ltr.params_file", "ltr.explain", "bench"],
    ["ltr.method_stage", "ltr.pipeline"],
    ["ltr.methods"],
    ["ltr.engine"],
    ["ltr.data", "ltr.models", "ltr.losses"],
    ["ltr.processes", "ltr.device", "ltr.metrics", "ltr.runner"],
    ["ltr.config", "ltr.layout"],
    ["ltr.errors", "ltr.workspace", "ltr.dvc_process", "ltr"],
]


def sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def is_in(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def floor(module: str) -> int | None:
    """The floor of a module: that of the longest name of FLOORS it falls under."""
    found = [(len(name), i) for i, names in enumerate(FLOORS) for name in names if is_in(module, name)]
    return max(found)[1] if found else None


def module_of(path: Path) -> str:
    if path.is_relative_to(SRC):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return path.relative_to(REPO).parts[0]  # stages/, bench/


def test_every_import_runs_down_the_floors():
    files = [*sources(SRC), *sources(REPO / "stages"), *sources(REPO / "bench")]
    upward = sorted(
        f"{rel(path)} imports {module}"
        for path in files
        for module in imports(path)
        if floor(module) < floor(module_of(path))
    )
    assert not upward, upward


@pytest.mark.parametrize("folder", ["engine", "methods"])
def test_no_function_is_longer_than_a_screen(folder):
    too_long = []
    for path in sources(SRC / folder):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    too_long.append(f"{rel(path)}:{node.lineno} {node.name} ({lines} lines)")
    assert not too_long, f"functions over {MAX_LINES} lines: {too_long}"


def test_the_engine_imports_no_stage_and_no_method():
    upward = {
        f"{rel(path)} imports {module}"
        for path in sources(SRC / "engine")
        for module in imports(path)
        if any(is_in(module, layer) for layer in STAGE_LAYER)
    }
    assert not upward, sorted(upward)


def test_no_method_imports_a_path_of_the_dag_or_the_stage_layer():
    wrong = {
        f"{rel(path)} imports {module}"
        for path in sources(SRC / "methods")
        for module in imports(path)
        if is_in(module, "ltr.layout") or is_in(module, "ltr.pipeline") or is_in(module, "ltr.method_stage")
    }
    assert not wrong, sorted(wrong)


def test_no_method_reads_the_whole_config():
    reads = []
    for path in sources(SRC / "methods"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "cfg":
                reads.append(f"{rel(path)}:{node.lineno}")
    assert not reads, f"a method reads ctx.cfg (its own section and the context hold what it uses): {reads}"


def test_every_step_annotates_its_context_and_section():
    """Every function of a method that takes the context or a section (the steps the stages call among
    them) types each parameter, so that an editor follows `p.train.lr` and `ctx.models` to their
    definitions."""
    unannotated = []
    for path in sources(SRC / "methods"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            if {"ctx", "p"} & {a.arg for a in args}:
                missing = [a.arg for a in args if a.annotation is None and a.arg not in ("self", "cls")]
                unannotated += [f"{rel(path)}:{node.name}({a})" for a in missing]
    assert not unannotated, unannotated
