"""`ltr`: the project's command line (README, "Command line").

    ltr show [--all] [--md]                 the experiments side by side: what differs and the headline metrics
    ltr report [--methods ...] [--seeds ...] `make report` (ltr.report.compare)
    ltr presets check FILE... | args FILE   the papers' settings (ltr.presets)
    ltr new-method NAME [--from TEMPLATE]   a new method copied from a template (README, "Add a method")
    ltr params --check | --write            params.yaml against its rendering from the declarations
    ltr explain KEY                         a key's value, default, range, help, tracking stages, readers

Torch-free at import, so that `ltr --help` answers at once: each command imports what it needs.
Errors are one line, `error: ...`, and exit status 2.
"""

import argparse
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ltr.errors import LtrError
from ltr.presets import add_commands as add_preset_commands
from ltr.presets import flatten

# metrics/metrics.json's keys (ltr.metrics.summary.HEADLINE, which imports numpy: a test keeps the two
# equal) and their column headers
HEADLINE = {
    "top1": "top1",
    "many": "many",
    "medium": "medium",
    "few": "few",
    "ece": "ece",
    "open_f": "open F",
    "open_auroc": "AUROC",
    "forward50": "fwd50",
    "backward50": "bwd50",
    "gmacs": "GMACs",
}
METRICS_FILE = "metrics/metrics.json"
ALWAYS_SHOWN = ("method", "seed")
METHODS = "src/ltr/methods"  # a method is a folder here: params.py, steps.py
TEMPLATE_LINE = re.compile(r"^\s*template=True,?\s*(#.*)?$")  # the line that makes a declaration a template


# -- ltr show ------------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    params: dict = field(default_factory=dict)  # flat params.yaml
    metrics: dict = field(default_factory=dict)  # metrics/metrics.json, nested as written


def dvc(*args: str) -> str:
    """stdout of the dvc beside this Python (the pinned one, also where the venv is not activated)."""
    beside = Path(sys.executable).parent / "dvc"
    exe = str(beside) if beside.exists() else shutil.which("dvc") or "dvc"
    result = subprocess.run([exe, *args], capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise LtrError(f"`dvc {' '.join(args)}` failed: {lines[-1].removeprefix('ERROR: ')}")
    return result.stdout


def row_of(name: str, rev: dict, state: str | None = None) -> Row:
    data = rev.get("data") or {}
    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
    metrics = ((data.get("metrics") or {}).get(METRICS_FILE) or {}).get("data") or {}
    if state not in (None, "success"):
        # a queued or running experiment has no metrics yet, and a failed one shows its baseline's
        return Row(f"{name} ({state})", flatten(params))
    return Row(name, flatten(params), metrics)


def rows_of(shown: list[dict]) -> list[Row]:
    """`dvc exp show --json`: the workspace, each baseline commit, then that commit's experiments."""
    rows = []
    for entry in shown:
        rows.append(row_of("workspace" if entry["rev"] == "workspace" else entry["name"] or entry["rev"][:7], entry))
        for exp in entry.get("experiments") or []:
            state = (exp.get("executor") or {}).get("state")
            rows += [row_of(rev["name"] or rev["rev"][:7], rev, state) for rev in exp["revs"]]
    return rows


def differing_params(rows: list[Row]) -> list[str]:
    """The params whose values are not the same in every row (a missing key counts as a value)."""
    keys = list(dict.fromkeys(k for row in rows for k in row.params))
    return [
        k
        for k in keys
        if k not in ALWAYS_SHOWN and len({(k in r.params, json.dumps(r.params.get(k))) for r in rows}) > 1
    ]


def metric(metrics: dict, dotted: str):
    node = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def param_text(value) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def metric_text(key: str, value) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    return f"{value:.4g}" if key == "gmacs" else f"{value:.2f}"  # the others are percentages


def table(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    keys = [*ALWAYS_SHOWN, *differing_params(rows)]
    header = ["Experiment", *keys, *HEADLINE.values()]
    body = [
        [
            row.name,
            *(param_text(row.params[k]) if k in row.params else "-" for k in keys),
            *(metric_text(k, metric(row.metrics, k)) for k in HEADLINE),
        ]
        for row in rows
    ]
    return header, body


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == "-"
    return True


def render(header: list[str], body: list[list[str]], markdown: bool) -> str:
    """Aligned text, or a Markdown table; numeric columns right-aligned."""
    right = [all(is_number(r[i]) for r in body) and i > 0 for i in range(len(header))]
    if markdown:
        lines = [header, ["---:" if r else "---" for r in right], *body]
        return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)).rstrip()
        for cells in [header, *body]
    )


