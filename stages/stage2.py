"""Stage stage2: the method's own training, or the constant "unused" manifest (params: method, seed,
model, the method's `train` section, logits.batch_size, runtime)."""

from ltr.layout import LIVE, STAGE2
from ltr.method_stage import run_method_step
from ltr.runner import run_stage

if __name__ == "__main__":
    run_stage(lambda: run_method_step("stage2", STAGE2, LIVE / "stage2", "train_stage2"))
