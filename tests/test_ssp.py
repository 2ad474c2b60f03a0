"""Self-supervised pre-training (rotation, MoCo v2), the SSP method and the one-tail toy profile of
Liu & Liu (2021). Expected values are worked out by hand next to each assertion."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.config import DataConfig, OneTailConfig, SplitsConfig, parse_config
from ltr.config.datasets.synthetic import SyntheticParams
from ltr.data.long_tail import one_tail_profile
from ltr.data.prepared import PreparedImages, write_prepared
from ltr.data.splits import build_splits
from ltr.data.synthetic import prepare_synthetic
from ltr.engine.optim import body_and_head
from ltr.engine.pretrain import RotationStep, moco_accuracy, moco_step, rotate, rotation_accuracy, rotation_targets
from ltr.errors import LtrError
from ltr.methods import method_names, spec, steps
from ltr.methods.crt import steps as crt
from ltr.methods.ssp import steps as ssp
from ltr.models.moco import MoCo

# -- rotation ------------------------------------------------------------------------------------------


def test_rotation_targets_are_a_shuffle_of_the_four_rotations_repeated():
    """The original's utils.rotation: permutation([0, 1, 2, 3] * (n // 4 + 1))[:n]: for n = 8, twelve
    candidates, three of each rotation, eight of them kept, so a rotation appears 0 to 3 times (5 to 8
    of the others); a batch is not one order of the four rotations repeated."""
    draws = [rotation_targets(8, torch.Generator().manual_seed(s)) for s in range(200)]
    counts = torch.stack([torch.bincount(t, minlength=4) for t in draws])
    assert counts.sum(1).eq(8).all() and counts.max() == 3 and counts.min() >= 0
    assert (counts != 2).any()  # not always two of each, as a repeated order of four would give
    assert any(t[:4].tolist() != t[4:8].tolist() for t in draws)
    assert torch.equal(draws[0], rotation_targets(8, torch.Generator().manual_seed(0)))


def test_rotate_turns_each_image_by_its_own_quarter_turns():
    image = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    batch = image.repeat(4, 1, 1, 1)
    out = rotate(batch, torch.tensor([0, 1, 2, 3]))
    # counter-clockwise in (H, W): [[1, 2], [3, 4]] -> [[2, 4], [1, 3]] -> [[4, 3], [2, 1]] -> [[3, 1], [4, 2]]
    assert out[0, 0].tolist() == [[1, 2], [3, 4]]
    assert out[1, 0].tolist() == [[2, 4], [1, 3]]
    assert out[2, 0].tolist() == [[4, 3], [2, 1]]
    assert out[3, 0].tolist() == [[3, 1], [4, 2]]
    assert torch.equal(batch, image.repeat(4, 1, 1, 1))  # the input is left alone


def test_rotation_step_labels_the_rotation_not_the_class():
    seen = []

    def model(x):
        seen.append(x.clone())
        return torch.zeros(len(x), 4)

    step = RotationStep(seed=0)
    x = torch.arange(8 * 4, dtype=torch.float32).view(8, 1, 2, 2)
    y = torch.full((8,), 7)  # class labels are never used
    loss, logits, targets = step(model, x, y, epoch=0)
    assert len(targets) == 8 and set(targets.tolist()) <= {0, 1, 2, 3}
    assert torch.equal(seen[0], rotate(x, targets))
    assert loss.item() == pytest.approx(np.log(4))  # uniform logits over four rotations
    _, _, again = RotationStep(seed=0)(model, x, y, epoch=0)
    assert torch.equal(again, targets)  # the same (seed, epoch, batch) draws the same rotations
    step(model, x, y, epoch=0)
    _, _, next_epoch = step(model, x, y, epoch=1)
    _, _, resumed = RotationStep(seed=0)(model, x, y, epoch=1)
    assert torch.equal(next_epoch, resumed)  # a run resumed at epoch 1 draws what the uninterrupted one did


# -- MoCo v2 -------------------------------------------------------------------------------------------


class TinyBackbone(nn.Module):
    out_dim = 3

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 3)

    def forward(self, x):
        return self.linear(x)


def tiny_moco(queue=5, momentum=0.9):
    torch.manual_seed(0)
    return MoCo(TinyBackbone(), dim=2, queue=queue, key_momentum=momentum, temperature=0.2)


def test_key_encoder_starts_as_the_query_encoder_and_takes_no_gradient():
    moco = tiny_moco()
    for q, k in zip(moco.query_encoder.parameters(), moco.key_encoder.parameters(), strict=True):
        assert torch.equal(q, k) and not k.requires_grad
    trained = {id(p) for g in body_and_head(moco, parse_config({}).pretrain) for p in g["params"]}
    assert trained == {id(p) for p in moco.query_encoder.parameters()}


def test_momentum_update_moves_keys_a_tenth_of_the_way():
    moco = tiny_moco(momentum=0.9)
    with torch.no_grad():
        for q, k in zip(moco.query_encoder.parameters(), moco.key_encoder.parameters(), strict=True):
            q.fill_(1.0)
            k.fill_(0.0)
    moco.momentum_update()
    # k = 0.9 * 0 + 0.1 * 1
    assert all(torch.allclose(k, torch.full_like(k, 0.1)) for k in moco.key_encoder.parameters())
    moco.momentum_update()
    # k = 0.9 * 0.1 + 0.1 * 1 = 0.19
    assert all(torch.allclose(k, torch.full_like(k, 0.19)) for k in moco.key_encoder.parameters())


def test_queue_is_a_ring_buffer():
    moco = tiny_moco(queue=5)
    first = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    moco.enqueue(first)
    assert moco.queue_ptr.item() == 3 and torch.equal(moco.queue[:3], first)
    second = torch.tensor([[0.8, 0.6], [-1.0, 0.0], [0.0, -1.0]])
    moco.enqueue(second)
    # slots 3, 4, then 0 again: the oldest key is replaced, the pointer ends at 1
    assert moco.queue_ptr.item() == 1
    assert torch.equal(moco.queue[3:], second[:2]) and torch.equal(moco.queue[0], second[2])
    assert torch.equal(moco.queue[1:3], first[1:])


def test_forward_logits_are_positive_then_queue_over_temperature():
    moco = tiny_moco(queue=4)
    x_q, x_k = torch.randn(2, 2), torch.randn(2, 2)
    queue_before = moco.queue.clone()
    moco.eval()  # no momentum step, no enqueue: the hand computation below holds exactly
    logits = moco(x_q, x_k)
    q, k = moco.query(x_q), moco.key(x_k)
    assert logits.shape == (2, 1 + 4)
    assert torch.allclose(logits[:, 0], (q * k).sum(1) / 0.2, atol=1e-6)
    assert torch.allclose(logits[:, 1:], q @ queue_before.T / 0.2, atol=1e-6)
    assert torch.equal(moco.queue, queue_before)
    moco.train()
    moco(x_q, x_k)
    assert moco.queue_ptr.item() == 2 and not torch.equal(moco.queue, queue_before)


def test_moco_step_is_cross_entropy_against_column_zero():
    moco = tiny_moco(queue=4)
    moco.eval()
    views = (torch.randn(3, 2), torch.randn(3, 2))
    loss, logits, targets = moco_step(moco, views, torch.zeros(3, dtype=torch.long), epoch=0)
    assert targets.tolist() == [0, 0, 0]
    expected = -F.log_softmax(logits, dim=1)[:, 0].mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_moco_accuracy_finds_each_images_other_view():
    moco = tiny_moco()
    moco.eval()

    class Views:
        def epoch(self, epoch, views):
            x = torch.eye(2)  # two images; identical views: each query's nearest key is its own
            yield (x, x.clone()), torch.zeros(2)

    with torch.no_grad():
        for q, k in zip(moco.query_encoder.parameters(), moco.key_encoder.parameters(), strict=True):
            k.copy_(q)
    accuracy = moco_accuracy(moco, Views())
    assert accuracy in (50.0, 100.0)  # 100 unless the two images project onto the same direction
    q = moco.query(torch.eye(2))
    assert accuracy == (100.0 if (q @ q.T).argmax(1).tolist() == [0, 1] else 50.0)


# -- the method ----------------------------------------------------------------------------------------


def test_ssp_pretrains_and_retrains_the_classifier_like_crt():
    assert hasattr(ssp, "pretrain") and not hasattr(crt, "pretrain")
    assert ssp.train_stage2 is crt.train_stage2  # one classifier re-training, not a copy
    assert spec("ssp").trained_in == ("pretrain", "stage1", "stage2")
    assert [m for m in method_names() if spec(m).uses("pretrain")] == ["ssp"]
    assert all(not hasattr(steps(m), "pretrain") for m in method_names() if m != "ssp")


def test_pretrain_params_are_validated():
    assert parse_config({"pretrain": {"kind": "moco"}}).pretrain.moco.temperature == 0.2
    with pytest.raises(LtrError, match="pretrain.kind = 'simclr' is not allowed; choose one of: rotation, moco"):
        parse_config({"pretrain": {"kind": "simclr"}})
    with pytest.raises(LtrError, match=r"pretrain.moco.key_momentum = 1.0 is out of range: must be < 1"):
        parse_config({"pretrain": {"moco": {"key_momentum": 1.0}}})


# -- the one-tail toy profile ----------------------------------------------------------------------------


def test_one_tail_profile():
    assert one_tail_profile(4, 100, 5) == [100, 100, 100, 5]


def _toy_splits(tmp_path, **one_tail):
    synth = SyntheticParams(
        num_classes=4, num_superclasses=2, open_classes=0, train_per_class=12, test_per_class=2, val_per_class=1
    )
    data = DataConfig(synthetic=synth, profile="one_tail", one_tail=OneTailConfig(**one_tail))
    write_prepared(tmp_path, **prepare_synthetic(synth, data.seed))
    return build_splits(PreparedImages(tmp_path), data, SplitsConfig(many_threshold=8, few_threshold=5))


def test_one_tail_splits_keep_head_count_and_tail_count(tmp_path):
    lists, meta = _toy_splits(tmp_path, head_count=10, tail_count=3)
    assert meta["train_counts"] == [10, 10, 10, 3]
    assert meta["shot_groups"] == ["many", "many", "many", "few"]
    assert meta["imb_factor"] == pytest.approx(10 / 3, abs=0.01)
    assert "open" not in lists


def test_one_tail_counts_beyond_the_pool_are_refused(tmp_path):
    with pytest.raises(LtrError, match="data.one_tail asks for 20 training images of a class; the data set has 12"):
        _toy_splits(tmp_path, head_count=20, tail_count=3)


def test_rotation_accuracy_tries_all_four_rotations():
    class Val:
        def epoch(self, epoch):
            yield torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]), torch.zeros(1)

    def upright_only(x):  # recognises the unrotated image and calls everything else a half turn
        upright = (x[:, 0, 0, 0] == 1.0).float()
        return torch.stack([upright, torch.zeros_like(upright), 1 - upright, torch.zeros_like(upright)], dim=1)

    # right at 0 degrees and at 180 degrees (called "2"), wrong at 90 and 270: 2 of 4
    assert rotation_accuracy(upright_only, Val()) == 50.0
