"""Stage stage1: the shared representation and the plain softmax baseline (params: seed, model,
stage1, logits.batch_size, runtime); the predict stage writes its logits. It never reads `method`, so
switching methods reuses it."""

from ltr.runner import run_stage  # first, and the rest inside main(): Ctrl-C while torch loads is one line


def main():
    import dataclasses

    from ltr import processes
    from ltr.layout import PRETRAIN, STAGE1, atomic_dir, read_manifest
    from ltr.pipeline import StageContext

    ctx = StageContext.load("stage1")
    processes.start(ctx.cfg.runtime)
    pretrain = read_manifest(PRETRAIN)
    model = ctx.new_model()
    schedule = ctx.cfg.stage1
    if pretrain["used"]:  # fine-tunes the pre-trained backbone at the rate the pretrain stage names
        ctx.load_backbone(PRETRAIN, model)
        schedule = dataclasses.replace(schedule, lr=pretrain["stage1_lr"])
    with atomic_dir(STAGE1) as out:
        backbone = (PRETRAIN / "backbone.pt",) if pretrain["used"] else ()  # resume only from the same start
        result = ctx.train_and_save(out, model, schedule, key_parts=(pretrain,), key_files=backbone)
    ctx.finish()
    processes.shutdown()
    print(
        f"stage1: best val top-1 {result.best_val_top1:.2f}% at epoch {result.best_epoch}, "
        f"{result.seconds:.0f}s of training"
    )


if __name__ == "__main__":
    run_stage(main)
