"""Stage splits: the LT training list, val, test, open and shifted test lists, meta.json
(params: data, splits)."""

from ltr.runner import run_stage  # first, and the rest inside main(): Ctrl-C while torch loads is one line


def main():
    from ltr.config import load_config
    from ltr.data.prepared import PreparedImages
    from ltr.data.split_list import write_split_list
    from ltr.data.splits import build_splits
    from ltr.layout import PREPARED, SPLITS, atomic_dir, write_json

    cfg = load_config()
    lists, meta = build_splits(PreparedImages(PREPARED), cfg.data, cfg.splits)
    with atomic_dir(SPLITS) as out:
        for name, (ids, labels) in lists.items():
            write_split_list(out / f"{name}.txt", ids, labels)
        write_json(out / "meta.json", meta)
    sizes = ", ".join(f"{k} {v}" for k, v in meta["splits"].items() if not k.startswith("test_"))
    groups = ", ".join(f"{k} {v}" for k, v in meta["group_sizes"].items())
    print(f"splits: {sizes}; classes by shot group: {groups}")


if __name__ == "__main__":
    run_stage(main)
