"""Stage stage1: the shared representation and the plain softmax baseline (params: seed, model,
stage1, runtime). It never reads `method`, so switching methods reuses it."""

from ltr.layout import PRETRAIN, STAGE1, atomic_dir, read_manifest, run_stage
from ltr.pipeline import StageContext


def main():
    ctx = StageContext.load("stage1")
    pretrain = read_manifest(PRETRAIN)
    model = ctx.new_model()
    if pretrain["used"]:
        ctx.load_backbone(PRETRAIN, model)
    with atomic_dir(STAGE1) as out:
        cfg = ctx.cfg.stage1
        backbone = (PRETRAIN / "backbone.pt",) if pretrain["used"] else ()  # resume only from the same start
        result = ctx.train_and_save(out, model, cfg, key_parts=(pretrain,), key_files=backbone)
    ctx.finish()
    print(
        f"stage1: best val top-1 {result.best_val_top1:.2f}% at epoch {result.best_epoch}, "
        f"{result.seconds:.0f}s of training"
    )


if __name__ == "__main__":
    run_stage(main, trains=True)
