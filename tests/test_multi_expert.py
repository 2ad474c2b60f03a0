"""Multi-expert methods: RIDE (Wang et al., ICLR 2021) and TADE (Zhang et al., 2021). The rank-reversed
prior, the diverse-expert and RIDE losses, the multi-expert network and its cost, TADE's test-time
aggregation (loss, weight learning with early stop, two strong views) and the parameter defaults, on
tiny hand cases."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn

from ltr.data.loader import TensorBatches, random_crop_flip, random_resized_crop_flip, strong_augment
from ltr.data.split_list import SplitList
from ltr.data.views import LARGE_IMAGE_VIEWS, MOCO_V2, SMALL_IMAGE_VIEWS, StrongView
from ltr.engine.cost import macs_per_image
from ltr.losses.class_balanced import effective_number_weights
from ltr.losses.diverse_experts import DiverseExpertLoss, rank_reversed_prior
from ltr.losses.ldam import LDAMLoss
from ltr.losses.ride import RIDELoss
from ltr.methods.ride.params import RideTrain
from ltr.methods.tade.params import AggregationParams, TadeParams
from ltr.methods.tade.steps import aggregation_loss, learn_weights, plain_mean_top1, reported_logits
from ltr.models import count_parameters, create_model
from ltr.models.multi_expert import MultiExpertNet


def assert_close(actual: torch.Tensor, expected, atol: float = 1e-6) -> None:
    """torch.testing.assert_close without its 1.4 s import of torch.distributed."""
    expected = torch.as_tensor(expected, dtype=actual.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.allclose(actual.detach(), expected, atol=atol, rtol=0.0), (actual, expected)


# ---------------------------------------------------------------- 1. rank-reversed prior


def test_rank_reversed_prior_of_a_sorted_prior_is_the_reversed_prior():
    assert_close(rank_reversed_prior(torch.tensor([0.5, 0.3, 0.2])), [0.2, 0.3, 0.5])


def test_rank_reversed_prior_mirrors_ranks_not_positions():
    prior = torch.tensor([0.2, 0.5, 0.3])
    inv = rank_reversed_prior(prior)
    # ranks (ascending): class 0 -> 0, class 2 -> 1, class 1 -> 2; mirrored: class 1 (most frequent) gets the
    # smallest value 0.2, class 0 (least frequent) the largest 0.5, class 2 (the middle rank) keeps 0.3
    assert_close(inv, [0.5, 0.2, 0.3])
    assert_close(torch.sort(inv).values, torch.sort(prior).values)  # a permutation of the prior
    assert not torch.allclose(inv, 1 / prior)  # 1 / prior = [5, 2, 3.33]
    assert not torch.allclose(inv, prior.flip(0))  # positional reversal would give [0.3, 0.5, 0.2]


# ---------------------------------------------------------------- 2. TADE's diverse-expert loss

PRIOR = torch.tensor([0.8, 0.2])  # rank-reversed: [0.2, 0.8]


def test_diverse_expert_loss_hand_case():
    loss = DiverseExpertLoss(PRIOR, tau=2.0)
    value = loss(torch.zeros(1, 3, 2), torch.tensor([0]))
    # expert 1: CE([0, 0], 0) = log 2 = 0.693147
    # expert 2: CE(log [.8, .2], 0) = -log .8 = 0.223144
    # expert 3: CE([log .8 - 2 log .2, log .2 - 2 log .8], 0) = CE([log 20, log 0.3125], 0)
    #           = log(20.3125 / 20) = log 1.015625 = 0.015504
    # sum = 0.931795
    assert abs(value.item() - 0.931795) < 1e-5


def test_diverse_expert_loss_is_the_plain_sum_of_the_three_terms():
    loss = DiverseExpertLoss(PRIOR, tau=2.0)
    y = torch.tensor([0])
    base = 0.693147 + 0.223144 + 0.015504  # all-zero logits, as above

    def with_expert(e, logits):
        z = torch.zeros(1, 3, 2)
        z[0, e] = torch.tensor(logits)
        return loss(z, y).item()

    # only expert 1 varies: [log 3, 0] -> softmax [.75, .25], CE = log(4/3) = 0.287682 instead of log 2
    assert abs(with_expert(0, [math.log(3), 0.0]) - (base - 0.693147 + 0.287682)) < 1e-5
    # only expert 2 varies: [0, log 4] + log [.8, .2] = [log .8, log .8] -> CE = log 2 instead of 0.223144
    assert abs(with_expert(1, [0.0, math.log(4)]) - (base - 0.223144 + 0.693147)) < 1e-5
    # only expert 3 varies: [-log 20, -log 0.3125] + shift [log 20, log 0.3125] = [0, 0] -> CE = log 2
    assert abs(with_expert(2, [-math.log(20), -math.log(0.3125)]) - (base - 0.015504 + 0.693147)) < 1e-5


# ---------------------------------------------------------------- 3. RIDE's loss

COUNTS = [90, 10]


def _ldam_sum(z: torch.Tensor, y: torch.Tensor, weight=None) -> float:
    ldam = LDAMLoss(COUNTS, 0.5, 30.0)
    return sum(ldam(z[:, e], y, weight=weight).item() for e in range(z.shape[1]))


def _expert_logits() -> torch.Tensor:
    return 3 * torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0))


def test_ride_loss_without_diversity_is_the_sum_of_per_expert_ldam():
    z, y = _expert_logits(), torch.tensor([0, 1, 0, 1, 1])
    loss = RIDELoss(COUNTS, 0.5, 30.0, diversity_weight=0.0)
    assert abs(loss(z, y, reweight=False).item() - _ldam_sum(z, y)) < 1e-5


def test_ride_loss_reweighting_uses_effective_number_weights():
    z, y = _expert_logits(), torch.tensor([0, 1, 0, 1, 1])
    loss = RIDELoss(COUNTS, 0.5, 30.0, diversity_weight=0.0, beta=0.9999)
    weighted = _ldam_sum(z, y, weight=effective_number_weights(COUNTS, 0.9999))
    assert abs(loss(z, y, reweight=True).item() - weighted) < 1e-5
    assert abs(weighted - _ldam_sum(z, y)) > 1e-3  # the weights do change the loss here


def test_ride_diversity_term_vanishes_for_identical_experts():
    z = torch.tensor([[1.0, -2.0], [0.5, 0.5]]).unsqueeze(1).repeat(1, 3, 1)  # (2, 3, 2), experts identical
    y = torch.tensor([0, 1])
    loss = RIDELoss(COUNTS, 0.5, 30.0, diversity_weight=-0.45)
    assert abs(loss(z, y, reweight=False).item() - _ldam_sum(z, y)) < 1e-5
    weighted = _ldam_sum(z, y, weight=effective_number_weights(COUNTS, 0.9999))
    assert abs(loss(z, y, reweight=True).item() - weighted) < 1e-5


def test_ride_diversity_term_rewards_disagreement_hand_case():
    a = math.log(3)
    z = torch.tensor([[[a, 0.0], [-a, 0.0]]])  # two experts; the ensemble mean is [0, 0]
    y = torch.tensor([0])
    loss = RIDELoss(COUNTS, 0.5, 30.0, diversity_weight=-0.45, temperature=1.0)
    # target softmax([0, 0]) = [.5, .5]; expert 1 softmax [.75, .25], expert 2 [.25, .75]
    # KL each = .5 log(.5 / .75) + .5 log(.5 / .25) = .5 log(4/3); two experts: log(4/3)
    # diversity = -0.45 * 1^2 * log(4/3) = -0.129457
    value = loss(z, y, reweight=False).item()
    assert abs(value - (_ldam_sum(z, y) - 0.129457)) < 1e-5
    assert value < _ldam_sum(z, y)


def test_ride_class_temperatures():
    loss = RIDELoss(COUNTS, reweight_factor=0.05, temperature=1.0)
    # prior [.9, .1]; spread = 2 * prior * 0.05 + 0.95 = [1.04, 0.96]; / 1.04 -> [1.0, 0.923077]
    assert_close(loss.class_temperature, [1.0, 0.923077])


# ---------------------------------------------------------------- 4. the multi-expert network


def _net(**kwargs) -> MultiExpertNet:
    torch.manual_seed(0)
    return MultiExpertNet("resnet8", 7, **{"num_experts": 2, **kwargs}).eval()


def test_multi_expert_forward_is_the_mean_of_the_experts():
    net = _net()
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        z = net.expert_logits(x)
        out = net(x)
    assert z.shape == (3, 2, 7)
    assert torch.equal(out, z.mean(dim=1))
    assert not torch.allclose(z[:, 0], z[:, 1])  # the experts start different


def test_multi_expert_trunk_is_shared_and_experts_are_not():
    net = _net()
    assert isinstance(net.trunk, nn.Module)
    assert len(net.branches) == 2 and len(net.heads) == 2
    assert net.branches[0] is not net.branches[1] and net.heads[0] is not net.heads[1]
    ids = [{id(p) for p in m.parameters()} for m in (net.trunk, *net.branches, *net.heads)]
    assert sum(len(s) for s in ids) == len({i for s in ids for i in s})  # no parameter tensor appears twice
    assert sum(len(s) for s in ids) == len(list(net.parameters()))  # nothing outside trunk, branches, heads
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = net.expert_logits(x)
        net.heads[1].weight.mul_(-1)
        after = net.expert_logits(x)
    assert torch.equal(after[:, 0], before[:, 0])
    assert_close(after[:, 1], -before[:, 1], atol=1e-5)  # a cosine head: negated weights negate the logits


def test_multi_expert_reduce_dimension_and_expert_stages():
    assert _net(reduce_dimension=True).out_dim == 48
    assert _net(reduce_dimension=False).out_dim == 64
    two, one = _net(expert_stages=2), _net(expert_stages=1)
    assert len(two.branches[0]) == 2 and len(one.branches[0]) == 1  # resnet8: one block per stage
    assert count_parameters(one.branches[0]) < count_parameters(two.branches[0])
    assert len(one.trunk) > len(two.trunk)  # the trunk keeps the middle stage
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert one.expert_logits(x).shape == (2, 2, 7)


def test_multi_expert_parameter_counts_on_resnet32():
    assert count_parameters(MultiExpertNet("resnet32", 100, 3, True)) == 783_856  # measured
    assert count_parameters(create_model("resnet32", 100)) == 470_004


# ---------------------------------------------------------------- 5. cost


def test_macs_per_image_matches_tade_table_and_restores_mode():
    single = create_model("resnet32", 100).train()
    macs = macs_per_image(single, 32)
    assert 0.06e9 <= macs <= 0.075e9  # TADE's table: 0.07 G for ResNet-32
    assert single.training
    multi = MultiExpertNet("resnet32", 100, 3, True).eval()
    macs = macs_per_image(multi, 32)
    assert 0.09e9 <= macs <= 0.115e9  # TADE: 0.11 G for three reduced experts
    assert not multi.training


# ---------------------------------------------------------------- 6. TADE's aggregation loss


def test_aggregation_loss_is_minus_one_for_identical_views():
    z = 5 * torch.randn(4, 3, 6, generator=torch.Generator().manual_seed(0))
    for w in ([1 / 3, 1 / 3, 1 / 3], [0.7, 0.2, 0.1], [0.0, 0.0, 1.0]):
        weights = torch.tensor(w, requires_grad=True)
        loss = aggregation_loss(weights, z, z.clone())
        assert abs(loss.item() + 1) < 1e-6
        loss.backward()
        assert weights.grad.abs().max() < 1e-5  # cosine 1 is the maximum: a flat point


def test_aggregation_loss_hand_case():
    view1 = torch.tensor([[[math.log(3), 0.0], [9.0, -9.0]]])  # expert 0: softmax [.75, .25]
    view2 = torch.tensor([[[0.0, 0.0], [-9.0, 9.0]]])  # expert 0: uniform [.5, .5]
    loss = aggregation_loss(torch.tensor([1.0, 0.0]), view1, view2)  # expert 1 has weight 0
    # cos = (.75 * .5 + .25 * .5) / (sqrt(.75^2 + .25^2) * sqrt(.5^2 + .5^2)) = .5 / sqrt(.625 * .5) = 2 / sqrt(5)
    #     = 0.894427
    assert abs(loss.item() + 0.894427) < 1e-5


def test_aggregation_loss_gradient_when_experts_disagree_across_views():
    gen = torch.Generator().manual_seed(0)
    z1, z2 = 3 * torch.randn(4, 3, 5, generator=gen), 3 * torch.randn(4, 3, 5, generator=gen)
    weights = torch.tensor([0.5, 0.3, 0.2], requires_grad=True)
    loss = aggregation_loss(weights, z1, z2)
    assert loss.item() > -1 + 1e-3
    loss.backward()
    assert weights.grad.abs().max() > 1e-4


# ---------------------------------------------------------------- 7. learning the aggregation weights

NUM_CLASSES = 5


class OneStableExpert(nn.Module):
    """Expert 0 always predicts class 0 confidently; experts 1 and 2 give new random logits on every call."""

    def __init__(self):
        super().__init__()
        self.gen = torch.Generator().manual_seed(0)

    def expert_logits(self, x: torch.Tensor) -> torch.Tensor:
        b = len(x)
        stable = torch.tensor([4.0] + [0.0] * (NUM_CLASSES - 1)).expand(b, 1, NUM_CLASSES)
        noisy = 4 * torch.randn(b, 2, NUM_CLASSES, generator=self.gen)
        return torch.cat([stable, noisy], dim=1)


def _fake_ctx(calls: list):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.arange(16) % NUM_CLASSES

    def batches(split, bs, augment, shuffle, seed):
        calls.append((split.name, bs, augment, shuffle, seed))
        kwargs = {"batch_size": bs, "mean": [0.5] * 3, "std": [0.25] * 3, "augment": augment}
        return TensorBatches(images, labels, shuffle=shuffle, seed=seed, **kwargs)

    return SimpleNamespace(
        device=torch.device("cpu"),
        seed=0,
        data=SimpleNamespace(
            split=lambda name: SplitList(name, [f"{i}.png" for i in range(16)], labels.numpy().astype(np.int64)),
            batches=batches,
        ),
    )


def test_learn_weights_favours_the_stable_expert():
    calls = []
    model = OneStableExpert().train()
    p = AggregationParams(epochs=2, batch_size=8, stop_below=0.0)
    weights, epochs = learn_weights(_fake_ctx(calls), model, "test", p)
    assert calls == [("test", 8, "tade", True, 0)]
    assert not model.training  # frozen in eval mode
    assert epochs == 2  # nothing can fall below 0: every epoch runs
    assert epochs <= p.epochs
    assert len(weights) == 3 and abs(sum(weights) - 1) < 1e-6
    assert weights[0] > 1 / 3 and weights[0] > max(weights[1:])


def test_learn_weights_stops_after_an_epoch_with_a_small_weight():
    # three weights summing to 1: the smallest, rounded to 2 decimals, is at most 0.33 < 0.34
    p = AggregationParams(epochs=5, batch_size=8, stop_below=0.34)
    weights, epochs = learn_weights(_fake_ctx([]), OneStableExpert(), "test", p)
    assert epochs == 1
    assert abs(sum(weights) - 1) < 1e-6


# ---------------------------------------------------------------- 8. two strong views


def test_tensor_batches_yield_two_different_strong_views_of_the_same_images():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=gen)
    labels = torch.tensor([3, 1, 4, 1, 5, 9])
    kwargs = {"batch_size": 4, "mean": [0.5] * 3, "std": [0.25] * 3}
    strong = list(TensorBatches(images, labels, augment="tade", **kwargs).epoch(0, views=2))
    assert [y.tolist() for _, y in strong] == [[3, 1, 4, 1], [5, 9]]  # no shuffle: the images in order
    for (v1, v2), _ in strong:
        assert v1.shape == v2.shape and v1.shape[1:] == (3, 32, 32)
        assert v1.is_contiguous(memory_format=torch.channels_last)
        assert v2.is_contiguous(memory_format=torch.channels_last)
        assert not torch.allclose(v1, v2)
        # normalised: (0 - 127.5) / 63.75 = -2 .. (255 - 127.5) / 63.75 = 2
        assert v1.min() >= -2 - 1e-5 and v1.max() <= 2 + 1e-5
    # the same images: without augmentation both views are the normalised images themselves
    (c1, c2), _ = next(TensorBatches(images, labels, **kwargs).epoch(0, views=2))
    assert torch.equal(c1, c2)
    assert_close(c1, (images[:4].float() - 127.5) / 63.75, atol=1e-5)


@pytest.mark.parametrize("view", SMALL_IMAGE_VIEWS.values(), ids=list(SMALL_IMAGE_VIEWS))
def test_strong_augment_keeps_shape_and_range(view):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=gen)
    images[0] = 255  # saturated images
    images[1] = 0
    out = strong_augment(images, torch.Generator().manual_seed(1), view)
    assert out.shape == images.shape and out.dtype.is_floating_point
    assert out.min() >= 0 and out.max() <= 255 + 1e-3  # float rounding in the blur may overshoot by ~1e-5
    assert not torch.allclose(out, images.float())


def test_each_use_has_its_originals_view_on_each_path():
    # TADE on CIFAR: pad-crop, blur p 0.2; TADE on ImageNet / Places: RandomResizedCrop(0.2-1), blur p 0.5
    assert SMALL_IMAGE_VIEWS["tade"] == StrongView("pad", blur_p=0.2)
    assert LARGE_IMAGE_VIEWS["tade"] == StrongView("resized", blur_p=0.5, crop_scale=(0.2, 1.0))
    assert SMALL_IMAGE_VIEWS["moco"] is LARGE_IMAGE_VIEWS["moco"] is MOCO_V2  # MoCo v2: one view everywhere
    assert (MOCO_V2.crop, MOCO_V2.blur_p, MOCO_V2.grey_p, MOCO_V2.jitter_p) == ("resized", 0.5, 0.2, 0.8)


@pytest.mark.parametrize("name", ["tade", "moco"])
def test_image_list_transform_is_built_from_the_same_view(name):
    from torchvision import transforms

    from ltr.data.image_loader import image_transform

    view = LARGE_IMAGE_VIEWS[name]
    steps = image_transform(name, 32, 36, [0.5] * 3, [0.25] * 3).transforms
    crop = next(t for t in steps if isinstance(t, transforms.RandomResizedCrop))
    assert crop.scale == view.crop_scale
    applied = {type(t.transforms[0]).__name__: t.p for t in steps if isinstance(t, transforms.RandomApply)}
    assert applied == {"ColorJitter": view.jitter_p, "GaussianBlur": view.blur_p}
    grey = next(t for t in steps if isinstance(t, transforms.RandomGrayscale))
    assert grey.p == view.grey_p


def test_pad_view_without_colour_steps_is_the_training_crop_and_flip():
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    bare = StrongView("pad", blur_p=0.0, jitter_p=0.0, grey_p=0.0)
    out = strong_augment(images, torch.Generator().manual_seed(5), bare)
    assert_close(out, random_crop_flip(images, torch.Generator().manual_seed(5)).float(), atol=1e-3)


def test_random_resized_crop_zooms_into_a_part_of_the_image():
    # each column holds its index x 8: a crop is a monotone ramp (rising, or falling when flipped)
    # inside 0..248, and with areas of at most a quarter no crop spans the whole image
    ramp = (torch.arange(32) * 8).to(torch.uint8).expand(16, 3, 32, 32).contiguous()
    out = random_resized_crop_flip(ramp, torch.Generator().manual_seed(0), (0.1, 0.25))
    row = out[:, 0, 16]
    steps = row.diff(dim=1)
    assert bool(((steps >= -1e-3).all(1) | (steps <= 1e-3).all(1)).all())
    assert row.min() >= 0 and row.max() <= 248 + 1e-3
    span = row.max(1).values - row.min(1).values
    assert bool((span < 0.75 * 248).all()) and bool((span > 0.2 * 248).all())
    constant = torch.full((4, 3, 32, 32), 77, dtype=torch.uint8)
    assert_close(random_resized_crop_flip(constant, torch.Generator(), MOCO_V2.crop_scale), constant.float(), atol=1e-3)


def test_tade_reports_the_expert_mean_and_aggregates_only_the_shifted_splits():
    from ltr.layout import SHIFTED_SPLITS

    gen = torch.Generator().manual_seed(0)
    splits = ["train", "val", "test", "open", *SHIFTED_SPLITS]
    experts = {s: torch.randn(4, 3, 5, generator=gen).numpy() for s in splits}
    weights = {s: [0.2, 0.3, 0.5] for s in ["test", *SHIFTED_SPLITS]}
    weights["test_backward50"] = [0.0, 0.0, 1.0]
    out = reported_logits(experts, weights, SHIFTED_SPLITS)
    for split in ("train", "val", "test", "open"):  # closed.*, open.* and agnostic.uniform: the mean
        assert np.allclose(out[split], experts[split].mean(axis=1), atol=1e-6)
    assert np.allclose(out["test_backward50"], experts["test_backward50"][:, 2], atol=1e-6)
    assert np.allclose(out["test_forward50"], np.einsum("e,nec->nc", [0.2, 0.3, 0.5], experts["test_forward50"]))


def test_tade_plain_mean_top1_is_the_top1_of_the_mean_of_the_experts_logits():
    # two images, two experts, three classes: the mean picks class 2 for the first (mean logits 1, 0.5, 1.5)
    # and class 0 for the second (1.0, 0.0, 0.5), though expert 0 alone would pick class 0 and class 1
    logits = np.array([[[2.0, 1.0, 1.0], [0.0, 0.0, 2.0]], [[0.0, 0.5, 0.0], [2.0, -0.5, 1.0]]], dtype=np.float32)
    assert plain_mean_top1(logits, np.array([2, 0])) == 100.0
    assert plain_mean_top1(logits, np.array([0, 1])) == 0.0
    assert plain_mean_top1(logits, np.array([2, 1])) == 50.0


# ---------------------------------------------------------------- 9. defaults


def test_tade_and_ride_defaults():
    tade = TadeParams()
    assert tade.train.tau == 2.0
    assert tade.logits.test_time.epochs == 5
    assert tade.logits.test_time.stop_below == 0.05
    assert tade.logits.test_time.batch_size == 128
    ride = RideTrain()
    assert ride.diversity_weight == -0.45
    assert ride.reweight_factor == 0.05
    assert ride.max_margin == 0.5
    assert ride.experts == 3
