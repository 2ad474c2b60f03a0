"""The data-set and architecture registries are the only lists of their names: config validation, the
prepare stage and the model builder (test_models) all read them, and the splits stage does what a data
set's traits say, not what a flag in its info.json says."""

import ast
import dataclasses

import numpy as np
import pytest
import yaml

from conftest import REPO, make_repo, run
from ltr.config import DataConfig, ModelConfig, SplitsConfig, parse_config
from ltr.config.archs import ARCHS
from ltr.config.datasets import DATASETS, Pixels, dataset
from ltr.data.prepared import PreparedImages, write_prepared
from ltr.data.splits import build_splits

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())


def _choices(section, name: str) -> tuple:
    return next(f.metadata["choices"] for f in dataclasses.fields(section) if f.name == name)


def test_config_validates_against_the_registries():
    assert _choices(DataConfig, "name") == tuple(DATASETS)
    assert _choices(ModelConfig, "arch") == tuple(ARCHS)
    own = [f.name for f in dataclasses.fields(DataConfig)][-len(DATASETS) :]
    assert own == list(DATASETS)  # data.<name>, one section per registered data set
    cfg = parse_config({"data": {"name": "folder", "folder": {"val_per_class": 3}}})
    assert cfg.data.own.val_per_class == 3 and type(cfg.data.own) is dataset("folder").params


def test_params_yaml_has_every_data_sets_section_and_its_keys():
    """Prepare tracks data.${data.name}: DVC needs the section of every data set data.name can name (an
    empty one, `{}`, for a data set with nothing to set)."""
    for name, spec in DATASETS.items():
        assert sorted(PARAMS["data"][name]) == sorted(f.name for f in dataclasses.fields(spec.params)), name


def test_no_stage_tracks_a_data_sets_section_but_through_data_name():
    for stage, definition in DVC_YAML["stages"].items():
        params = (definition["do"] if "foreach" in definition else definition).get("params", [])
        named = [p for p in map(str, params) if p.split(".")[:1] == ["data"] and p.split(".")[1:2][0] in DATASETS]
        assert not named, f"{stage} tracks {named}; a data set's own section is data.${{data.name}}"
    assert "data.${data.name}" in DVC_YAML["stages"]["prepare"]["params"]


def _name_lists(path):
    """Literal tuples, lists, sets and dict keys in a source file holding three or more registered names."""
    names = set(DATASETS) | set(ARCHS)
    for node in ast.walk(ast.parse(path.read_text())):
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) and items:
            found = [i.value for i in items if isinstance(i, ast.Constant) and i.value in names]
            if len(found) >= 3:
                yield f"{path.relative_to(REPO)}:{node.lineno}: {found}"


def test_the_registries_are_the_only_name_lists():
    registries = (REPO / "src/ltr/config/datasets", REPO / "src/ltr/config/archs")
    files = [*sorted((REPO / "src").rglob("*.py")), *sorted((REPO / "stages").glob("*.py"))]
    lists = [hit for f in files if not any(f.is_relative_to(r) for r in registries) for hit in _name_lists(f)]
    assert not lists, lists


def test_prepare_dispatches_through_the_registry(monkeypatch, tmp_path):
    """The prepare stage builds whatever the reader that the spec of data.name names prepares."""
    import runpy
    import sys
    import types

    spec = dataset("digits")
    calls = []

    def fake(data):
        calls.append(data.name)
        info = {"name": data.name, "num_classes": 1, "class_names": ["zero"]}
        return {"images": np.zeros((2, 4, 4, 3), np.uint8), "labels": [0, 0], "pools": ["train", "test"], "info": info}

    reader = types.ModuleType("fake_reader")
    reader.prepare = fake
    monkeypatch.setitem(sys.modules, "fake_reader", reader)
    monkeypatch.setitem(DATASETS, "digits", dataclasses.replace(spec, reader="fake_reader"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"data": {"name": "digits"}}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["stages/prepare.py"])
    runpy.run_path(str(REPO / "stages" / "prepare.py"), run_name="__main__")
    assert calls == ["digits"] and PreparedImages(tmp_path / "data/prepared").info["class_names"] == ["zero"]


