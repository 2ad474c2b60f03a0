"""ImageNet-LT-style image trees read through their official lists, on small JPEGs made here."""

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_repo, ran_stages, repaint, run
from ltr.config import DataConfig
from ltr.data.image_loader import ImageListBatches
from ltr.data.prepared import read_dataset
from ltr.errors import LtrError
from ltr.metrics.summary import HEADLINE

TRAIN_COUNTS = [12, 6, 3]  # a long-tailed official list
SMALL_BATCHES = dict(size=32, resize=36, mean=[0.5] * 3, std=[0.25] * 3, device=torch.device("cpu"))


def make_tree(root, prefix="ImageNet_LT"):
    """<root>/train/c<k>/*.JPEG and val/... named by <prefix>_{train,val,test}.txt, open images in
    <root>/<prefix>_open/ named by <prefix>_open.txt, as the OLTR code base lays them out."""
    rng = np.random.RandomState(0)

    def jpeg(rel, label):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.randint(0, 256, (40, 44, 3), dtype=np.uint8)
        pixels[..., label % 3] = 200 + 20 * (label >= 0)  # a colour cue per class
        Image.fromarray(pixels).save(path, quality=90)
        return rel

    lists = {"train": [], "val": [], "test": [], "open": []}
    for c, n in enumerate(TRAIN_COUNTS):
        lists["train"] += [(jpeg(f"train/c{c}/img_{i}.JPEG", c), c) for i in range(n)]
        lists["val"] += [(jpeg(f"train/c{c}/val_{i}.JPEG", c), c) for i in range(2)]
        lists["test"] += [(jpeg(f"val/c{c}/test_{i}.JPEG", c), c) for i in range(4)]
    lists["open"] = [(jpeg(f"{prefix}_open/open_{i}.JPEG", -1).split("/", 1)[1], -1) for i in range(4)]
    # TADE's shifted lists for factor 50: subsets of the test list, counts unlike the generated 4, 0, 0
    lists["forward50"] = [r for r in lists["test"] if int(r[0][-6]) < (4, 2, 1)[r[1]]]
    lists["backward50"] = [r for r in lists["test"] if int(r[0][-6]) < (1, 2, 4)[r[1]]][::-1]
    for name, rows in lists.items():
        (root / f"{prefix}_{name}.txt").write_text("".join(f"{p} {y}\n" for p, y in rows))
    return lists


def prepare(name, root) -> dict:
    """The data set `name` prepared from root as the prepare stage prepares it."""
    return read_dataset(DataConfig(name=name, root=str(root)))


def test_prepare_reads_the_official_lists(tmp_path):
    make_tree(tmp_path)
    out = prepare("imagenet_lt", tmp_path)
    pools = np.asarray(out["pools"])
    assert [int((pools == p).sum()) for p in ("train", "val", "test", "open")] == [21, 6, 12, 4]
    assert out["info"]["num_classes"] == 3 and out["info"]["long_tailed"]
    assert out["ids"][-1].startswith("ImageNet_LT_open/")
    assert out["labels"][-1] == -1


@pytest.mark.parametrize("content", [b"", b"<html>404 Not Found</html>"], ids=["zero-byte", "not-an-image"])
def test_prepare_refuses_a_file_that_is_not_an_image(tmp_path, content):
    make_tree(tmp_path)
    (tmp_path / "train" / "c2" / "img_1.JPEG").write_bytes(content)
    (tmp_path / "val" / "c0" / "test_3.JPEG").write_bytes(content)  # a later list: the first bad file is named
    with pytest.raises(LtrError, match=r"ImageNet_LT_train.txt: image 'train/c2/img_1.JPEG' is not an image PIL"):
        prepare("imagenet_lt", tmp_path)


def test_prepare_refuses_a_missing_image(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "val" / "c1" / "test_2.JPEG").unlink()
    with pytest.raises(LtrError, match="'val/c1/test_2.JPEG' does not exist"):
        prepare("imagenet_lt", tmp_path)


def test_prepare_refuses_an_image_in_two_splits(tmp_path):
    lists = make_tree(tmp_path)
    val = tmp_path / "ImageNet_LT_val.txt"
    val.write_text(val.read_text() + f"{lists['train'][0][0]} 0\n")
    image = lists["train"][0][0]
    message = f"image '{image}' is listed in ImageNet_LT_train.txt and in ImageNet_LT_val.txt; each image belongs"
    with pytest.raises(LtrError, match=re.escape(message)):
        prepare("imagenet_lt", tmp_path)


