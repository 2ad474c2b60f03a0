"""SSP: self-supervised pre-training, then classifier re-training (Liu & Liu, "Investigate the Essence
of Long-Tailed Recognition from a Unified Perspective", 2021; the recipe of Yang & Xu, "Rethinking the
Value of Labels for Improving Class-Imbalanced Learning", NeurIPS 2020).

The pretrain stage learns the backbone from the training images without labels (`pretrain.kind`:
rotation or MoCo v2), stage 1 trains the whole network from it, and stage 2 re-trains a new linear
classifier on the frozen stage-1 features with class-balanced sampling, as cRT does. The original's
classifier script, under its default arguments, neither loaded nor froze the pre-trained backbone;
here the backbone is frozen, BatchNorm statistics included.
"""

import dataclasses

from ltr.engine.pretrain import pretrain_backbone
from ltr.methods import crt

METHOD = dataclasses.replace(
    crt.METHOD,
    name="ssp",
    summary="self-supervised pre-training (rotation or MoCo v2), stage 1 from it, then cRT on frozen features",
    pretrain=pretrain_backbone,
    trained_in=("pretrain", "stage1", "stage2"),
)
