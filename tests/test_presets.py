from pathlib import Path

import pytest
import yaml

from conftest import REPO
from ltr.errors import LtrError
from ltr.presets import flatten, merge, set_args, validate

PRESETS = sorted((REPO / "params").glob("*.yaml"))


def test_there_are_presets():
    names = {p.name for p in PRESETS}
    assert {"imagenet_lt_oltr.yaml", "places_lt_oltr.yaml"} <= names


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_preset_validates_against_params_yaml(preset):
    cfg = validate(preset, REPO / "params.yaml")
    text = preset.read_text()
    assert "Published" in text and "dvc exp run" in text  # each preset says what it should reach and how to run
    assert cfg.method == yaml.safe_load(text)["method"]


def test_oltr_presets_have_the_papers_settings():
    imagenet = validate(REPO / "params/imagenet_lt_oltr.yaml", REPO / "params.yaml")
    assert (imagenet.model.arch, imagenet.stage2.epochs, imagenet.stage2.milestones) == ("resnet10", 60, [20, 40])
    p = imagenet.methods["oltr"].train
    assert (p.backbone_lr, p.classifier_lr, p.centroid_lr, p.fc_dim, p.freeze_backbone) == (0.01, 0.1, 0.01, 512, False)
    places = validate(REPO / "params/places_lt_oltr.yaml", REPO / "params.yaml")
    q = places.methods["oltr"].train
    assert places.model.arch == "resnet152" and places.stage1.lr * places.stage1.backbone_lr_factor == pytest.approx(
        0.001
    )
    assert (q.backbone_lr, q.classifier_lr, q.freeze_backbone, places.stage2.epochs) == (0.0001, 0.01, True, 30)


def test_set_args_round_trip():
    preset = {"method": "oltr", "stage2": {"milestones": [20, 40], "epochs": 60}, "oltr": {"attention": True}}
    assert set_args(preset) == [
        "-S",
        "method=oltr",
        "-S",
        "stage2.milestones=[20,40]",
        "-S",
        "stage2.epochs=60",
        "-S",
        "oltr.attention=true",
    ]
    assert flatten({"a": {"b": 1, "c": {}}}) == {"a.b": 1, "a.c": {}}
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}


def test_a_bad_preset_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage1:\n  epochz: 3\n")
    with pytest.raises(LtrError, match="'stage1.epochz' is not in"):
        validate(bad, REPO / "params.yaml")
    bad.write_text("stage1:\n  epochs: 0\n")
    with pytest.raises(LtrError, match="stage1.epochs = 0 is out of range"):
        validate(bad, REPO / "params.yaml")
    with pytest.raises(LtrError, match="does not exist"):
        validate(Path(tmp_path / "none.yaml"), REPO / "params.yaml")