def test_batches_use_the_papers_transforms(tmp_path):
    lists = make_tree(tmp_path)
    paths, labels = zip(*lists["train"], strict=True)
    common = {**SMALL_BATCHES, "batch_size": 8, "num_workers": 0, "seed": 3}
    train = ImageListBatches(tmp_path, paths, labels, augment="crop_flip", shuffle=True, drop_last=True, **common)
    test = ImageListBatches(tmp_path, paths, labels, augment="none", **common)
    assert train.num_batches() == 2 and test.num_batches() == 3
    x, y = next(train.epoch(0))
    assert x.shape == (8, 3, 32, 32) and x.is_contiguous(memory_format=torch.channels_last)
    again, _ = next(train.epoch(0))
    assert torch.equal(x, again)  # the epoch's generator fixes order and augmentation
    first, _ = next(test.epoch(0))
    second, _ = next(test.epoch(5))
    assert torch.equal(first, second)  # test-time transform is deterministic
    assert [int(v) for _, ys in test.epoch(0) for v in ys] == list(labels)


@pytest.mark.e2e
def test_oltr_pipeline_on_an_image_tree(tmp_path):
    make_tree(tmp_path / "images")
    overrides = {
        "method": "oltr",
        "data": {
            "name": "imagenet_lt",
            "root": str(tmp_path / "images"),
            "imagenet_lt": {"crop_size": 32, "resize": 36},
        },
        "splits": {"many_threshold": 10, "few_threshold": 4},
        "stage1": {"epochs": 1, "batch_size": 8},
        "oltr": {"train": {"epochs": 1, "batch_size": 6, "samples_per_class": 2}},
        "runtime": {"num_workers": 0},
    }
    repo = make_repo(tmp_path / "repo", overrides)
    out = run(["dvc", "repro"], repo).stdout
    assert "prepare: imagenet_lt, 43 images" in out
    meta = json.loads((repo / "data/splits/meta.json").read_text())
    assert meta["train_counts"] == TRAIN_COUNTS and meta["group_sizes"] == {"many": 1, "medium": 1, "few": 1}
    assert meta["splits"]["open"] == 4 and meta["splits"]["test_forward25"] == 4  # int(4 * 0.04 ** (r / 2)): 4, 0, 0
    assert meta["splits"]["test_forward50"] == 7 and meta["shifted_lists_given"] == [
        "test_backward50",
        "test_forward50",
    ]
    metrics = json.loads((repo / "metrics/metrics.json").read_text())
    assert list(metrics) == list(HEADLINE)
    assert json.loads((repo / "data/models/stage2/manifest.json").read_text())["method"] == "oltr"

    # an edited image re-runs what reads it: a training image every stage from stage 1 on (and prepare,
    # whose data/content/ changes; the split lists do not), a test image the predictions alone
    predicting = {"prepare", "predict", "logits", "evaluate"}
    before = (repo / "metrics/metrics.json").read_text()
    repaint(tmp_path / "images" / "train/c1/img_0.JPEG")
    unused = {"pretrain", "experts@many", "experts@medium", "experts@few"}  # oltr's: "unused" again, at once
    assert ran_stages(run(["dvc", "repro"], repo).stdout) == predicting | unused | {"stage1", "stage2"}
    after_train = (repo / "metrics/metrics.json").read_text()
    assert after_train != before
    repaint(tmp_path / "images" / "val/c0/test_1.JPEG")
    assert ran_stages(run(["dvc", "repro"], repo).stdout) == predicting
    assert (repo / "metrics/metrics.json").read_text() != after_train
    (tmp_path / "images" / "val/c0/test_1.JPEG").touch()  # a new time, the same bytes
    assert ran_stages(run(["dvc", "repro"], repo).stdout) == set()

    # the raw data is a dependency: an edited list re-runs prepare
    def prepare_changes():
        return json.loads(run(["dvc", "status", "--json", "prepare"], repo).stdout).get("prepare")

    train_list = tmp_path / "images" / "ImageNet_LT_train.txt"
    original = train_list.read_text()
    train_list.write_text("".join(original.splitlines(keepends=True)[1:]))
    assert prepare_changes() == [{"changed deps": {str(tmp_path / "images"): "modified"}}]
    train_list.write_text(original)

    # a new crop size re-runs prepare and all that follows; DVC's run-cache leaves out params named
    # `size`, and would restore the old prepare (test_config checks that no param is named so)
    out = run(["dvc", "exp", "run", "-S", "data.imagenet_lt.crop_size=28"], repo).stdout
    assert {"prepare", "splits", "stage1", "stage2", "logits"} <= ran_stages(out)
    assert json.loads((repo / "data/prepared/info.json").read_text())["image_size"] == 28


