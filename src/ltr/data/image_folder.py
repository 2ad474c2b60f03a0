"""Your own data as an image-folder tree (`data.name: folder`); the class names are its folder names.

    <data.root>/train/<class>/<image>   the classes: train's sub-folders, labelled 0, 1, ... in name order
    <data.root>/test/<class>/<image>    the same classes (each needs test images: the shifted tests draw from them)
    <data.root>/val/<class>/<image>     optional: without it, data.folder.val_per_class images of each class
                                        are held out of train (drawn by data.seed), and meta.json says so
    <data.root>/open/<image>            optional: the open set (any sub-folders); without it open.* is null

An image is any file under a class folder, at any depth, whose name and folders do not start with a
dot. The train pool keeps the tree's counts: the splits stage cuts the long-tailed profile of
data.imb_factor from it, and imb_factor 1 keeps the tree's own counts. The images are then what the
official lists of ltr.data.image_lists name: paths under data.root, their headers checked here and the
images decoded by ltr.data.image_loader.
"""

from pathlib import Path

import numpy as np

from ltr.config import DataConfig
from ltr.config.datasets.folder import FolderParams
from ltr.data.image_lists import check_and_hash, files_info
from ltr.errors import LtrError


def _visible(rel: Path) -> bool:
    return not any(part.startswith(".") for part in rel.parts)


def images_under(folder: Path, root: Path, where: str) -> list[str]:
    """Paths under root of every visible file below folder, sorted; a path with whitespace cannot be a
    split-list line (`relative/path label`)."""
    paths = sorted(
        p.relative_to(root).as_posix() for p in folder.rglob("*") if not p.is_dir() and _visible(p.relative_to(folder))
    )
    spaced = next((p for p in paths if len(p.split()) != 1), None)
    if spaced is not None:
        raise LtrError(f"{where}: {spaced!r} has whitespace in its path, which a split list cannot hold; rename it")
    return paths


def class_folders(root: Path, pool: str, where: str) -> dict[str, list[str]]:
    """{class name: its image paths under root} of <root>/<pool>/<class>/..."""
    layout = f"lay the images out as {pool}/<class>/<image>"
    entries = sorted(p for p in (root / pool).iterdir() if _visible(Path(p.name)))
    if not any(p.is_dir() for p in entries):
        raise LtrError(f"{where}: {pool}/ has no class sub-folders; {layout}")
    stray = next((p for p in entries if not p.is_dir()), None)
    if stray is not None:
        raise LtrError(f"{where}: {pool}/{stray.name} is not in a class folder; {layout}")
    classes = {p.name: images_under(p, root, where) for p in entries}
    empty = next((name for name, paths in classes.items() if not paths), None)
    if empty is not None:
        raise LtrError(f"{where}: class folder {pool}/{empty}/ has no images; add images or remove the folder")
    return classes


def hold_out(train: dict[str, list[str]], per_class: int, seed: int, where: str) -> tuple[dict, dict]:
    """(train, val): per_class images of each class, in class order, drawn by one RandomState(seed)."""
    rng = np.random.RandomState(seed)
    kept, val = {}, {}
    for name, paths in train.items():
        if len(paths) <= per_class:
            raise LtrError(
                f"{where}: train/{name}/ has {len(paths)} images, too few to hold out data.folder.val_per_class = "
                f"{per_class} for val and train on the rest; add a val/ folder or lower data.folder.val_per_class"
            )
        order = rng.permutation(len(paths))
        val[name] = sorted(paths[i] for i in order[:per_class])
        kept[name] = sorted(paths[i] for i in order[per_class:])
    return kept, val


def prepare_image_folder(cfg: DataConfig, folder: FolderParams) -> dict:
    root, where = Path(cfg.root), f"data.root = {cfg.root!r}"
    for required in ("train", "test"):
        if not (root / required).is_dir():
            raise LtrError(
                f"{where} has no {required}/ folder; an image folder holds train/<class>/<image> and "
                "test/<class>/<image> (val/ and open/ optional)"
            )
    pools = {"train": class_folders(root, "train", where)}
    names = list(pools["train"])
    held_out = None
    if (root / "val").is_dir():
        pools["val"] = class_folders(root, "val", where)
    else:
        pools["train"], pools["val"] = hold_out(pools["train"], folder.val_per_class, cfg.seed, where)
        held_out = {"from": "train", "per_class": folder.val_per_class}
    pools["test"] = class_folders(root, "test", where)
    for pool in ("val", "test"):
        unknown = next((c for c in pools[pool] if c not in names), None)
        if unknown is not None:
            raise LtrError(
                f"{where}: {pool}/{unknown}/ is a class that train/ lacks; the classes are train's folders: "
                + ", ".join(names)
            )
    untested = next((c for c in names if c not in pools["test"]), None)
    if untested is not None:  # the shifted test distributions draw from every class's test images
        raise LtrError(f"{where}: class {untested!r} has no test/{untested}/ folder; every class needs test images")
    ids, labels, pool_of = [], [], []
    for pool, classes in pools.items():
        for name, paths in classes.items():
            ids += paths
            labels += [names.index(name)] * len(paths)
            pool_of += [pool] * len(paths)
    if (root / "open").is_dir():
        open_ids = images_under(root / "open", root, where)
        if not open_ids:
            raise LtrError(f"{where}: open/ has no images; remove it for a data set without an open set")
        ids += open_ids
        labels += [-1] * len(open_ids)
        pool_of += ["open"] * len(open_ids)
    digests = check_and_hash(root, ids, where)
    info = {**files_info(cfg, folder, names), **({"val_held_out": held_out} if held_out else {})}
    return {"images": None, "ids": ids, "labels": labels, "pools": pool_of, "info": info, "digests": digests}


def prepare(data: DataConfig) -> dict:
    """The entry that ltr.data.prepared.read_dataset calls for the data sets this module reads."""
    return prepare_image_folder(data, data.folder)
