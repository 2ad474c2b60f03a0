"""Class-balanced experts (Sharma et al., GCPR 2020): class subsets, the "others" sample, the joint
calibration of the experts, its training loop, partly frozen backbones and the parameter defaults, on
tiny hand cases."""

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import REPO
from ltr.data.split_list import SplitList
from ltr.methods.experts.params import CalibrationParams, ExpertsParams
from ltr.methods.experts.steps import build_expert, expert_split, fit_calibration, subset_classes
from ltr.metrics.groups import shot_groups
from ltr.models import FrozenBackbone, create_backbone, train_last_stages
from ltr.models.calibration import JointCalibration


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float = 1e-6, rtol: float = 0.0) -> None:
    """torch.testing.assert_close without its 1.4 s import of torch.distributed."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.allclose(actual.detach(), expected, atol=atol, rtol=rtol), (actual, expected)


# ---------------------------------------------------------------- 1. class subsets

COUNTS = [150, 100, 99, 20, 19, 5]


def test_subset_classes_use_the_experts_thresholds():
    many = subset_classes(COUNTS, "many", 100, 20)
    medium = subset_classes(COUNTS, "medium", 100, 20)
    few = subset_classes(COUNTS, "few", 100, 20)
    assert many == [0, 1]  # 150, 100 >= 100
    assert medium == [2, 3]  # 20 <= 99, 20 < 100
    assert few == [4, 5]  # 19, 5 < 20
    assert sorted(many + medium + few) == list(range(6))  # a partition: disjoint and covering


def test_subset_boundaries_differ_from_the_shot_groups():
    # n = 100 is many for the experts but medium under the strict shot-group rule (many n > 100);
    # n = 20 is medium for the experts but few under OLTR's rule (few n <= 20)
    assert 1 in subset_classes(COUNTS, "many", 100, 20)
    assert shot_groups(COUNTS, 100, 20, "strict")[1] == "medium"
    assert 3 in subset_classes(COUNTS, "medium", 100, 20)
    assert shot_groups(COUNTS, 100, 20, "oltr")[3] == "few"


# ---------------------------------------------------------------- 2. expert_split


def make_split(per_class: dict[int, int]) -> SplitList:
    """Images interleaved across classes (label order is not sorted), one open image (-1) in the middle."""
    paths, labels = [], []
    for i in range(max(per_class.values())):
        for c, n in per_class.items():
            if i < n:
                paths.append(f"c{c}/{i}.png")
                labels.append(c)
        if i == 2:
            paths.append("open/0.png")
            labels.append(-1)
    return SplitList("train", paths, np.asarray(labels, dtype=np.int64))


def class_of(path: str) -> int:
    return -1 if path.startswith("open/") else int(path.split("/")[0][1:])


def test_expert_split_sizes_and_others():
    split = make_split({0: 10, 1: 10, 2: 10})
    out = expert_split(split, [0], 4.0, np.random.RandomState(0))
    assert len(out.paths) == 12  # 10 in-subset images + 10 // 4 = 2 others
    assert len(set(out.paths)) == len(out.paths)  # no path repeats
    assert out.labels.dtype == np.int64
    assert out.labels.tolist() == [0] * 10 + [1] * 2  # others get label K = 1
    assert {class_of(p) for p in out.paths[:10]} == {0}
    assert {class_of(p) for p in out.paths[10:]} <= {1, 2}  # never class 0, never the open image
    assert out.name == "train"


def test_expert_split_others_depend_only_on_the_seed():
    split = make_split({0: 10, 1: 10, 2: 10})

    def others(seed):
        return expert_split(split, [0], 4.0, np.random.RandomState(seed)).paths[10:]

    assert others(7) == others(7)
    # 20 candidates, 2 drawn: 190 possible pairs; over seeds 0..9 the draw is not always the same pair
    assert len({tuple(others(seed)) for seed in range(10)}) > 1


def test_expert_split_caps_others_at_the_images_outside():
    # 10 // 1 = 10 others asked for, only 5 class-1 images outside (the open image does not count)
    split = make_split({0: 10, 1: 5})
    out = expert_split(split, [0], 1.0, np.random.RandomState(0))
    assert out.labels.tolist() == [0] * 10 + [1] * 5
    assert sorted(out.paths[10:]) == sorted(f"c1/{i}.png" for i in range(5))


def test_expert_split_remaps_labels_in_class_order():
    split = make_split({0: 10, 1: 10, 2: 10})
    out = expert_split(split, [0, 2], 4.0, np.random.RandomState(0))
    assert len(out.paths) == 25  # 20 in-subset + 20 // 4 = 5 others
    expected = {0: 0, 2: 1, 1: 2}  # class 0 -> 0, class 2 -> 1, others (class 1) -> K = 2
    assert [expected[class_of(p)] for p in out.paths] == out.labels.tolist()
    assert (out.labels == 2).sum() == 5
    assert len(set(out.paths)) == 25


# ---------------------------------------------------------------- 3-5. joint calibration


def test_joint_calibration_hand_case():
    cal = JointCalibration([[0, 1], [2]], [1.0, 1.0], 3)
    # reject shift log((1 + 1) / 2) = 0 for both experts
    assert torch.equal(cal.reject_shift_0, torch.zeros(3))
    assert torch.equal(cal.reject_shift_1, torch.zeros(2))
    # A: softmax(1 * [0, 0, 0] + 1) = [1/3, 1/3, 1/3] -> [1/3, 1/3]; B: softmax([1, 1]) = [1/2, 1/2] -> [1/2]
    # fused [1/3, 1/3, 1/2], sum 7/6 -> [2/7, 2/7, 3/7]
    out = cal([torch.zeros(1, 3), torch.zeros(1, 2)])
    assert out.shape == (1, 3)
    assert_close(out.exp(), torch.tensor([[2 / 7, 2 / 7, 3 / 7]]))


def test_joint_calibration_places_each_expert_at_its_classes():
    # A covers classes 2 and 0 (listed in that order), B covers class 1; A's first logit is raised by log 3:
    # A: softmax([1 + log 3, 1, 1]) = [3/5, 1/5, 1/5] -> class 2: 3/5, class 0: 1/5; B: [1/2, 1/2] -> class 1: 1/2
    # fused [1/5, 1/2, 3/5], sum 13/10 -> [2/13, 5/13, 6/13]
    cal = JointCalibration([[2, 0], [1]], [1.0, 1.0], 3)
    out = cal([torch.tensor([[math.log(3), 0.0, 0.0]]), torch.zeros(1, 2)])
    assert_close(out.exp(), torch.tensor([[2 / 13, 5 / 13, 6 / 13]]))


def test_reject_shift_moves_the_others_prior():
    cal = JointCalibration([[0], [1]], [15.0, 1.0], 2)
    # log((1 + 15) / 2) = log 8 on the reject logit only
    assert_close(cal.reject_shift_0, torch.tensor([0.0, math.log(8)]))
    # A: softmax([1, 1 + log 8]) = [1/9, 8/9] -> class 0: 1/9; B: softmax([1, 1]) -> class 1: 1/2
    # fused [1/9, 1/2], sum 11/18 -> [2/11, 9/11]
    out = cal([torch.zeros(1, 2), torch.zeros(1, 2)])
    assert_close(out.exp(), torch.tensor([[2 / 11, 9 / 11]]))


def test_reject_shift_is_scaled_by_the_temperature():
    # a = 2 on A's reject logit: 2 * (0 + log 8) + 1 = 1 + log 64 -> softmax [1/65, 64/65] -> class 0: 1/65;
    # fused [1/65, 1/2], sum 67/130 -> [2/67, 65/67]
    cal = JointCalibration([[0], [1]], [15.0, 1.0], 2)
    with torch.no_grad():
        cal.temperature[0][1] = 2.0
    out = cal([torch.zeros(1, 2), torch.zeros(1, 2)])
    assert_close(out.exp(), torch.tensor([[2 / 67, 65 / 67]]))


CLASS_LISTS = [[0, 3, 5], [1, 6], [2, 4]]  # 7 classes, experts of 3 + 1, 2 + 1, 2 + 1 outputs


def random_logits(n: int, reject: float | None = None) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    logits = [torch.randn(n, len(c) + 1, generator=gen) * 3 for c in CLASS_LISTS]
    if reject is not None:
        for z in logits:
            z[:, -1] = reject
    return logits


@pytest.mark.parametrize("reject", [None, 50.0])
def test_others_is_never_predicted(reject):
    cal = JointCalibration(CLASS_LISTS, [16.0, 16.0, 16.0], 7)
    with torch.no_grad():
        out = cal(random_logits(32, reject))
    assert out.shape == (32, 7)  # no reject column
    assert torch.isfinite(out).all()
    assert_close(out.exp().sum(1), torch.ones(32))
    pred = out.argmax(1)
    assert ((pred >= 0) & (pred < 7)).all()


def test_huge_reject_logits_keep_the_class_ranking():
    # every reject logit +50: the classes still compete; a clear class logit in expert A (class 3) wins
    logits = random_logits(4, 50.0)
    logits[0][:, 1] = 20.0  # A's second class: class 3
    cal = JointCalibration(CLASS_LISTS, [16.0, 16.0, 16.0], 7)
    with torch.no_grad():
        out = cal(logits)
    assert torch.isfinite(out).all()
    assert out.argmax(1).tolist() == [3, 3, 3, 3]


# ---------------------------------------------------------------- 6. fit_calibration


def synthetic_val(n_per_class: int = 10):
    """6 classes, experts [0, 1], [2, 3], [4, 5]; the expert covering the true class raises it by 3, and the
    last expert is overconfident (logits x 4) so the uncalibrated fusion makes mistakes."""
    gen = torch.Generator().manual_seed(1)
    class_lists = [[0, 1], [2, 3], [4, 5]]
    labels = torch.arange(6).repeat_interleave(n_per_class)
    logits = [torch.randn(len(labels), 3, generator=gen) for _ in class_lists]
    for i, y in enumerate(labels.tolist()):
        e, k = divmod(y, 2)
        logits[e][i, k] += 3.0
    logits[2] = logits[2] * 4
    return class_lists, logits, labels


def accuracy(cal, logits, labels) -> float:
    with torch.no_grad():
        return (cal(logits).argmax(1) == labels).float().mean().item()


def test_fit_calibration_improves_and_keeps_the_best_epoch():
    class_lists, logits, labels = synthetic_val()
    cal = JointCalibration(class_lists, [16.0, 16.0, 16.0], 6)
    before = accuracy(cal, logits, labels)
    assert before < 1.0  # there is something to learn
    p = CalibrationParams(epochs=20, lr=0.1, batch_size=16, step_size=30, patience=30)
    info = fit_calibration(cal, logits, labels, p, seed=0)
    assert set(info) == {"calibration_epoch", "calibration_val_top1"}
    assert 1 <= info["calibration_epoch"] <= 20
    assert info["calibration_val_top1"] >= round(100 * before, 3)
    # the module is left in the best epoch's state
    assert info["calibration_val_top1"] == round(100 * accuracy(cal, logits, labels), 3)


def test_gradients_reach_temperature_and_bias():
    class_lists, logits, labels = synthetic_val(2)
    cal = JointCalibration(class_lists, [16.0, 16.0, 16.0], 6)
    F.nll_loss(cal(logits), labels).backward()
    for param in [*cal.temperature, *cal.bias]:
        assert param.grad is not None and param.grad.abs().sum() > 0
    # one SGD step without weight decay (so only the gradient moves them) changes every parameter vector
    cal.zero_grad()
    p = CalibrationParams(epochs=1, lr=0.1, batch_size=len(labels), weight_decay=0.0)
    fit_calibration(cal, logits, labels, p, seed=0)
    for param in [*cal.temperature, *cal.bias]:
        assert not torch.equal(param.detach(), torch.ones_like(param))


# ---------------------------------------------------------------- 7. train_last_stages


def trainable(module) -> set[int]:
    return {id(p) for p in module.parameters() if p.requires_grad}


def test_train_last_stages_all():
    backbone = create_backbone("resnet8")
    out = train_last_stages(backbone, -1)
    assert out is backbone
    assert all(p.requires_grad for p in out.parameters())


def test_train_last_stages_none_freezes_the_backbone():
    out = train_last_stages(create_backbone("resnet8"), 0)
    assert isinstance(out, FrozenBackbone)
    assert trainable(out) == set()
    assert out.out_dim == 64


def test_train_last_stages_last_stage_only():
    backbone = create_backbone("resnet8")
    out = train_last_stages(backbone, 1)
    assert out is backbone
    stages = backbone.residual_stages()
    assert trainable(out) == {id(p) for p in stages[-1].parameters()}
    assert len(trainable(out)) > 0
    for frozen in (backbone.conv1, backbone.bn1, stages[0], stages[1]):
        assert not any(p.requires_grad for p in frozen.parameters())


# ---------------------------------------------------------------- 8. build_expert


def test_build_expert_has_a_reject_output_and_the_given_backbone():
    source = create_backbone("resnet8")
    with torch.no_grad():
        source.conv1.weight.fill_(0.25)
    state = source.state_dict()
    torch.manual_seed(3)
    model = build_expert("resnet8", 4, -1, state)
    assert model.head.out_features == 5  # K + 1
    assert model.head.in_features == 64
    assert torch.equal(model.backbone.conv1.weight, state["conv1.weight"])
    # the head is freshly initialised: the same draw as a new backbone followed by a new Linear(64, 5)
    torch.manual_seed(3)
    create_backbone("resnet8")
    fresh = torch.nn.Linear(64, 5)
    assert torch.equal(model.head.weight, fresh.weight)
    assert torch.equal(model.head.bias, fresh.bias)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 5)


def test_build_expert_classifier_only_freezes_the_loaded_backbone():
    source = create_backbone("resnet8")
    with torch.no_grad():
        source.conv1.weight.fill_(0.5)
    model = build_expert("resnet8", 2, 0, source.state_dict())
    assert isinstance(model.backbone, FrozenBackbone)
    assert torch.all(model.backbone.backbone.conv1.weight == 0.5)
    assert trainable(model) == {id(model.head.weight), id(model.head.bias)}
    assert model.head.out_features == 3  # K + 1


# ---------------------------------------------------------------- 9. defaults


def test_experts_params_defaults():
    p = ExpertsParams()
    assert (p.many_threshold, p.few_threshold) == (100, 20)
    assert [e.open_ratio for e in (p.many, p.medium, p.few)] == [16.0, 16.0, 16.0]
    assert [e.train_stages for e in (p.many, p.medium, p.few)] == [-1, 1, 0]
    c = p.logits.calibration
    assert (c.lr, c.step_size, c.patience, c.weight_decay) == (0.1, 30, 30, 5e-4)


def test_the_experts_lr_is_the_originals_per_image_rate():
    """The original trains every expert at lr 0.1 for a batch of 256; scaled linearly, lr / batch stays
    0.1 / 256, in the defaults and in params.yaml."""
    from ltr.config import load_config
    from ltr.methods import check_all
    from ltr.methods import section as method_section

    for section in (ExpertsParams(), method_section(check_all(load_config(REPO / "params.yaml")), "experts")):
        for subset in ("many", "medium", "few"):
            expert = getattr(section, subset)
            assert expert.lr / expert.batch_size == pytest.approx(0.1 / 256), subset


def test_the_few_shot_expert_sees_every_training_image_in_an_epoch(tiny_copy, monkeypatch):
    """The original's DataLoader keeps the last, partial batch: every image of the expert's subset (and
    of its "others" sample) is in each epoch, not only the full batches'."""
    from ltr.config import load_config
    from ltr.methods import section
    from ltr.pipeline import stage_context

    monkeypatch.chdir(tiny_copy)
    cfg = load_config()
    ctx = stage_context(cfg, "experts@few")
    p = section(cfg, "experts")
    classes = subset_classes(ctx.data.meta["train_counts"], "few", 30, 10)  # the tiny repository's thresholds
    train = expert_split(ctx.data.split("train"), classes, p.few.open_ratio, np.random.RandomState(0))
    batch_size = 8
    assert len(train.labels) % batch_size >= 2, "the tiny subset must leave a partial batch to test"
    schedule = dataclasses.replace(p.few, batch_size=batch_size)
    seen = [len(y) for _, y in ctx.data.train_batches(schedule, ctx.seed, train).epoch(0)]
    assert sum(seen) == len(train.labels) and seen[-1] == len(train.labels) % batch_size
    assert ctx.data.steps_per_epoch(schedule, train) == len(seen)
