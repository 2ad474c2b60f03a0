"""Stage prepare: build the base data set into data/prepared/, and the fingerprints of its images'
bytes into data/content/ (params: data.name, data.root, data.seed and the data set's own data.<name>)."""

from ltr.runner import run_stage  # first, and the rest inside main(): Ctrl-C while torch loads is one line


def main():
    import time

    from ltr.config import load_config
    from ltr.data.prepared import read_dataset, write_prepared
    from ltr.device import use_threads
    from ltr.layout import CONTENT, PREPARED, atomic_dir

    cfg = load_config()
    use_threads(cfg.runtime)  # the synthetic generator's matrix products
    start = time.perf_counter()
    prepared = read_dataset(cfg.data)
    with atomic_dir(PREPARED) as out, atomic_dir(CONTENT) as content:
        write_prepared(out, **prepared, content=content)
    print(f"prepare: {cfg.data.name}, {len(prepared['labels'])} images in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    run_stage(main)