def test_two_strong_views_of_each_image(tmp_path):
    lists = make_tree(tmp_path)
    paths, labels = zip(*lists["test"], strict=True)
    batches = ImageListBatches(
        tmp_path,
        paths,
        labels,
        batch_size=4,
        augment="tade",
        size=32,
        resize=36,
        mean=[0.5] * 3,
        std=[0.25] * 3,
        device=torch.device("cpu"),
        num_workers=0,
    )
    (first, second), y = next(batches.epoch(0, views=2))
    assert first.shape == second.shape == (4, 3, 32, 32) and len(y) == 4
    assert not torch.equal(first, second)


def test_inaturalist_layout_has_no_open_set(tmp_path):
    from ltr.config import SplitsConfig
    from ltr.data.prepared import PreparedImages, write_prepared
    from ltr.data.splits import build_splits

    lists = make_tree(tmp_path, prefix="iNaturalist18")
    (tmp_path / "iNaturalist18_val.txt").write_text((tmp_path / "iNaturalist18_test.txt").read_text())
    for name in ("iNaturalist18_test.txt", "iNaturalist18_open.txt"):
        (tmp_path / name).unlink()
    cfg = DataConfig(name="inat2018", root=str(tmp_path))
    prepared = read_dataset(cfg)
    assert set(prepared["pools"]) == {"train", "test"} and prepared["info"]["val_from"] == "test"
    out = tmp_path / "prepared"
    out.mkdir()
    write_prepared(out, **prepared)
    split_lists, meta = build_splits(PreparedImages(out), cfg, SplitsConfig())
    assert "open" not in split_lists and meta["splits"]["val"] == meta["splits"]["test"] == len(lists["test"])


def test_an_unreadable_image_is_named_from_inside_a_worker(tmp_path, capsys):
    from ltr.runner import run_stage

    lists = make_tree(tmp_path)
    (tmp_path / lists["test"][1][0]).write_bytes(b"not a jpeg")
    paths, labels = zip(*lists["test"], strict=True)
    batches = ImageListBatches(tmp_path, paths, labels, augment="none", batch_size=4, num_workers=1, **SMALL_BATCHES)
    with pytest.raises(SystemExit) as exit_info:
        run_stage(lambda: list(batches.epoch(0)))
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()  # one line, not the worker's traceback
    assert line.startswith(f"error: cannot read image {tmp_path / lists['test'][1][0]}: cannot identify image file")


def test_a_class_without_training_images_is_refused(tmp_path):
    from ltr.config import SplitsConfig
    from ltr.data.prepared import PreparedImages, write_prepared
    from ltr.data.splits import build_splits

    make_tree(tmp_path / "images")
    train = tmp_path / "images" / "ImageNet_LT_train.txt"
    train.write_text("".join(line + "\n" for line in train.read_text().splitlines() if not line.endswith(" 1")))
    data = DataConfig(name="imagenet_lt", root=str(tmp_path / "images"))
    (tmp_path / "prepared").mkdir()
    write_prepared(tmp_path / "prepared", **read_dataset(data))
    with pytest.raises(LtrError, match="the training list has no image of class 1; every class needs at least one"):
        build_splits(PreparedImages(tmp_path / "prepared"), data, SplitsConfig())


def _splits_of(root):
    from ltr.config import SplitsConfig
    from ltr.data.prepared import PreparedImages, write_prepared
    from ltr.data.splits import build_splits

    data = DataConfig(name="imagenet_lt", root=str(root / "images"))
    (root / "prepared").mkdir()
    write_prepared(root / "prepared", **read_dataset(data))
    return build_splits(PreparedImages(root / "prepared"), data, SplitsConfig())


def test_tades_shifted_lists_are_used_verbatim(tmp_path):
    lists = make_tree(tmp_path / "images")
    split_lists, meta = _splits_of(tmp_path)
    for name in ("forward50", "backward50"):  # their images, in their order
        ids, labels = split_lists[f"test_{name}"]
        assert list(zip(ids.tolist(), labels.tolist(), strict=True)) == lists[name]
    ids, labels = split_lists["test_backward25"]  # not given: drawn by the profile, int(4 * 0.04 ** ((2 - r) / 2))
    assert np.bincount(labels, minlength=3).tolist() == [0, 0, 4]
    assert meta["shifted_lists_given"] == ["test_backward50", "test_forward50"]


def test_a_shifted_list_with_an_image_outside_the_test_list_is_refused(tmp_path):
    lists = make_tree(tmp_path / "images")
    forward = tmp_path / "images" / "ImageNet_LT_forward50.txt"
    forward.write_text(forward.read_text() + f"{lists['train'][0][0]} 0\n")
    with pytest.raises(LtrError, match="is not in ImageNet_LT_test.txt with that label"):
        _splits_of(tmp_path)
