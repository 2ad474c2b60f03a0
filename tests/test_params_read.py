"""Each stage tracks exactly the params it reads. Every stage runs here in-process on tiny data, for
every method and for the data sets and options that make a stage read different keys, while
ltr.config records each key read; the reads are compared with dvc.yaml both ways: nothing read is
untracked (no stale result), and every tracked key is read by some run (no needless re-run). Prepare
tracks `data.${data.name}`, so a data set's run may read its own section and no other's."""

import dataclasses

import pytest
import yaml

from conftest import REPO, TINY, everywhere, stage_in_process
from ltr.methods import method_names, spec
from ltr.presets import flatten, merge

DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())
METHOD_PARAMS = "data/method_params.yaml"
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
# read by the training stages but deliberately not tracked: how a stage runs, not what it computes
HOW_NOT_WHAT = {"runtime.nproc"}
# multistep schedules everywhere, so that milestones and gamma are read too
MULTISTEP = {"schedule": "multistep", "milestones": [1], "gamma": 0.5}


def tracked(stage: str, method: str, data: str) -> list[str]:
    """The params `stage` tracks for `method` on data set `data`, as DVC interpolates them: the keys of
    params.yaml, and those of data/method_params.yaml (the method's section, which check_params writes as
    the stages read it, so a key of either file is a key of params.yaml)."""
    name, _, item = stage.partition("@")
    definition = DVC_YAML["stages"][name]
    entries = (definition["do"] if "foreach" in definition else definition)["params"]
    keys = [k for e in entries for k in (e[METHOD_PARAMS] if isinstance(e, dict) else [e])]
    return [k.replace("${method}", method).replace("${item}", item).replace("${data.name}", data) for k in keys]


def covered(key: str, entries: list[str]) -> bool:
    return any(key == e or key.startswith(f"{e}.") for e in entries)


def leaves(entry: str) -> set[str]:
    """The params.yaml keys an entry of dvc.yaml's params stands for (none for an empty section)."""
    node = PARAMS
    for part in entry.split("."):
        node = node[part]
    if not isinstance(node, dict):
        return {entry}
    return {f"{entry}.{k}" for k, v in flatten(node).items() if v != {}}


def _uses(stage: str, method: str) -> bool:
    kind = stage.split("@")[0]
    return kind not in ("pretrain", "stage2", "experts") or spec(method).uses(kind)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[tuple[str, str, str, dict]]:
    """(stage, method, data set, the params it read) of every run."""
    from test_image_folder import make_folder
    from test_image_lists import make_tree

    monkeypatch = pytest.MonkeyPatch()
    out = []
    base = everywhere(merge(PARAMS, TINY), MULTISTEP)
    base = merge(base, {"runtime": {"max_steps": 1}, "tade": {"logits": {"test_time": {"epochs": 1}}}})
    base = merge(base, {"experts": {"many_threshold": 30}})  # every expert has classes on the tiny counts
    configs = {
        "synthetic": (base, list(method_names())),
        "one_tail": (
            merge(base, {"data": {"profile": "one_tail", "one_tail": {"head_count": 20, "tail_count": 5}}}),
            [],
        ),
        "moco": (merge(base, {"pretrain": {"kind": "moco"}}), ["ssp"]),
    }
    lists_root = tmp_path_factory.mktemp("lists")
    make_tree(lists_root)
    image_lists = merge(
        base,
        {
            "data": {"name": "imagenet_lt", "root": str(lists_root), "imagenet_lt": {"crop_size": 32, "resize": 36}},
            "splits": {"many_threshold": 10, "few_threshold": 5},
            "experts": {"many_threshold": 10, "few_threshold": 5},
            "runtime": {"num_workers": 0, "decode": "device"},  # the PIL path: test_image_lists.py
        },
    )
    image_lists = everywhere(image_lists, {"batch_size": 2})  # the few-shot expert has 3 images
    configs["image_lists"] = (image_lists, ["softmax", "crt", "ssp", "experts"])
    folder_root = tmp_path_factory.mktemp("folder")
    make_folder(folder_root)  # no val/: prepare holds val out of train/, reading data.folder
    decoding = {"crop_size": 32, "resize": 36, "val_per_class": 2}
    folder = {"name": "folder", "root": str(folder_root), "folder": decoding, "imb_factor": 4}
    configs["folder"] = (merge(image_lists, {"data": folder}), [])
    configs["digits"] = (merge(base, {"data": {"name": "digits"}}), [])  # an empty section: data.digits: {}
    try:
        for name, (params, methods) in configs.items():
            work, data = tmp_path_factory.mktemp(name), params["data"]["name"]
            monkeypatch.chdir(work)
            for script in ("prepare", "splits", "pretrain", "stage1", "predict"):
                (work / "params.yaml").write_text(yaml.safe_dump(merge(params, {"method": "softmax"})))
                out.append((script, "softmax", data, stage_in_process(script, monkeypatch=monkeypatch)))
            for method in methods:
                (work / "params.yaml").write_text(yaml.safe_dump(merge(params, {"method": method})))
                own_stage1 = spec(method).uses("pretrain")  # ssp: stage 1 from its pre-trained backbone
                steps = [("pretrain",), ("stage1",), ("predict",)] if own_stage1 else [("pretrain",)]
                steps += [("stage2",), *(("experts", s) for s in ("many", "medium", "few")), ("logits",)]
                for script, *args in steps:
                    stage = f"{script}@{args[0]}" if args else script
                    out.append((stage, method, data, stage_in_process(script, *args, monkeypatch=monkeypatch)))
            if methods:
                out.append(("evaluate", methods[-1], data, stage_in_process("evaluate", monkeypatch=monkeypatch)))
    finally:
        monkeypatch.undo()
    return out


