"""dvc.yaml's code dependencies are derived from the imports: each stage depends on exactly the project
modules its script can load, for every method (the registries load only the method in use). The
derivation and the deps writer are ltr.dag's; `python tests/test_dag.py` rewrites dvc.yaml from them."""

import pytest
import yaml

from conftest import REPO
from ltr.dag import (
    ROOT,
    code_deps,
    covers,
    method_templates,
    own,
    required,
    script_of,
    stages,
    write_code_deps,
)
from ltr.methods import method_names

DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())
STAGES = list(stages(DVC_YAML))


def test_the_derivation_reads_this_project():
    # ltr.dag derives the deps from the package it is imported from: the tests' project, not another checkout
    assert ROOT == REPO


@pytest.mark.parametrize("stage, definition", STAGES, ids=[s for s, _ in STAGES])
def test_code_deps_are_the_modules_the_stage_loads(stage, definition):
    script = REPO / script_of(definition)
    listed = code_deps(definition)
    needed = {m: required(stage, script, m) for m in method_names()}
    for method, files in needed.items():
        resolved = {d.replace("${method}", method) for d in listed}
        missing = sorted(f for f in files if not any(covers(d, f) for d in resolved))
        assert not missing, f"{stage} with method={method} loads {missing}, which its deps in dvc.yaml omit"
    union = set().union(*needed.values())
    fixed = [d for d in listed if "${method}" not in d]
    extra = sorted(d for d in fixed if not any(covers(d, f) for f in union))
    assert not extra, f"{stage} lists {extra} in its deps, which no method's run of it loads"
    for template in method_templates(stage):
        # the method in use's files (its folder, or its declaration for the params check) by `${method}`
        loads = any(covers(own(template, m), f) for m in method_names() for f in needed[m])
        assert (template in listed) == loads, f"{stage}: {template} belongs in its deps iff the stage loads it"
        mine = {d for d in fixed if any(covers(own(template, m), d) for m in method_names())}
        assert not mine, f"{stage}: one method's file is listed for every method: {mine}"
    assert len(set(listed)) == len(listed), f"{stage}: a dep is listed twice"


def test_dvc_yaml_is_what_the_deps_writer_writes(tmp_path):
    """`python tests/test_dag.py` leaves the committed dvc.yaml as it is: the writer and the check agree."""
    copy = tmp_path / "dvc.yaml"
    copy.write_text((REPO / "dvc.yaml").read_text())
    write_code_deps(copy)
    assert copy.read_text() == (REPO / "dvc.yaml").read_text()


if __name__ == "__main__":
    write_code_deps(REPO / "dvc.yaml")
