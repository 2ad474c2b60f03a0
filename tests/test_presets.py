from pathlib import Path

import pytest
import yaml

from conftest import REPO, tiny_training
from ltr.errors import LtrError
from ltr.methods import section
from ltr.presets import flatten, merge, set_args, validate, with_absolute_root

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
    p = section(imagenet, "oltr").train
    assert (imagenet.model.arch, p.epochs, p.milestones) == ("resnet10", 60, [20, 40])
    assert (p.lr * p.backbone_lr_factor, p.lr, p.centroid_lr) == pytest.approx((0.01, 0.1, 0.01))
    assert (p.fc_dim, p.freeze_backbone) == (512, False)
    places = validate(REPO / "params/places_lt_oltr.yaml", REPO / "params.yaml")
    q = section(places, "oltr").train
    assert places.model.arch == "resnet152" and places.stage1.lr * places.stage1.backbone_lr_factor == pytest.approx(
        0.001
    )
    assert (q.lr * q.backbone_lr_factor, q.lr, q.freeze_backbone, q.epochs) == pytest.approx((0.0001, 0.01, True, 30))


def test_set_args_round_trip():
    preset = {"method": "oltr", "oltr": {"train": {"milestones": [20, 40], "epochs": 60, "attention": True}}}
    assert set_args(preset) == [
        "-S",
        "method=oltr",
        "-S",
        "oltr.train.milestones=[20,40]",
        "-S",
        "oltr.train.epochs=60",
        "-S",
        "oltr.train.attention=true",
    ]
    assert flatten({"a": {"b": 1, "c": {}}}) == {"a.b": 1, "a.c": {}}
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}


def test_args_give_a_relative_data_root_as_an_absolute_path(tmp_path):
    preset = {"method": "tde", "data": {"name": "cifar100", "root": "data/raw/cifar"}}
    assert with_absolute_root(preset, tmp_path)["data"] == {
        "name": "cifar100",
        "root": str(tmp_path / "data/raw/cifar"),
    }
    assert with_absolute_root({"data": {"root": "/srv/cifar"}}, tmp_path) == {"data": {"root": "/srv/cifar"}}
    assert with_absolute_root({"method": "tde"}, tmp_path) == {"method": "tde"}  # the default root stays


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


# one step of every training stage on a few images in the preset's data format
SMOKE = {
    "runtime": {"device": "cpu", "max_steps": 1, "num_workers": 0},
    "pretrain": {"epochs": 1, "batch_size": 2, "moco": {"queue": 16}},
    "stage1": {"epochs": 1, "batch_size": 2},
    "logits": {"batch_size": 16},
}
SMOKE = merge(
    merge(SMOKE, tiny_training(yaml.safe_load((REPO / "params.yaml").read_text()), 2)),
    {"experts": {"many_threshold": 10, "few_threshold": 5}},
)
# a step of these takes seconds on 2 CPU cores even on 32-pixel images; the smoke runs use the
# four-stage ResNet-10 in their place (their parameter counts are checked in test_models)
LARGE_BACKBONES = {"resnet50", "resnet152", "resnext50_32x4d"}
IMAGE_LISTS = {"imagenet_lt": "ImageNet_LT", "places_lt": "Places_LT", "inat2018": "iNaturalist18"}


