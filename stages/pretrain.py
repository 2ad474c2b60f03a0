"""Stage pretrain: self-supervised pre-training for methods that use it, otherwise the constant
"unused" manifest (params: method, seed, model, pretrain, logits.batch_size, runtime)."""

from ltr.layout import LIVE, PRETRAIN
from ltr.method_stage import run_method_step
from ltr.runner import run_stage

if __name__ == "__main__":
    run_stage(lambda: run_method_step("pretrain", PRETRAIN, LIVE / "pretrain", "pretrain", shared=("pretrain",)))
