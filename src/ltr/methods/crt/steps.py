"""cRT: classifier re-training (Kang et al., "Decoupling Representation and Classifier for
Long-Tailed Recognition", ICLR 2020). The stage-1 representation is kept; the linear classifier is
re-initialised and re-trained with class-balanced (class-aware) sampling: the shared re-training's
steps with a new linear head, which SSP's stage 2 is too."""

from ltr.methods.shared.retraining import new_linear_logits as logits
from ltr.methods.shared.retraining import train_new_linear as train_stage2

__all__ = ["logits", "train_stage2"]
