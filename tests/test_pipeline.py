import numpy as np
import pytest
import torch

from ltr.config import TrainConfig
from ltr.engine.optim import body_and_head
from ltr.methods.shared.val_selection import best_on_val
from ltr.models import create_model
from ltr.models.multi_expert import MultiExpertNet


def test_body_and_head_groups_for_every_model_shape():
    cfg = TrainConfig(lr=0.01, backbone_lr_factor=0.1)
    single = create_model("resnet8", 5)
    groups = body_and_head(single, cfg)
    assert [g["lr"] for g in groups] == pytest.approx([0.001, 0.01])
    assert sum(q.numel() for q in groups[1]["params"]) == 64 * 5 + 5  # the linear head
    experts = MultiExpertNet("resnet8", 5, num_experts=2)
    head_params = sum(q.numel() for q in body_and_head(experts, cfg)[1]["params"])
    assert head_params == 2 * 48 * 5  # two cosine heads on 48-d features, no bias
    single.backbone.requires_grad_(False)
    assert [g["lr"] for g in body_and_head(single, cfg)] == [0.01]  # frozen parts drop out


def test_best_on_val_prefers_the_smallest_best_value():
    labels = torch.tensor([0, 1, 1])
    base = torch.tensor([[3.0, 0.0], [2.0, 0.0], [1.5, 0.0]])
    shift = torch.tensor([[0.0, 1.0]] * 3)  # value v adds v to the class-1 logit
    # v=0: only row 1 right (1/3); v=2.5: rows -> [3, 2.5], [2, 2.5], [1.5, 2.5] -> 0, 1, 1: all right;
    # v=3: row 1 ties [3, 3] -> argmax 0, still all right; v=5: row 1 -> 1, wrong (2/3)
    value, top1 = best_on_val(np.array([0.0, 2.5, 3.0, 5.0]), lambda v: base + v * shift, labels)
    assert value == 2.5 and top1 == 100.0
