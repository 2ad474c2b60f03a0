"""Your own data as an image-folder tree (data.name: folder), on small JPEGs made here."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import make_repo, ran_stages, repaint, run, write_params
from ltr.config import DataConfig, SplitsConfig
from ltr.config.datasets.folder import FolderParams
from ltr.data.image_folder import prepare_image_folder
from ltr.data.prepared import PreparedImages, write_prepared
from ltr.data.splits import build_splits
from ltr.runner import run_stage

NAMES = ["cat", "dog", "fox", "owl"]  # the labels follow the folder names' order, whatever the disk's


def make_folder(root, train=12, test=3, val=0, open_images=4):
    """<root>/{train,val,test}/<class>/NNN.jpg, a colour cue per class, and <root>/open/NNN.jpg;
    train: images per class, or a list of them in NAMES order."""
    rng = np.random.RandomState(0)

    def jpeg(rel, cue):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.randint(0, 90, (20, 24, 3), dtype=np.uint8)
        pixels[..., cue % 3] += 150
        Image.fromarray(pixels).save(path, quality=90)

    counts = train if isinstance(train, list) else [train] * len(NAMES)
    for c in reversed(range(len(NAMES))):
        for pool, n in (("train", counts[c]), ("val", val), ("test", test)):
            for i in range(n):
                jpeg(f"{pool}/{NAMES[c]}/{i:03d}.jpg", c)
    for i in range(open_images):
        jpeg(f"open/{i:03d}.jpg", 3)
    return root


def folder_data(root, **kwargs) -> DataConfig:
    return DataConfig(name="folder", root=str(root), folder=FolderParams(val_per_class=2), **kwargs)


def prepare_folder(data: DataConfig) -> dict:
    return prepare_image_folder(data, data.folder)


def splits_of(tmp_path, data: DataConfig):
    (tmp_path / "prepared").mkdir()
    write_prepared(tmp_path / "prepared", **prepare_folder(data))
    return build_splits(PreparedImages(tmp_path / "prepared"), data, SplitsConfig())


def test_classes_are_the_folder_names_and_val_is_held_out_of_train(tmp_path):
    out = prepare_folder(folder_data(make_folder(tmp_path)))
    assert out["info"]["class_names"] == NAMES
    assert out["info"]["val_held_out"] == {"from": "train", "per_class": 2}
    rows = pd.DataFrame({"id": out["ids"], "label": out["labels"], "pool": out["pools"]})
    assert rows.groupby("pool").size().to_dict() == {"train": 40, "val": 8, "test": 12, "open": 4}
    assert (rows.groupby(["pool", "label"]).size()[["train", "val"]] == [10] * 4 + [2] * 4).all()
    named = rows[rows["label"] >= 0]
    assert (named["id"].str.split("/").str[1] == [NAMES[y] for y in named["label"]]).all()
    assert set(rows.loc[rows["pool"] == "val", "id"]).isdisjoint(rows.loc[rows["pool"] == "train", "id"])
    again = prepare_folder(folder_data(tmp_path))
    assert again["ids"] == out["ids"]  # data.seed fixes the held-out images
    other = prepare_folder(folder_data(tmp_path, seed=1))
    assert other["ids"] != out["ids"]


def test_a_val_folder_is_used_as_it_is(tmp_path):
    out = prepare_folder(folder_data(make_folder(tmp_path, val=3, open_images=0)))
    assert "val_held_out" not in out["info"] and "open" not in out["pools"]
    assert [out["pools"].count(p) for p in ("train", "val", "test")] == [48, 12, 12]


def test_the_cut_follows_the_profile_and_imbalance_1_keeps_the_tree(tmp_path):
    _, meta = splits_of(tmp_path, folder_data(make_folder(tmp_path / "balanced"), imb_factor=4))
    # 10 images a class after the hold-out: int(10 * 4 ** (-i / 3)) = 10, 6.30, 3.97, 2.5
    assert meta["train_counts"] == [10, 6, 3, 2] and meta["imb_factor"] == 5
    assert meta["class_names"] == NAMES and meta["val_held_out"] == {"from": "train", "per_class": 2}
    (tmp_path / "prepared").rename(tmp_path / "balanced_prepared")
    tree = make_folder(tmp_path / "long_tailed", train=[9, 30, 4, 12], val=1)
    lists, meta = splits_of(tmp_path, folder_data(tree, imb_factor=1))
    assert meta["train_counts"] == [9, 30, 4, 12] and "val_held_out" not in meta
    assert meta["splits"]["val"] == 4 and "open" in lists


@pytest.mark.parametrize(
    "case, expected",
    [
        ("images straight in train/", "train/ has no class sub-folders; lay the images out as train/<class>/<image>"),
        ("an empty class folder", "class folder train/emu/ has no images"),
        ("a test class that train lacks", "test/yak/ is a class that train/ lacks; the classes are train's folders"),
        ("a file that is not an image", "image 'train/dog/notes.txt' is not an image PIL can read (cannot identify"),
        ("a class without test images", "class 'owl' has no test/owl/ folder; every class needs test images"),
        (
            "too few images to hold out val",
            "train/fox/ has 2 images, too few to hold out data.folder.val_per_class = 2",
        ),
        ("whitespace in a path", "'train/cat/my photo.jpg' has whitespace in its path"),
        ("no test/ folder", "has no test/ folder; an image folder holds train/<class>/<image> and test/<class>/"),
    ],
)
def test_bad_trees_stop_prepare_with_one_line(tmp_path, capsys, case, expected):
    root = make_folder(tmp_path)
    if case == "images straight in train/":
        for path in sorted((root / "train").glob("*/*.jpg")):
            path.rename(root / "train" / f"{path.parent.name}_{path.name}")
        for folder in (root / "train").iterdir():
            if folder.is_dir():
                folder.rmdir()
    elif case == "an empty class folder":
        (root / "train" / "emu").mkdir()
    elif case == "a test class that train lacks":
        (root / "test" / "yak").mkdir()
        (root / "test" / "cat" / "000.jpg").rename(root / "test" / "yak" / "000.jpg")
    elif case == "a file that is not an image":
        (root / "train" / "dog" / "notes.txt").write_text("taken in 2019\n")
    elif case == "a class without test images":
        for path in (root / "test" / "owl").iterdir():
            path.unlink()
        (root / "test" / "owl").rmdir()
    elif case == "too few images to hold out val":
        for path in sorted((root / "train" / "fox").iterdir())[2:]:
            path.unlink()
    elif case == "whitespace in a path":
        (root / "train" / "cat" / "000.jpg").rename(root / "train" / "cat" / "my photo.jpg")
    elif case == "no test/ folder":
        (root / "test").rename(root / "testing")
    with pytest.raises(SystemExit) as exit_info:
        run_stage(lambda: prepare_folder(folder_data(root)))
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: data.root = '{root}'")
    assert expected in line


def test_hidden_files_are_not_images(tmp_path):
    root = make_folder(tmp_path, open_images=0)
    (root / "train" / "cat" / ".DS_Store").write_bytes(b"\0\1")
    (root / "test" / ".thumbnails").mkdir()
    (root / "test" / ".thumbnails" / "x.txt").write_text("not a class")
    out = prepare_folder(folder_data(root))
    assert len(out["ids"]) == 4 * 12 + 4 * 3


def test_the_per_class_figure_names_a_few_classes(monkeypatch, tmp_path):
    from ltr.report import plots

    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, title: figures.append(fig))
    per_class = pd.DataFrame(
        {
            "class": [0, 1, 2],
            "name": ["cat", "dog", "fox"],
            "train_count": [5, 30, 12],
            "rank": [2, 0, 1],
            "group": ["few", "medium", "few"],
            "accuracy": [10.0, 80.0, 40.0],
        }
    )
    plots.per_class_figure(per_class, tmp_path / "per_class.png", "title")
    assert [t.get_text() for t in figures[0].axes[0].get_xticklabels()] == ["dog", "fox", "cat"]


@pytest.mark.e2e
def test_dvc_exp_run_on_an_image_folder(tmp_path):
    """The acceptance run: `dvc exp run -S data.name=folder -S data.root=<tree>` through every stage,
    with the trained method template, so that stage 2 trains too (the template's own run)."""
    tree = make_folder(tmp_path / "tree")
    overrides = {
        "data": {"folder": {"crop_size": 16, "resize": 18, "val_per_class": 2}},
        "splits": {"many_threshold": 8, "few_threshold": 3},
        "stage1": {"epochs": 1, "batch_size": 8},
        "template_trained": {"train": {"epochs": 1, "batch_size": 8}},
        "runtime": {"num_workers": 0},
    }
    repo = make_repo(tmp_path / "repo", overrides)
    args = ["-S", "data.name=folder", "-S", f"data.root={tree}", "-S", "data.imb_factor=4"]
    out = run(["dvc", "exp", "run", *args, "-S", "method=template_trained"], repo).stdout
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert ran == {
        "check_params",
        "prepare",
        "splits",
        "pretrain",
        "stage1",
        "stage2",
        "predict",
        "logits",
        "evaluate",
    } | {f"experts@{s}" for s in ("many", "medium", "few")}
    assert "prepare: folder, 64 images" in out
    manifest = json.loads((repo / "data/models/stage2/manifest.json").read_text())
    assert manifest == {"used": True, "method": "template_trained"}
    history = json.loads((repo / "data/logits/history.json").read_text())
    assert [row["stage"] for row in history] == ["stage1", "stage2"]  # one epoch each
    meta = json.loads((repo / "data/splits/meta.json").read_text())
    assert meta["class_names"] == NAMES and meta["train_counts"] == [10, 6, 3, 2]
    assert meta["group_sizes"] == {"many": 1, "medium": 2, "few": 1} and meta["splits"]["open"] == 4
    assert pd.read_csv(repo / "plots/per_class.csv")["name"].tolist() == NAMES
    metrics = json.loads((repo / "metrics/metrics.json").read_text())
    assert metrics["open_f"] is not None and (repo / "plots/per_class.png").stat().st_size > 0
    # an edited test image re-runs prepare and what predicts, not the training; a new crop size all
    before = (repo / "metrics/metrics.json").read_text()
    repaint(tree / "test" / "dog" / "001.jpg")
    assert ran_stages(run(["dvc", "repro"], repo).stdout) == {"prepare", "predict", "logits", "evaluate"}
    assert (repo / "metrics/metrics.json").read_text() != before
    write_params(repo, {"data": {"folder": {"crop_size": 12}}})
    assert {"prepare", "splits", "stage1", "stage2", "predict", "logits"} <= ran_stages(
        run(["dvc", "repro"], repo).stdout
    )
    assert json.loads((repo / "data/prepared/info.json").read_text())["image_size"] == 12
    # the tree is a dependency of prepare: a new image re-runs it
    (tree / "train" / "cat" / "999.jpg").write_bytes((tree / "train" / "cat" / "000.jpg").read_bytes())
    changed = json.loads(run(["dvc", "status", "--json", "prepare"], repo).stdout)["prepare"]
    assert {"changed deps": {str(tree): "modified"}} in changed