# -- build_splits follows the traits ---------------------------------------------------------------------

COUNTS = [6, 4, 2]  # train images per class: long-tailed already


@pytest.fixture
def prepared(tmp_path) -> PreparedImages:
    """A tiny in-memory set named synthetic: 6 / 4 / 2 train, 1 val and 2 test images a class, 2 open."""
    labels, pools = [], []
    for pool, per_class in (("train", COUNTS), ("val", [1] * 3), ("test", [2] * 3)):
        for c, n in enumerate(per_class):
            labels += [c] * n
            pools += [pool] * n
    labels, pools = labels + [-1, -1], pools + ["open", "open"]
    images = np.random.RandomState(0).randint(0, 256, (len(labels), 4, 4, 3), dtype=np.uint8)
    info = {"name": "synthetic", "num_classes": 3, "class_names": ["a", "b", "c"]}
    write_prepared(tmp_path, images, labels, pools, info)
    return PreparedImages(tmp_path)


def _splits(images: PreparedImages, imb_factor: float = 2, **traits):
    images.traits = dataclasses.replace(images.traits, **traits)
    return build_splits(images, DataConfig(imb_factor=imb_factor), SplitsConfig(many_threshold=5, few_threshold=3))


def test_an_official_train_list_is_used_verbatim(prepared):
    assert _splits(prepared)[1]["train_counts"] == [2, 1, 1]  # int(2 * 0.5 ** (i / 2)): the LT cut
    assert _splits(prepared, official_train_list=True)[1]["train_counts"] == COUNTS


def test_a_tree_keeps_its_own_counts_at_imbalance_one(prepared):
    assert _splits(prepared, imb_factor=1)[1]["train_counts"] == [2, 2, 2]
    assert _splits(prepared, imb_factor=1, own_counts_at_imbalance_one=True)[1]["train_counts"] == COUNTS
    assert _splits(prepared, imb_factor=2, own_counts_at_imbalance_one=True)[1]["train_counts"] == [2, 1, 1]


def test_val_is_drawn_from_the_test_pool(prepared):
    lists, meta = _splits(prepared)
    assert meta["splits"]["val"] == 3 and not set(lists["val"][0]) & set(lists["test"][0])
    lists, meta = _splits(prepared, val_from_test=True)
    assert list(lists["val"][0]) == list(lists["test"][0])


def test_a_data_set_without_an_open_set_has_no_open_list(prepared):
    assert _splits(prepared)[1]["splits"]["open"] == 2
    assert "open" not in _splits(prepared, open_set=False)[0]


def test_in_memory_pixels_or_image_files(prepared, monkeypatch):
    assert prepared.in_memory and prepared.load(["train/000000"]).shape == (1, 3, 4, 4)
    spec = dataset("synthetic")
    files = dataclasses.replace(spec.traits, pixels=Pixels.FILES)
    monkeypatch.setitem(DATASETS, "synthetic", dataclasses.replace(spec, traits=files))
    assert not PreparedImages(prepared.root).in_memory  # whatever info.json's "kind" says


@pytest.mark.e2e
def test_dvc_tracks_the_chosen_data_sets_own_section(tmp_path):
    """`data.${data.name}` as DVC interpolates it: digits' empty section, then folder's keys."""
    repo = make_repo(tmp_path / "repo")
    run(["dvc", "exp", "run", "-S", "data.name=digits", "prepare"], repo)
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["prepare"]["params"]["params.yaml"]
    assert lock == {
        "data.name": "digits",
        "data.root": "data/raw/none",
        "data.seed": 0,
        "data.digits": {},
        "runtime.threads": 1,
    }
    out = run(["dvc", "exp", "run", "-S", "data.folder.val_per_class=5", "prepare"], repo).stdout  # another's
    assert "Running stage 'check_params'" in out and "Running stage 'prepare'" not in out
