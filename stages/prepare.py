"""Stage prepare: build the base data set into data/prepared/ (params: data)."""

import time

from ltr.config import load_config
from ltr.data.datasets import PREPARERS
from ltr.data.prepared import write_prepared
from ltr.layout import PREPARED, atomic_dir
from ltr.runner import run_stage


def main():
    cfg = load_config()
    start = time.perf_counter()
    prepared = PREPARERS[cfg.data.name](cfg.data)
    with atomic_dir(PREPARED) as out:
        write_prepared(out, **prepared)
    print(f"prepare: {cfg.data.name}, {len(prepared['labels'])} images in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    run_stage(main)