def _fake_data(name: str, root: Path) -> dict:
    """Data of the preset's format under root; the params that point at it."""
    from test_cifar import make_cifar10, make_cifar100
    from test_image_lists import make_tree

    if name in ("cifar10", "cifar100"):  # each is the other's open set
        make_cifar10(root, per_class_train=20)
        make_cifar100(root, per_class_train=20 if name == "cifar100" else 2)
        return {"data": {"root": str(root), "imb_factor": 10}}  # at 100 the tail classes of 20 would be empty
    if name in IMAGE_LISTS:
        make_tree(root, IMAGE_LISTS[name])  # 12, 6 and 3 training images: many, medium and few at 10 / 5
        if name == "inat2018":  # its val list is the test list, and it has no open set
            (root / "iNaturalist18_test.txt").rename(root / "iNaturalist18_val.txt")
            (root / "iNaturalist18_open.txt").unlink()
        return {
            "data": {"root": str(root), name: {"crop_size": 32, "resize": 36}},
            "splits": {"many_threshold": 10, "few_threshold": 5},
        }
    assert name == "synthetic", name
    return {
        "data": {
            "synthetic": {"train_per_class": 20, "test_per_class": 4, "val_per_class": 2},
            "one_tail": {"head_count": 20, "tail_count": 4},
        }
    }


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_preset_takes_its_first_training_steps(preset, tmp_path, monkeypatch):
    import runpy
    import sys

    from ltr.layout import EXPERT_SUBSETS, MODELS, read_json, read_manifest

    raw = yaml.safe_load(preset.read_text())
    name = raw.get("data", {}).get("name", "synthetic")
    params = merge(yaml.safe_load((REPO / "params.yaml").read_text()), raw)
    params = merge(merge(params, SMOKE), _fake_data(name, tmp_path / "raw"))
    if params["model"]["arch"] in LARGE_BACKBONES:
        params["model"]["arch"] = "resnet10"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    stages = [("prepare",), ("splits",), ("pretrain",), ("stage1",), ("stage2",)]
    stages += [("experts", s) for s in EXPERT_SUBSETS] if raw["method"] == "experts" else []
    for script, *args in stages:
        monkeypatch.setattr(sys, "argv", [f"stages/{script}.py", *args])
        runpy.run_path(str(REPO / "stages" / f"{script}.py"), run_name="__main__")
    trained = [MODELS / "stage1"] + [
        d
        for d in (MODELS / "pretrain", MODELS / "stage2", *(MODELS / "experts" / s for s in EXPERT_SUBSETS))
        if d.exists() and read_manifest(d)["used"]
    ]
    for directory in trained:  # one step of two images, whatever the preset's batch and epochs
        summary = read_json(directory / "train_summary.json")
        assert (summary["epochs"], summary["train_images"]) == (1, 2), directory
    assert len(trained) >= 2 or raw["method"] in ("softmax", "tau_norm", "logit_adjust"), trained


def test_checking_presets_imports_no_torch():
    import subprocess
    import sys

    code = (
        "import runpy, sys; sys.argv = ['ltr.presets', 'check', *sys.argv[1:]]; "
        "runpy.run_module('ltr.presets', run_name='__main__'); "
        # a method's declaration (ltr.methods.<name>.params) is torch-free; its steps, or shared ones, are not
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy') or "
        "(m.startswith('ltr.methods.') and m.count('.') == 3 and not m.endswith('.params'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, PRESETS)], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.count(": ok (") == len(PRESETS)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.e2e
def test_a_preset_with_a_relative_root_runs_queued_and_in_a_temporary_workspace(tiny_copy):
    """The queue's and --temp's workspaces are copies of git, without the git-ignored data set under
    data/raw: `presets args` gives its root as an absolute path, so both find it (prepare reads it)."""
    import time

    from test_cifar import make_cifar10, make_cifar100

    from conftest import run

    make_cifar10(tiny_copy / "data/raw/cifar", per_class_train=4)
    make_cifar100(tiny_copy / "data/raw/cifar", per_class_train=1)
    preset = tiny_copy / "params" / "tiny_cifar.yaml"
    preset.parent.mkdir()
    preset.write_text("method: softmax\ndata:\n  name: cifar10\n  root: data/raw/cifar\n  imb_factor: 2\n")
    args = run(["python", "-m", "ltr.presets", "args", str(preset)], tiny_copy).stdout.split()
    assert f"data.root={tiny_copy / 'data/raw/cifar'}" in args
    out = run(["dvc", "exp", "run", "--temp", *args, "-n", "in-temp", "prepare"], tiny_copy).stdout
    assert "prepare: cifar10, 260 images" in out  # 10 x (4 train + 2 test) and CIFAR-100's 200 test images
    # another data.seed, so that the queue runs prepare rather than restore the --temp run's result
    run(["dvc", "exp", "run", "--queue", *args, "-S", "data.seed=1", "-n", "queued", "prepare"], tiny_copy)
    run(["dvc", "queue", "start", "-j", "1"], tiny_copy)
    deadline = time.monotonic() + 300
    while "Success" not in (status := run(["dvc", "queue", "status"], tiny_copy).stdout):
        assert "Failed" not in status and time.monotonic() < deadline, status
        time.sleep(2)
    assert "prepare: cifar10, 260 images" in run(["dvc", "queue", "logs", "queued"], tiny_copy).stdout
