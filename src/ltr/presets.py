"""Params presets: the papers' settings for the real benchmarks, kept in params/*.yaml.

A preset lists only the keys it changes. It is applied through DVC, which records the experiment:

    dvc exp run $(python -m ltr.presets args params/imagenet_lt_oltr.yaml)

`args` gives a relative data.root as an absolute path, so that the same command works with
`--queue` and `--temp`, whose workspaces hold only what git holds.

`python -m ltr.presets check FILE...` validates presets against params.yaml without running anything.
"""

import argparse
import sys
from pathlib import Path

import yaml

from ltr.config import Config, parse_config
from ltr.errors import LtrError
from ltr.methods import check_all


def load_preset(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise LtrError(f"preset {path} does not exist; presets live in params/")
    preset = yaml.safe_load(path.read_text())
    if not isinstance(preset, dict):
        raise LtrError(f"preset {path} must be a mapping of params.yaml keys")
    return preset


def merge(base: dict, overrides: dict) -> dict:
    """base with overrides applied; nested sections merge key by key, any other value replaces."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merge(base[key], value)
        else:
            out[key] = value
    return out


def flatten(preset: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in preset.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def set_args(preset: dict) -> list[str]:
    """`-S key=value` arguments for `dvc exp run`, one per leaf, values in YAML flow style."""
    args = []
    for key, value in flatten(preset).items():
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        text = text.removesuffix("\n...").removesuffix("...").strip()
        if any(c.isspace() for c in text):
            text = text.replace(", ", ",")
            if any(c.isspace() for c in text):
                raise LtrError(f"preset value {key} = {value!r} contains spaces; `-S` cannot pass it")
        args += ["-S", f"{key}={text}"]
    return args


def validate(path: str | Path, params: str | Path = "params.yaml") -> Config:
    """The config that params.yaml with this preset applied would give (raises LtrError if invalid)."""
    base = yaml.safe_load(Path(params).read_text())
    preset = load_preset(path)
    unknown = [k for k in flatten(preset) if not _has_key(base, k)]
    if unknown:
        raise LtrError(f"preset {path}: key {unknown[0]!r} is not in {params}; `dvc exp run -S` needs existing keys")
    try:
        return check_all(parse_config(merge(base, preset)))
    except LtrError as e:
        raise LtrError(f"preset {path}: {e}") from None


def _has_key(params: dict, dotted: str) -> bool:
    node = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def with_absolute_root(preset: dict, base: Path) -> dict:
    """The preset with a relative data.root made absolute against `base` (the workspace): the
    temporary workspaces of `dvc exp run --queue` and `--temp` are copies of git, without the data
    sets that data.root names, so they must find them where the workspace has them."""
    root = preset.get("data", {}).get("root")
    if root is None or Path(root).is_absolute():
        return preset
    return merge(preset, {"data": {"root": str((base / root).resolve())}})


def print_args(args: argparse.Namespace) -> None:
    validate(args.file)
    print(" ".join(set_args(with_absolute_root(load_preset(args.file), Path.cwd()))))


def check_presets(args: argparse.Namespace) -> None:
    for path in args.files:
        cfg = validate(path)
        print(f"{path}: ok ({cfg.method} on {cfg.data.name}, {cfg.model.arch})")


def add_commands(subparsers) -> None:
    """The `args` and `check` commands, shared by `python -m ltr.presets` and `ltr presets`; each sets
    `run`, the function that takes the parsed arguments."""
    args = subparsers.add_parser(
        "args",
        help="the `-S key=value` arguments of `dvc exp run` that apply a preset",
        description="Print the `-S key=value` arguments that apply FILE, a relative data.root made absolute: "
        "dvc exp run $(python -m ltr.presets args FILE)",
    )
    args.add_argument("file", metavar="FILE", help="a preset, e.g. params/imagenet_lt_oltr.yaml")
    args.set_defaults(run=print_args)
    check = subparsers.add_parser(
        "check",
        help="validate presets against params.yaml (no torch)",
        description="Validate each preset applied to params.yaml, without running anything.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="presets, e.g. params/*.yaml")
    check.set_defaults(run=check_presets)


def parse_args(argv: list[str] | None, prog: str = "python -m ltr.presets") -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="{args,check}"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    from ltr.runner import run_stage

    run_stage(lambda: main(sys.argv[1:]))
