"""Stage logits: the method's final logits for every split list, post-hoc steps included, plus the
cost and training history of the models behind them (params: method, seed, logits, the method's
`logits` section, runtime)."""

from ltr.runner import run_stage  # first, and the rest inside main(): Ctrl-C while torch loads is one line


def main():
    import torch

    from ltr import methods
    from ltr.config import load_config
    from ltr.data.logits import write_logits
    from ltr.layout import LOGITS, atomic_dir, write_json
    from ltr.pipeline import stage_context

    cfg = load_config()
    ctx = stage_context(cfg, "logits")
    torch.manual_seed(ctx.seed)  # the steps that draw (TADE's views, the experts' calibration) start here
    output = methods.steps(cfg.method).logits(ctx, methods.section(cfg))
    trained_in = methods.spec(cfg.method).trained_in
    summaries = {stage: ctx.models.read(stage, "train_summary.json") for stage in trained_in}
    cost = {
        "params_m": round(output.cost["params"] / 1e6, 4),
        "gmacs": round(output.cost["macs"] / 1e9, 5),
        # the training behind the final model, every stage's; a count, the same on every machine
        "train_images": sum(s["train_images"] for s in summaries.values()),
    }
    with atomic_dir(LOGITS) as out:
        for name in output.logits:
            write_logits(out / f"{name}.npz", output.logits[name], ctx.data.split(name).labels)
        write_json(out / "cost.json", cost)
        write_json(out / "method.json", output.info)
        write_json(
            out / "history.json", [{"stage": stage, **row} for stage, s in summaries.items() for row in s["history"]]
        )
    print(f"logits: {cfg.method}, {len(output.logits)} split lists, {cost['params_m']}M parameters")


if __name__ == "__main__":
    run_stage(main)
