"""The stage layer's context: what a stage's code receives (ltr.engine.context.Context), built from
params.yaml and the paths of the DAG (ltr.layout), so that neither the engine nor a method reads either.

A stage reads exactly the params it tracks in dvc.yaml (tests/test_params_read.py), and the context
reads the ones it holds when it is built: the logits and predict stages' store has no training part
(model.arch, the seed and the runtime's training keys stay unread), and predict has no context, only
the store.
"""

from pathlib import Path

from ltr import processes
from ltr.config import Config
from ltr.device import resolve_device, use_threads
from ltr.engine.context import Context
from ltr.engine.data import Data
from ltr.engine.models import Models, Training
from ltr.engine.train import Log, Runtime
from ltr.layout import LIVE, MODELS, PREPARED, SPLITS, STAGE1_PREDICTIONS


def stage_models(
    cfg: Config, stage: str, out: Path | None = None, live_dir: Path | None = None, *, trains: bool
) -> Models:
    """The model store of `stage` (as dvc.yaml names it: stage1, experts@few), writing `out`; a training
    stage's makes and trains models, logging into live_dir (default live/<stage>)."""
    use_threads(cfg.runtime)
    device = processes.local_device(resolve_device(cfg.runtime))
    data = Data(SPLITS, PREPARED, device, cfg.runtime.amp, cfg.logits.batch_size, cfg.runtime)
    training = None
    if trains:
        runtime = Runtime(device, cfg.runtime.amp, cfg.runtime.compile, cfg.runtime.max_steps)
        training = Training(cfg.model.arch, cfg.seed, runtime, [PREPARED, SPLITS])
    return Models(MODELS, STAGE1_PREDICTIONS, out, data, Log(stage, live_dir or LIVE / stage), training)


def stage_context(cfg: Config, stage: str, out: Path | None = None, live_dir: Path | None = None) -> Context:
    """The context of a stage that runs a method's step (pretrain, stage2, experts@<subset>, logits) or
    trains stage 1: only the logits stage trains nothing."""
    models = stage_models(cfg, stage, out, live_dir, trains=stage != "logits")
    return Context(cfg.seed, models.data.device, models.data, models, models.log)
