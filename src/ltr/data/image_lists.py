"""Image-folder benchmarks read through their official split lists: ImageNet-LT, Places-LT and
iNaturalist 2018.

`data.root` holds the lists and the images they name, as the OLTR / Decoupling / TADE code bases lay
them out:

    <root>/ImageNet_LT_train.txt, ImageNet_LT_val.txt, ImageNet_LT_test.txt, ImageNet_LT_open.txt
    <root>/train/..., <root>/val/...            paths as the train / val / test lists give them
    <root>/ImageNet_LT_open/...                 the open list's file names are relative to this folder

Places-LT: Places_LT_*.txt and Places_LT_open/. iNaturalist 2018: iNaturalist18_train.txt and
iNaturalist18_val.txt; its val list is also the test list (as in TADE and RIDE) and it has no open
set. The lists are used verbatim: the training list is already long-tailed, so `data.imb_factor` does
not apply. Their images are decoded by ltr.data.image_loader. Each data set's list files and traits are
declared in ltr.config.datasets.official_lists.
"""

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ltr.config import DataConfig
from ltr.config.datasets import ImageFileParams, dataset
from ltr.config.datasets.official_lists import LISTS
from ltr.data.prepared import traits_record
from ltr.data.split_list import read_split_list
from ltr.errors import LtrError
from ltr.layout import SHIFT_FACTORS

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def prepare_image_lists(cfg: DataConfig, decoding: ImageFileParams, files: dict[str, str]) -> dict:
    """Read and check the official lists (`files`: pool -> list file under data.root, and "open_dir",
    the folder the open list's names are relative to); the index names every image by its path under
    data.root."""
    root = Path(cfg.root)
    if not root.is_dir():
        raise LtrError(f"data.root = {cfg.root!r} is not a directory; point it at the {cfg.name} images and lists")
    train = read_split_list(root / files["train"], num_classes=None, is_open=False)
    num_classes = int(train.labels.max()) + 1
    ids, labels, pools, digests = [], [], [], []
    for pool in ("train", "val", "test", "open"):
        if pool not in files:
            continue
        path = root / files[pool]
        lst = read_split_list(path, num_classes, is_open=pool == "open")
        rel = [f"{files['open_dir']}/{p}" for p in lst.paths] if pool == "open" else lst.paths
        missing = next((p for p in rel if not (root / p).is_file()), None)
        if missing is not None:
            raise LtrError(f"{path}: image {missing!r} does not exist under data.root = {cfg.root!r}")
        digests += check_and_hash(root, rel, str(path))
        ids += rel
        labels += lst.labels.tolist()
        pools += [pool] * len(rel)
    twice = first_repeated(ids)
    if twice is not None:
        first, second = (files[pools[i]] for i in twice)
        raise LtrError(f"image {ids[twice[0]]!r} is listed in {first} and in {second}; each image belongs to one split")
    test = {p: y for p, y, pool in zip(ids, labels, pools, strict=True) if pool == "test"}
    shifted = read_shifted_lists(root, files["test"].rsplit("_", 1)[0], files["test"], test, num_classes)
    info = files_info(cfg, decoding, [str(c) for c in range(num_classes)])
    return {
        "images": None,
        "ids": ids,
        "labels": labels,
        "pools": pools,
        "info": info,
        "shifted": shifted,
        "digests": digests,
    }


def first_repeated(ids: list[str]) -> tuple[int, int] | None:
    """The positions of the first id that occurs twice, or None."""
    seen: dict[str, int] = {}
    for i, name in enumerate(ids):
        if name in seen:
            return seen[name], i
        seen[name] = i
    return None


def files_info(cfg: DataConfig, decoding: ImageFileParams, class_names: list[str]) -> dict:
    """The prepared info of a data set of image files under data.root, decoded by ltr.data.image_loader."""
    return {
        "name": cfg.name,
        "root": str(Path(cfg.root)),
        "num_classes": len(class_names),
        "class_names": class_names,
        "image_size": decoding.crop_size,
        "resize": decoding.resize,
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        **traits_record(dataset(cfg.name).traits),
    }


def inspect_image(path: Path) -> tuple[str, str | None]:
    """(md5 of the file's bytes, why it is not an image PIL can read, or None). The digest goes into
    data/content/, so that an edited image re-runs the stages that read it; the header check makes a
    zero-byte or truncated download fail here, at prepare, not in the logits stage after the training."""
    from PIL import Image, UnidentifiedImageError

    data = path.read_bytes()
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    try:
        with Image.open(io.BytesIO(data)):  # identifies the format from the header, decodes nothing
            pass
    except (UnidentifiedImageError, OSError, ValueError) as e:
        return digest, " ".join(str(e).split())[:120] or type(e).__name__
    return digest, None


def check_and_hash(root: Path, paths: list[str], where: str) -> list[str]:
    """The md5 of each of `paths` (under root); stops at the first that is not an image, naming it
    after `where`."""
    with ThreadPoolExecutor(8) as pool:  # I/O-bound, and hashlib releases the GIL: eight files at a time
        results = list(pool.map(lambda p: inspect_image(root / p), paths))
    for rel, (_, error) in zip(paths, results, strict=True):
        if error is not None:
            raise LtrError(f"{where}: image {rel!r} is not an image PIL can read ({error})")
    return [digest for digest, _ in results]


def read_shifted_lists(root: Path, prefix: str, test_file: str, test: dict, num_classes: int) -> dict:
    """TADE's forward / backward test lists (<prefix>_forward50.txt, ..._backward2.txt) where data.root
    has them: subsets of the test list, used verbatim, since their images cannot be drawn again
    (only their counts follow the profile). {split name: paths}; the others are generated."""
    shifted = {}
    for factor in SHIFT_FACTORS:
        for direction in ("forward", "backward"):
            path = root / f"{prefix}_{direction}{factor}.txt"
            if not path.exists():
                continue
            lst = read_split_list(path, num_classes, is_open=False)
            stray = next((p for p, y in zip(lst.paths, lst.labels, strict=True) if test.get(p) != y), None)
            if stray is not None:
                raise LtrError(
                    f"{path}: image {stray!r} is not in {test_file} with that label; "
                    f"a shifted test list takes its images from the test list"
                )
            shifted[f"test_{direction}{factor}"] = lst.paths
    return shifted


def prepare(data: DataConfig) -> dict:
    """The entry that ltr.data.prepared.read_dataset calls for the data sets this module reads."""
    return prepare_image_lists(data, data.own, LISTS[data.name])