def test_every_param_a_stage_reads_is_tracked(runs):
    for stage, method, data, read in runs:
        entries = tracked(stage, method, data)
        untracked = sorted(k for k in read if not covered(k, entries) and k not in HOW_NOT_WHAT)
        assert not untracked, f"{stage} (method={method}) reads {untracked}, which dvc.yaml does not track"
        if not _uses(stage, method):
            assert set(read) == {"method"}, f"{stage} is unused by {method} yet reads {sorted(read)}"


def test_every_tracked_param_is_read(runs):
    stages = {s for s, *_ in runs}
    for stage in sorted(stages):
        used = [(m, d, set(r)) for s, m, d, r in runs if s == stage and _uses(s, m)]
        templates = tracked(stage, "${method}", "${data.name}")
        for template in templates:
            if "${method}" in template:  # each method's own section: read in full by that method's runs
                for method in {m for m, _, _ in used}:
                    entry = template.replace("${method}", method)
                    read = set().union(*(r for m, _, r in used if m == method))
                    unread = sorted(leaves(entry) - read)
                    assert not unread, f"{stage} tracks {unread} (method={method}) but never reads them"
            elif "${data.name}" in template:  # each data set's own section: read in full by its runs
                for data in {d for _, d, _ in used}:
                    read = set().union(*(r for _, d, r in used if d == data))
                    unread = sorted(leaves(template.replace("${data.name}", data)) - read)
                    assert not unread, f"{stage} tracks {unread} (data.name={data}) but never reads them"
            else:
                read = set().union(*(r for _, _, r in used))
                unread = sorted(leaves(template) - read)
                assert not unread, f"{stage} tracks {unread} but no run of it reads them"


@pytest.mark.parametrize("section", [None, {"logits": {"alpha": 2.0}}], ids=["defaults", "params.yaml's"])
def test_the_method_params_file_holds_the_section_the_method_reads(section, tmp_path, monkeypatch):
    """data/method_params.yaml, which stage2 and logits track, is the method in use's section as its
    stages read it: params.yaml's keys, and its declaration's defaults for the keys (or the whole
    section) that params.yaml leaves out. So a method added as a folder alone runs and is tracked."""
    from ltr.methods.tde.params import TdeParams

    params = {k: v for k, v in PARAMS.items() if k != "tde"}
    params = merge(params, {"method": "tde", "data": {"root": str(tmp_path)}, **({"tde": section} if section else {})})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    stage_in_process("check_params", monkeypatch=monkeypatch)
    expected = dataclasses.asdict(TdeParams())
    if section:
        expected["logits"]["alpha"] = 2.0
    assert yaml.safe_load((tmp_path / METHOD_PARAMS).read_text()) == {"tde": expected}
