"""params.yaml is rendered from the declarations (ltr.params_file): the committed file is the rendering,
a changed default fails the check naming its key, the schedules shared through YAML merge keys resolve
to the values of the hand-written file they replaced, and every field carries its help."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, commit, run
from ltr.config import Section, parse_config
from ltr.errors import LtrError
from ltr.methods import check_all
from ltr.params_file import check, declarations, render, scalar
from ltr.workspace import copy_pipeline

# the last hand-written params.yaml: the rendering must resolve to its values, key for key
HAND_WRITTEN = "bdcb006"
ADDED = [("runtime", "threads")]  # (section, key) declared after it


def test_params_yaml_is_the_rendering():
    assert (REPO / "params.yaml").read_text() == render()
    assert check(REPO / "params.yaml") == "params.yaml is the rendering of the declarations"


def test_the_rendering_resolves_to_the_hand_written_values():
    """YAML's merge keys give every section every key, with the values (and types: 100, not 100.0) of
    the file the rendering replaced; `schedules` and the keys added since (ADDED) are the only additions."""
    old = subprocess.run(["git", "show", f"{HAND_WRITTEN}:params.yaml"], cwd=REPO, capture_output=True, text=True)
    if old.returncode != 0:
        pytest.skip(f"commit {HAND_WRITTEN} is not in this clone")
    new = yaml.safe_load(render())
    assert set(new.pop("schedules")) == {"from_scratch", "fine_tune", "expert"}
    for section, key in ADDED:
        new[section].pop(key)
    assert json.dumps(new, sort_keys=True) == json.dumps(yaml.safe_load(old.stdout), sort_keys=True)


def _project_copy(tmp_path):
    copy = tmp_path / "project"
    for name in ("src", "params.yaml", "dvc.yaml"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, copy / name)
    return copy


def _ltr(copy, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    return subprocess.run([sys.executable, "-m", "ltr.cli", *args], cwd=copy, env=env, capture_output=True, text=True)


def test_a_changed_default_fails_the_check_until_written(tmp_path):
    copy = _project_copy(tmp_path)
    copy.mkdir(exist_ok=True)
    sections = copy / "src/ltr/config/sections.py"
    text = sections.read_text()
    assert text.count('lr: float = param(0.1, gt=0.0, help="the CIFAR-LT') == 1
    sections.write_text(
        text.replace(
            'lr: float = param(0.1, gt=0.0, help="the CIFAR-LT', 'lr: float = param(0.2, gt=0.0, help="the CIFAR-LT'
        )
    )
    failed = _ltr(copy, "params", "--check")
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: params.yaml: schedules.from_scratch.lr is 0.1, declared 0.2; "), (
        failed.stderr
    )
    assert _ltr(copy, "params", "--write").stdout.startswith("wrote params.yaml: ")
    assert _ltr(copy, "params", "--check").returncode == 0
    params = yaml.safe_load((copy / "params.yaml").read_text())
    assert params["stage1"]["lr"] == params["tde"]["train"]["lr"] == 0.2 and params["crt"]["train"]["lr"] == 0.05


def test_a_changed_comment_names_its_line(tmp_path):
    copy = _project_copy(tmp_path)
    lines = (copy / "params.yaml").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("seed:"))
    lines[at] = "seed: 0  # my note\n"
    (copy / "params.yaml").write_text("".join(lines))
    assert _ltr(copy, "params", "--check").stderr.startswith(f"error: params.yaml: line {at + 1} differs")


@pytest.mark.parametrize("value", [1e-9, 0.0005, 100.0, -0.45, "auto", "on", "", "a: b", "[x", True, [10, 20], []])
def test_scalars_read_back_as_written(value):
    assert yaml.safe_load(f"x: {scalar(value)}")["x"] == value
    assert type(yaml.safe_load(f"x: {scalar(value)}")["x"]) is type(value)


def test_every_field_has_help():
    """One line each, which params.yaml carries as its comment; an empty section needs none."""
    missing = [
        d.key
        for d in declarations().values()
        if d.field is not None
        and not d.help
        and not (isinstance(d.default, Section) and not dataclasses.fields(d.default))
    ]
    assert not missing, missing
    assert all("\n" not in d.help for d in declarations().values())


def test_the_keys_the_params_page_names_are_declared():
    """docs/params.md's table of keys names declared keys (`<name>`, `<method>`: any section's)."""
    rows = [line for line in (REPO / "docs/params.md").read_text().splitlines() if line.startswith("| `")]
    named = [key for row in rows for key in re.findall(r"`([^`]+)`", row.split("|")[1]) if "<" not in key]
    assert named and not [key for key in named if key not in declarations()], named


def test_a_value_set_in_schedules_is_refused():
    """DVC's -S writes the merged sections out in full, so a value set under schedules reaches none."""
    raw = yaml.safe_load(render())
    check_all(parse_config(raw))
    raw["schedules"]["fine_tune"]["lr"] = 0.3
    assert raw["crt"]["train"]["lr"] == 0.05  # what `dvc exp run -S schedules.fine_tune.lr=0.3` leaves
    with pytest.raises(LtrError, match=r"schedules.fine_tune.lr = 0.3 is not its declared default 0.05; a -S there"):
        check_all(parse_config(raw))
    raw["schedules"] = {"mine": {}}
    with pytest.raises(LtrError, match="unknown schedule 'schedules.mine'; declared: from_scratch, fine_tune, expert"):
        check_all(parse_config(raw))


@pytest.mark.e2e
def test_dvc_sets_a_sections_key_in_the_rendered_file_and_check_params_refuses_one_in_schedules(tmp_path):
    """The rendered file as DVC 3.67.1 reads it: `-S crt.train.lr` sets cRT's rate alone (the other
    sections that merge fine_tune keep theirs); `-S schedules.fine_tune.lr` would set none, and the
    first stage refuses it."""
    repo = tmp_path / "repo"
    copy_pipeline(REPO, repo)
    run(["git", "init", "-q"], repo)
    run(["git", "config", "user.name", "ltr tests"], repo)
    run(["git", "config", "user.email", "tests@ltr.invalid"], repo)
    commit(repo, "the rendered params")
    run(["dvc", "exp", "run", "-S", "crt.train.lr=0.1", "check_params"], repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert (params["crt"]["train"]["lr"], params["lws"]["train"]["lr"], params["schedules"]["fine_tune"]["lr"]) == (
        0.1,
        0.05,
        0.05,
    )
    refused = run(["dvc", "exp", "run", "-S", "schedules.fine_tune.lr=0.3", "check_params"], repo, check=False)
    assert refused.returncode != 0
    assert "schedules.fine_tune.lr = 0.3 is not its declared default 0.05" in refused.stdout + refused.stderr