def baselines_with_experiments() -> list[str]:
    """The commits that experiments derive from: `dvc exp list -A` names each on a line of its own, with a
    colon (`dvc exp show -A` would list every commit of the history, most without an experiment)."""
    listed = dvc("exp", "list", "--all-commits").splitlines()
    return [line[:-1] for line in listed if line.endswith(":") and not line[:1].isspace()]


def show(args: argparse.Namespace) -> None:
    revs = ["HEAD", *baselines_with_experiments()] if args.all else []
    rows = rows_of(json.loads(dvc("exp", "show", "--json", *(f"--rev={rev}" for rev in revs))))
    print(render(*table(rows), markdown=args.md))


# -- ltr report ----------------------------------------------------------------------------------------


def report(args: argparse.Namespace) -> None:
    from ltr.report import compare

    # the report starts `dvc`: the one beside this Python, also where the virtualenv is not activated
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    compare.run(args.rest, prog="ltr report")


# -- ltr new-method ------------------------------------------------------------------------------------


def camel(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def project_root() -> Path:
    """The project around the current directory: the folder with dvc.yaml and src/ltr."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "dvc.yaml").exists() and (folder / METHODS).is_dir():
            return folder
    raise LtrError("no ltr project here: run it inside the repository (the folder with dvc.yaml and src/ltr)")


def templates(root: Path) -> list[str]:
    """The project's templates: the method folders whose declaration has a `template=True` line."""
    found = []
    for params in sorted((root / METHODS).glob("*/params.py")):
        if any(TEMPLATE_LINE.match(line) for line in params.read_text().splitlines()):
            found += [params.parent.name] if (params.parent / "steps.py").exists() else []
    return found


def has_section(params: str, name: str) -> bool:
    """Whether params.yaml's text has a top-level key `name`."""
    return re.search(rf"^{re.escape(name)}:(\s|$)", params, re.MULTILINE) is not None


def check_new_method(root: Path, name: str, template: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise LtrError(f"{name!r} is not a Python identifier; give a name such as my_method")
    existing = [p for p in ((root / METHODS / name), (root / METHODS / f"{name}.py")) if p.exists()]
    if existing:
        raise LtrError(f"{name} exists already: {existing[0].relative_to(root)}")
    if has_section((root / "params.yaml").read_text(), name):
        raise LtrError(f"{name} exists already: params.yaml has a top-level {name}: section")
    valid = templates(root)
    if template not in valid:
        raise LtrError(f"{template!r} is not a template; give one of {', '.join(valid)}")


def copy_folder(root: Path, template: str, name: str) -> Path:
    """The template's folder as NAME's: every module with its names replaced, `template=True` dropped."""
    source, target = root / METHODS / template, root / METHODS / name
    target.mkdir()
    for path in sorted(source.glob("*.py")):
        text = path.read_text().replace(template, name).replace(camel(template), camel(name))
        lines = text.splitlines(keepends=True)
        (target / path.name).write_text("".join(line for line in lines if not TEMPLATE_LINE.match(line)))
    return target


def new_method(args: argparse.Namespace) -> None:
    """A new method is its folder and nothing else: the registry finds it by its folder, dvc.yaml names
    the method in use's files by `${method}`, and its params are its declaration's defaults until
    params.yaml gives it a section (check_params writes them for its stages to track)."""
    root = project_root()
    check_new_method(root, args.name, args.template)
    folder = copy_folder(root, args.template, args.name).relative_to(root)
    print(f"created {folder}/ from {args.template}: params.py (its declaration) and steps.py (its steps)")
    print(f"next: write the formula in {folder}/steps.py and its params in {folder}/params.py; then")
    print(f"  git add {folder}")
    print(f"  dvc exp run -S method={args.name}")


# -- ltr params, ltr explain -----------------------------------------------------------------------------


def params(args: argparse.Namespace) -> None:
    from ltr import params_file  # imports every method's declaration (torch-free)

    path = project_root() / "params.yaml"
    print(params_file.write(path) if args.write else params_file.check(path))


def explain(args: argparse.Namespace) -> None:
    from ltr.explain import explain as explain_key

    print(explain_key(args.key, project_root()))


# -- the parser ----------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ltr", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_show(commands)
    # `ltr report`'s options are ltr.report.compare's, parsed there (it imports pandas and plotting,
    # which `ltr --help` should not wait for): the parser passes them on, --help included
    rep = commands.add_parser("report", add_help=False, help="`make report`: every method over several seeds")
    rep.set_defaults(run=report, passes_on=True)
    presets = commands.add_parser("presets", help="check a preset, or give the `dvc exp run` arguments that apply it")
    add_preset_commands(presets.add_subparsers(dest="presets_command", required=True, metavar="{check,args}"))
    add_new_method(commands)
    add_params(commands)
    return top


def add_show(commands) -> None:
    show_parser = commands.add_parser(
        "show",
        help="the experiments side by side: the params that differ and the headline metrics",
        description="One row per experiment of the current commit (the workspace, HEAD, each experiment): "
        "its method and seed, the params that differ between the rows shown, and the headline metrics "
        "of metrics/metrics.json ('-' where missing or not finished).",
    )
    show_parser.add_argument(
        "--all", action="store_true", help="also the experiments of other commits (each under its commit's row)"
    )
    show_parser.add_argument("--md", action="store_true", help="a Markdown table")
    show_parser.set_defaults(run=show)


def add_new_method(commands) -> None:
    new = commands.add_parser(
        "new-method",
        help="a new method, copied from a template (README, 'Add a method')",
        description="Copy TEMPLATE's folder (src/ltr/methods/TEMPLATE) as NAME's: the one folder a method is.",
    )
    new.add_argument("name", metavar="NAME", help="the new method's name, a Python identifier (e.g. my_method)")
    new.add_argument(
        "--from",
        dest="template",
        default="template_posthoc",
        metavar="TEMPLATE",
        help="template_posthoc (post hoc, the default) or template_trained (trains in stage 2)",
    )
    new.set_defaults(run=new_method)


def add_params(commands) -> None:
    check = commands.add_parser(
        "params",
        help="check params.yaml against its declarations, or write it from them",
        description="params.yaml is rendered from the dataclass fields that declare every default and its help "
        "(ltr.params_file): --check names the first key that differs, --write regenerates the file.",
    )
    what = check.add_mutually_exclusive_group(required=True)
    what.add_argument("--check", action="store_true", help="fail, naming the first key that differs from the rendering")
    what.add_argument("--write", action="store_true", help="write params.yaml from the declarations")
    check.set_defaults(run=params)
    about = commands.add_parser(
        "explain",
        help="a key's value, default, range, help, the stages that track it and the code that reads it",
        description="What a params.yaml key is: its value in params.yaml, its default (and the shared schedule it "
        "comes from), its type and range, its help, the stages whose dvc.yaml params track it and the code that "
        "reads it (an AST scan of src/ltr and stages/).",
    )
    about.add_argument("key", metavar="KEY", help="a dotted key: stage1.lr, tde.logits.alpha, schedules.fine_tune.lr")
    about.set_defaults(run=explain)


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args, rest = top.parse_known_args(argv)
    if rest and not getattr(args, "passes_on", False):
        top.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    try:
        args.run(args)
    except LtrError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:
        if not isinstance(e.code, str):
            raise
        print(e.code if e.code.startswith("error: ") else f"error: {e.code}", file=sys.stderr)
        return 2  # ltr.report.compare's one-line errors, with this command line's status
    return 0


if __name__ == "__main__":
    sys.exit(main())
