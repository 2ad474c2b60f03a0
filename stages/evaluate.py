"""Stage evaluate: every metric of the README's file contracts and the plots, from the logits and
the split metadata (params: method, eval). Writes metrics/ and plots/, both kept in git."""

from ltr.runner import run_stage  # first, and the rest inside main(): Ctrl-C while torch loads is one line


def main():
    import pandas as pd

    from ltr.config import load_config
    from ltr.data.logits import read_logits
    from ltr.layout import LOGITS, METRICS, PLOTS, SPLITS, atomic_dir, read_json, write_json
    from ltr.metrics.summary import evaluate, headline
    from ltr.report.plots import (
        agnostic_figure,
        confusion_figure,
        group_confusion_figure,
        per_class_figure,
        reliability_figure,
        training_figure,
    )

    cfg = load_config()
    meta = read_json(SPLITS / "meta.json")
    split_logits = {name: read_logits(LOGITS / f"{name}.npz", meta["num_classes"]) for name in meta["splits"]}
    history = pd.DataFrame(read_json(LOGITS / "history.json"))
    history.insert(0, "step", range(1, len(history) + 1))  # one x axis across consecutive stages
    result = evaluate(split_logits, meta, cfg.eval.open_threshold, cfg.eval.ece_bins, read_json(LOGITS / "cost.json"))

    title = f"{cfg.method} on {meta['dataset']} (imbalance {meta['imb_factor']:g})"
    with atomic_dir(METRICS) as metrics_dir, atomic_dir(PLOTS) as plots_dir:
        write_json(metrics_dir / "metrics.json", headline(result.metrics))
        write_json(metrics_dir / "details.json", {**result.metrics, "splits": result.splits})
        write_json(metrics_dir / "method.json", read_json(LOGITS / "method.json"))
        result.per_class.to_csv(plots_dir / "per_class.csv", index=False)
        result.agnostic.to_csv(plots_dir / "agnostic.csv", index=False)
        result.reliability.to_csv(plots_dir / "reliability.csv", index=False)
        result.confusion.to_csv(plots_dir / "confusion.csv", index=False)
        result.group_confusion.to_csv(plots_dir / "group_confusion.csv", index=False)
        history.to_csv(plots_dir / "training.csv", index=False)
        # each figure as <name>.png and <name>.svg
        per_class_figure(result.per_class, plots_dir / "per_class", title)
        agnostic_figure(result.agnostic, plots_dir / "agnostic", title)
        reliability_figure(result.reliability, plots_dir / "reliability", title)
        training_figure(history, plots_dir / "training", title)
        confusion_figure(result.confusion, plots_dir / "confusion", title)
        group_confusion_figure(result.group_confusion, plots_dir / "group_confusion", title)
    shown = {**result.metrics["closed"], **{f"open {k}": v for k, v in result.metrics["open"].items()}}
    keys = ["top1", "many", "medium", "few", "open f_measure", "open auroc"]
    print("evaluate: " + "  ".join(f"{k} {'n/a' if shown[k] is None else format(shown[k], '.2f')}" for k in keys))


if __name__ == "__main__":
    run_stage(main)
