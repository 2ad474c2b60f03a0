"""Stage predict: the stage-1 model's logits and pooled features of every split list, which the
post-hoc methods (softmax itself too) start from (params: logits.batch_size, runtime). Apart from
stage 1, so that an edited test image re-runs this pass and not stage 1's training."""

from ltr.runner import run_stage  # first, and the rest inside main(): Ctrl-C while torch loads is one line


def main():
    from ltr.config import load_config
    from ltr.layout import STAGE1_PREDICTIONS, atomic_dir
    from ltr.pipeline import stage_models

    cfg = load_config()
    with atomic_dir(STAGE1_PREDICTIONS) as out:
        models = stage_models(cfg, "predict", out, trains=False)
        models.save_predictions(models.load("stage1"))
    print(f"predict: stage 1's logits and features of {len(models.data.meta['splits'])} split lists")


if __name__ == "__main__":
    run_stage(main)
