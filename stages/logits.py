"""Stage logits: the method's final logits for every split list, post-hoc steps included, plus the
cost and training history of the models behind them (params: method, logits, runtime and the
method's section)."""

import numpy as np

from ltr.layout import LOGITS, MODELS, atomic_dir, read_json, run_stage, write_json
from ltr.methods import METHODS
from ltr.pipeline import StageContext


def main():
    ctx = StageContext.load("logits")
    method = METHODS[ctx.cfg.method]
    output = method.logits(ctx)
    summaries = {stage: read_json(MODELS / stage / "train_summary.json") for stage in method.trained_in}
    seconds = sum(s["train_seconds"] for s in summaries.values())
    images = sum(s["train_images"] for s in summaries.values())
    cost = {
        "params_m": round(output.cost["params"] / 1e6, 4),
        "gmacs": round(output.cost["macs"] / 1e9, 5),
        "train_seconds": round(seconds, 1),
        "train_img_per_s": round(images / seconds, 1) if seconds else 0.0,
    }
    with atomic_dir(LOGITS) as out:
        for name in output.logits:
            np.savez(out / f"{name}.npz", logits=output.logits[name].astype(np.float32), labels=ctx.split(name).labels)
        write_json(out / "cost.json", cost)
        write_json(out / "method.json", output.info)
        write_json(
            out / "history.json", [{"stage": stage, **row} for stage, s in summaries.items() for row in s["history"]]
        )
    print(f"logits: {method.name}, {len(output.logits)} split lists, {cost['params_m']}M parameters")


if __name__ == "__main__":
    run_stage(main)
