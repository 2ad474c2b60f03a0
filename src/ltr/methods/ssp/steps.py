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

from ltr.engine.pretrain import pretrain_backbone
from ltr.layout import PRETRAIN, read_manifest
from ltr.methods.shared.retraining import new_linear_logits
from ltr.methods.shared.retraining import train_new_linear as train_stage2
from ltr.pipeline import MethodOutput


def pretrain(ctx, p, out) -> dict:
    return pretrain_backbone(ctx, out)


def logits(ctx, p) -> MethodOutput:
    result = new_linear_logits(ctx, p)
    manifest = read_manifest(PRETRAIN)
    result.info["pretrain"] = {k: manifest[k] for k in ("kind", "val_top1", "stage1_lr")}
    return result


__all__ = ["logits", "pretrain", "train_stage2"]
