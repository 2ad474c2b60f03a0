"""Stage stage1: the shared representation and the plain softmax baseline (params: seed, model,
stage1, logits.batch_size, runtime); the predict stage writes its logits. It never reads `method`, so
switching methods reuses it."""

from ltr.runner import run_stage  # first, and the rest inside main(): Ctrl-C while torch loads is one line


def main():
    import dataclasses

    from ltr import processes
    from ltr.config import load_config
    from ltr.layout import STAGE1, atomic_dir
    from ltr.pipeline import stage_context

    cfg = load_config()
    processes.start(cfg.runtime)
    with atomic_dir(STAGE1) as out:
        ctx = stage_context(cfg, "stage1", out)
        pretrain = ctx.models.read("pretrain", "manifest.json")
        model = ctx.models.new()
        schedule = cfg.stage1
        if pretrain["used"]:  # fine-tunes the pre-trained backbone at the rate the pretrain stage names
            ctx.models.load_backbone("pretrain", model)
            schedule = dataclasses.replace(schedule, lr=pretrain["stage1_lr"])
        backbone = ("pretrain/backbone.pt",) if pretrain["used"] else ()  # resume only from the same start
        result = ctx.models.train(model, schedule, key_parts=(pretrain,), starts_from=backbone)
    ctx.models.finish()
    processes.shutdown()
    print(
        f"stage1: best val top-1 {result.best_val_top1:.2f}% at epoch {result.best_epoch}, "
        f"{result.seconds:.0f}s of training"
    )


if __name__ == "__main__":
    run_stage(main)
