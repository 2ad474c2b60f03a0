"""SSP: self-supervised pre-training, then classifier re-training (Liu & Liu, "Investigate the Essence
of Long-Tailed Recognition from a Unified Perspective", 2021; the recipe of Yang & Xu, "Rethinking the
Value of Labels for Improving Class-Imbalanced Learning", NeurIPS 2020).

The pretrain stage learns the backbone from the training images without labels (`pretrain.kind`:
rotation or MoCo v2), stage 1 trains the whole network from it at the original's lower rate
(`pretrain.stage1_lr`), and stage 2 re-trains a new linear classifier on the frozen stage-1 features
with class-balanced sampling, as cRT does. The original's
classifier script, under its default arguments, neither loaded nor froze the pre-trained backbone;
here the backbone's weights are frozen and its BatchNorm statistics re-estimated, as in cRT.
"""

from ltr.config import PretrainConfig
from ltr.engine.context import Context, MethodOutput
from ltr.engine.pretrain import pretrain_backbone
from ltr.methods.shared.params import RetrainingParams
from ltr.methods.shared.retraining import new_linear_logits
from ltr.methods.shared.retraining import train_new_linear as train_stage2


def pretrain(ctx: Context, p: RetrainingParams, pretrain: PretrainConfig) -> dict:
    """`pretrain`: the shared section of the pretrain stage (its schedule and pretext task)."""
    return pretrain_backbone(ctx, pretrain)


def logits(ctx: Context, p: RetrainingParams) -> MethodOutput:
    result = new_linear_logits(ctx, p)
    manifest = ctx.models.read("pretrain", "manifest.json")
    result.info["pretrain"] = {k: manifest[k] for k in ("kind", "val_top1", "stage1_lr")}
    return result


__all__ = ["logits", "pretrain", "train_stage2"]
