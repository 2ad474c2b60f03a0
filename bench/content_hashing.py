"""What fingerprinting the images' bytes costs prepare on an image-file data set: the header check
alone (what prepare did before) against the header check with the md5 of every file
(ltr.data.image_lists.check_and_hash), both with prepare's eight reading threads, on a generated
tree of JPEGs of 256 px on the short side (about 60 KB each; ImageNet's average is about 110 KB).
Usage:
    python bench/content_hashing.py [--images 20000] [--distinct 500] [--root DIR] [--cold]

`--distinct` images are encoded and the rest are byte copies of them (encoding is the slow part of
making the tree, and a copy is read from disk like any file); `--cold` drops the page cache before
each pass (needs root), so that the files come from disk rather than memory.
"""

import argparse
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchlib import make_jpeg_tree

from ltr.data.image_lists import check_and_hash


def header_only(root: Path, paths: list[str]) -> None:
    from PIL import Image

    def check(rel):
        with Image.open(root / rel):
            pass

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(check, paths))


def make_tree(root: Path, images: int, distinct: int) -> list[str]:
    made, _ = make_jpeg_tree(root, distinct)
    paths = list(made)
    for i in range(distinct, images):
        rel = f"train/c{i % 10}/{i:06d}.JPEG"
        shutil.copyfile(root / made[i % distinct], root / rel)
        paths.append(rel)
    return paths


def drop_page_cache() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--distinct", type=int, default=500)
    parser.add_argument("--root", type=Path, help="where to make the tree (default: a temporary directory)")
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each pass (root only)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ltr-hashing-", dir=args.root))
    try:
        start = time.perf_counter()
        paths = make_tree(root, args.images, args.distinct)
        size = sum((root / p).stat().st_size for p in paths)
        print(f"tree: {len(paths)} JPEGs, {size / 1e9:.2f} GB, made in {time.perf_counter() - start:.0f} s")
        for name, work in (("header check", header_only), ("header check + md5", check_and_hash)):
            if args.cold:
                drop_page_cache()
            start = time.perf_counter()
            work(root, paths) if work is header_only else work(root, paths, "bench")
            seconds = time.perf_counter() - start
            print(
                f"{name:20s} {seconds:7.1f} s  {len(paths) / seconds:8.0f} images/s  {size / seconds / 1e6:6.0f} MB/s"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
