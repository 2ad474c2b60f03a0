"""Unit tests of the long-tailed baselines: their losses, heads, post-hoc corrections, samplers and
method registrations. Every expected value is worked out by hand in a comment next to it."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.config import build_section, parse_config
from ltr.data.samplers import ClassAwareSampler
from ltr.errors import LtrError
from ltr.losses.balanced_softmax import BalancedSoftmaxLoss
from ltr.losses.class_balanced import effective_number_weights
from ltr.losses.ldam import LDAMLoss
from ltr.methods import check_all, method_names, section, spec
from ltr.methods.balanced_softmax import steps as balanced_softmax
from ltr.methods.crt import steps as crt
from ltr.methods.ldam_drw import steps as ldam_drw
from ltr.methods.logit_adjust import steps as logit_adjust
from ltr.methods.logit_adjust.steps import adjust
from ltr.methods.lws import steps as lws
from ltr.methods.shared import retraining as classifier_retraining
from ltr.methods.tau_norm import steps as tau_norm
from ltr.methods.tau_norm.params import TauNormLogits
from ltr.methods.tau_norm.steps import TAU_GRID, tau_normalized_logits
from ltr.models import Classifier, FrozenBackbone, create_backbone
from ltr.models.heads import NormedLinear, ScaledLinear

# -- 1. Balanced Softmax ---------------------------------------------------------------------------------


def test_balanced_softmax_hand_case():
    loss = BalancedSoftmaxLoss(torch.tensor([0.75, 0.25]))
    logits = torch.tensor([[0.0, 0.0]])
    # shifted logits = log prior = [log .75, log .25]; softmax = prior
    # label 1: -log(0.25 / (0.75 + 0.25)) = log 4 = 1.3862944
    assert loss(logits, torch.tensor([1])).item() == pytest.approx(1.3862944, abs=1e-6)
    # label 0: -log(0.75) = log(4/3) = 0.2876821
    assert loss(logits, torch.tensor([0])).item() == pytest.approx(0.2876821, abs=1e-6)


def test_balanced_softmax_tau_zero_is_cross_entropy():
    torch.manual_seed(0)
    logits, labels = torch.randn(5, 3), torch.tensor([0, 1, 2, 2, 0])
    loss = BalancedSoftmaxLoss(torch.tensor([0.7, 0.2, 0.1]), tau=0.0)
    # shift = 0 * log(prior) = 0
    assert torch.allclose(loss(logits, labels), F.cross_entropy(logits, labels), atol=1e-6)


def test_balanced_softmax_uniform_prior_is_cross_entropy():
    torch.manual_seed(0)
    logits, labels = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 0])
    loss = BalancedSoftmaxLoss(torch.full((4,), 0.25))
    # the shift log(1/4) is the same for every class, and softmax ignores a constant shift
    assert torch.allclose(loss(logits, labels), F.cross_entropy(logits, labels), atol=1e-6)


def test_balanced_softmax_non_uniform_prior_differs_from_cross_entropy():
    logits, labels = torch.tensor([[0.0, 0.0]]), torch.tensor([1])
    loss = BalancedSoftmaxLoss(torch.tensor([0.75, 0.25]))
    # CE = log 2 = 0.693; balanced = log 4 = 1.386
    assert loss(logits, labels).item() > F.cross_entropy(logits, labels).item() + 0.5


# -- 2. LDAM ---------------------------------------------------------------------------------------------


def test_ldam_margins():
    loss = LDAMLoss([16, 1], max_margin=0.5, scale=2.0)
    # n^-1/4 = [16^-1/4, 1] = [0.5, 1]; scaled so the max is 0.5: [0.25, 0.5]; times s = 2: [0.5, 1.0]
    assert torch.allclose(loss.margins, torch.tensor([0.5, 1.0]), atol=1e-6)


def test_ldam_hand_case_label_0():
    loss = LDAMLoss([16, 1], max_margin=0.5, scale=2.0)
    # shifted [[1 - 0.5, 0]] -> -log(e^0.5 / (e^0.5 + 1)) = log(1 + e^-0.5) = 0.4740770
    assert loss(torch.tensor([[1.0, 0.0]]), torch.tensor([0])).item() == pytest.approx(0.4740770, abs=1e-6)


def test_ldam_hand_case_label_1():
    loss = LDAMLoss([16, 1], max_margin=0.5, scale=2.0)
    # shifted [[1, 0 - 1]] -> -log(e^-1 / (e^1 + e^-1)) = log(1 + e^2) = 2.1269280
    assert loss(torch.tensor([[1.0, 0.0]]), torch.tensor([1])).item() == pytest.approx(2.1269280, abs=1e-6)


def test_ldam_weighted_mean():
    loss = LDAMLoss([16, 1], max_margin=0.5, scale=2.0)
    logits, labels = torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([0, 1])
    weight = torch.tensor([2.0, 3.0])
    # F.cross_entropy: sum(w_y * l) / sum(w_y) = (2 * 0.4740770 + 3 * 2.1269280) / (2 + 3) = 7.3289380 / 5 = 1.4657876
    assert loss(logits, labels, weight=weight).item() == pytest.approx(1.4657876, abs=1e-6)
    # unweighted: (0.4740770 + 2.1269280) / 2 = 1.3005025
    assert loss(logits, labels).item() == pytest.approx(1.3005025, abs=1e-6)


def test_ldam_only_the_target_logit_moves():
    loss = LDAMLoss([16, 1, 81], max_margin=0.5, scale=2.0)
    # n^-1/4 = [0.5, 1, 1/3]; / max 1 * 0.5 * s 2 -> margins [0.5, 1, 1/3]
    logits = torch.tensor([[0.3, -0.2, 0.7]], requires_grad=True)
    value = loss(logits, torch.tensor([1]))
    value.backward()
    # label 1 (margin 1): shifted = [0.3, -0.2 - 1, 0.7] = [0.3, -1.2, 0.7]; the others are untouched
    manual = torch.tensor([[0.3, -1.2, 0.7]])
    assert value.item() == pytest.approx(F.cross_entropy(manual, torch.tensor([1])).item(), abs=1e-6)
    # d loss / d z = softmax(shifted) - one_hot(y)
    expected_grad = torch.softmax(manual, dim=1) - torch.tensor([[0.0, 1.0, 0.0]])
    assert torch.allclose(logits.grad, expected_grad, atol=1e-6)
    # the logits themselves are not modified in place
    assert torch.equal(logits.detach(), torch.tensor([[0.3, -0.2, 0.7]]))


# -- 3. effective-number weights -------------------------------------------------------------------------


def test_effective_number_weights_hand_case():
    # raw: (1 - .5) / (1 - .5^1) = 1, (1 - .5) / (1 - .5^2) = 2/3; sum 5/3; * 2 / (5/3) -> [1.2, 0.8]
    weights = effective_number_weights([1, 2], beta=0.5)
    assert weights.dtype == torch.float32
    assert torch.allclose(weights, torch.tensor([1.2, 0.8]), atol=1e-6)


def test_effective_number_weights_equal_counts_are_ones():
    # equal counts give equal raw weights, normalised to sum to 3 -> [1, 1, 1]
    assert torch.allclose(effective_number_weights([7, 7, 7], beta=0.9), torch.ones(3), atol=1e-6)


# -- 4. NormedLinear -------------------------------------------------------------------------------------


def test_normed_linear_is_scaled_cosine():
    head = NormedLinear(2, 2)
    assert head.weight.shape == (2, 2)  # (dim, classes)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))  # columns [1, 0] and [0, 1]
    x = torch.tensor([[3.0, 4.0]])
    # x / |x| = [0.6, 0.8]; cosines with the unit columns [0.6, 0.8]; * 30 -> [18, 24]
    assert torch.allclose(head(x), torch.tensor([[18.0, 24.0]]), atol=1e-5)
    assert torch.allclose(head(5 * x), torch.tensor([[18.0, 24.0]]), atol=1e-5)


def test_normed_linear_ignores_column_norms():
    head = NormedLinear(2, 2, scale=10.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[7.0, 0.0], [0.0, 0.1]]))  # columns [7, 0] and [0, 0.1]
    # unit columns [1, 0], [0, 1]; x / |x| = [0.6, 0.8]; * 10 -> [6, 8]
    assert torch.allclose(head(torch.tensor([[3.0, 4.0]])), torch.tensor([[6.0, 8.0]]), atol=1e-5)


# -- 5. ScaledLinear -------------------------------------------------------------------------------------


def test_scaled_linear_starts_as_the_wrapped_linear():
    torch.manual_seed(0)
    linear = nn.Linear(3, 2)
    head = ScaledLinear(linear)
    x = torch.randn(4, 3)
    assert torch.equal(head.scales.detach(), torch.ones(2))
    assert torch.equal(head(x), linear(x))  # * 1 exactly


def test_scaled_linear_scales_each_class():
    torch.manual_seed(0)
    linear = nn.Linear(3, 2)
    head = ScaledLinear(linear)
    x = torch.randn(4, 3)
    with torch.no_grad():
        head.scales.copy_(torch.tensor([2.0, 0.5]))
    base = linear(x)
    out = head(x)
    assert torch.allclose(out[:, 0], 2.0 * base[:, 0])
    assert torch.allclose(out[:, 1], 0.5 * base[:, 1])


def test_scaled_linear_trains_only_the_scales():
    head = ScaledLinear(nn.Linear(3, 2))
    assert not head.linear.weight.requires_grad and not head.linear.bias.requires_grad
    assert [name for name, p in head.named_parameters() if p.requires_grad] == ["scales"]


# -- 6. FrozenBackbone -----------------------------------------------------------------------------------


def test_frozen_backbone_keeps_its_weights_and_re_estimates_batchnorm_statistics():
    """As cRT's original: train() on every network, no gradients into the backbone, so its weights stay
    and its BatchNorm statistics move to the batches it sees; in eval mode nothing changes."""
    torch.manual_seed(0)
    frozen = FrozenBackbone(create_backbone("resnet8"))
    model = Classifier(frozen, nn.Linear(frozen.out_dim, 3))
    backbone_before = {k: v.clone() for k, v in frozen.backbone.state_dict().items()}
    head_before = model.head.weight.detach().clone()
    assert any("running_mean" in k for k in backbone_before) and any("running_var" in k for k in backbone_before)

    model.train()
    assert model.training and model.head.training and frozen.backbone.training
    x, y = torch.randn(4, 3, 32, 32) * 3 + 1, torch.tensor([0, 1, 2, 0])
    F.cross_entropy(model(x), y).backward()
    # one plain SGD step with weight decay over every parameter that got a gradient, as torch.optim.SGD
    # does (written out: constructing a torch.optim optimizer first imports torch._dynamo, ~2 s)
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= 0.5 * (p.grad + 5e-4 * p)

    after = frozen.backbone.state_dict()
    statistics = [k for k in backbone_before if "running_" in k or "num_batches_tracked" in k]
    for key, value in backbone_before.items():
        if key in statistics:
            assert not torch.equal(after[key], value), key
        else:
            assert torch.equal(after[key], value), key
    assert all(p.grad is None for p in frozen.backbone.parameters())
    assert all(not p.requires_grad for p in frozen.backbone.parameters())
    assert model.head.weight.grad is not None
    assert not torch.equal(model.head.weight.detach(), head_before)

    model.eval()
    before_eval = {k: v.clone() for k, v in frozen.backbone.state_dict().items()}
    with torch.no_grad():
        model(x)
    assert all(torch.equal(frozen.backbone.state_dict()[k], v) for k, v in before_eval.items())


# -- 7. tau-normalisation --------------------------------------------------------------------------------


def test_tau_zero_gives_the_stage1_logits_without_the_bias():
    torch.manual_seed(0)
    features, weight = torch.randn(5, 4), torch.randn(3, 4)
    assert torch.equal(tau_normalized_logits(features, weight, 0.0), features @ weight.T)


def test_tau_one_hand_case():
    weight = torch.tensor([[3.0, 4.0], [0.0, 2.0]])  # row norms 5 and 2
    features = torch.tensor([[1.0, 1.0]])
    # [(3 + 4) / 5, (0 + 2) / 2] = [1.4, 1.0]
    assert torch.allclose(tau_normalized_logits(features, weight, 1.0), torch.tensor([[1.4, 1.0]]), atol=1e-6)


def test_tau_half_hand_case():
    weight = torch.tensor([[3.0, 4.0], [0.0, 4.0]])  # row norms 5 and 4 -> ^0.5: sqrt 5 and 2
    features = torch.tensor([[1.0, 1.0]])
    # [7 / sqrt(5), 4 / 2] = [3.1304952, 2.0]
    out = tau_normalized_logits(features, weight, 0.5)
    assert torch.allclose(out, torch.tensor([[3.1304952, 2.0]]), atol=1e-6)


def test_tau_norm_logits_ignore_the_stage1_bias(monkeypatch):
    """The logits step on a stage-1 head with a large bias scores exactly f . w / |w|^tau."""
    features = np.array([[1.0, 1.0], [2.0, 0.0]], dtype=np.float32)
    head = {"head.weight": torch.tensor([[3.0, 4.0], [0.0, 2.0]]), "head.bias": torch.tensor([100.0, -100.0])}

    class Models:
        def stage1_predictions(self):
            return {"test": (None, features)}

        def checkpoint(self, stage):
            return {"state_dict": head}

        def cost(self, *stages):
            return {}

    ctx = type("Ctx", (), {"models": Models()})()
    out = tau_norm.logits(ctx, type("P", (), {"logits": TauNormLogits(tau=1.0)})())
    assert np.allclose(out.logits["test"], [[1.4, 1.0], [1.2, 0.0]], atol=1e-6)


def test_tau_grid():
    # 0, 0.1, ..., 2.0: 21 values
    assert len(TAU_GRID) == 21
    assert TAU_GRID[0] == 0.0 and TAU_GRID[-1] == 2.0
    assert np.allclose(np.diff(TAU_GRID), 0.1)


# -- 8. tau-norm's tau -----------------------------------------------------------------------------------


def test_tau_norm_params_accepts_auto_and_non_negative_numbers():
    assert TauNormLogits().tau == "auto"
    assert TauNormLogits(tau="auto").tau == "auto"
    assert TauNormLogits(tau=0.7).tau == 0.7
    assert TauNormLogits(tau=0).tau == 0


@pytest.mark.parametrize("tau", [-1, -0.1, "best", ""])
def test_tau_norm_params_refuses_bad_values(tau):
    with pytest.raises(LtrError, match="tau_norm.logits.tau"):
        TauNormLogits(tau=tau)


def test_tau_norm_params_through_build_section():
    number = build_section(TauNormLogits, {"tau": 0.5}, "tau_norm.logits")
    assert isinstance(number.tau, float) and number.tau == 0.5
    integer = build_section(TauNormLogits, {"tau": 1}, "tau_norm.logits")  # an int is coerced to float
    assert isinstance(integer.tau, float) and integer.tau == 1.0
    assert build_section(TauNormLogits, {"tau": "auto"}, "tau_norm.logits").tau == "auto"
    assert build_section(TauNormLogits, None, "tau_norm.logits").tau == "auto"
    with pytest.raises(LtrError):
        build_section(TauNormLogits, {"tau": -1}, "tau_norm.logits")
    with pytest.raises(LtrError):
        build_section(TauNormLogits, {"tau": "best"}, "tau_norm.logits")


def test_tau_norm_params_through_parse_config():
    cfg = parse_config({"method": "tau_norm", "tau_norm": {"logits": {"tau": 0.5}}})
    assert section(cfg).logits == TauNormLogits(tau=0.5)
    with pytest.raises(LtrError):
        check_all(parse_config({"method": "tau_norm", "tau_norm": {"logits": {"tau": "best"}}}))


# -- 9. post-hoc logit adjustment ------------------------------------------------------------------------


def test_logit_adjust_uniform_prior_shifts_by_log_c():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 3))
    out = adjust(logits, np.full(3, 1 / 3), 1.0)
    # - log(1/3) = log 3 = 1.0986123 added to every logit
    assert np.allclose(out - logits, 1.0986123, atol=1e-6)
    assert np.array_equal(out.argmax(1), logits.argmax(1))


def test_logit_adjust_flips_a_head_prediction():
    out = adjust(np.array([[1.0, 0.0]]), np.array([0.9, 0.1]), 1.0)
    # [1 - log 0.9, 0 - log 0.1] = [1.1053605, 2.3025851]
    assert np.allclose(out, [[1.1053605, 2.3025851]], atol=1e-6)
    assert out.argmax(1).tolist() == [1]


def test_logit_adjust_tau_scales_the_shift():
    out = adjust(np.array([[1.0, 0.0]]), np.array([0.9, 0.1]), 0.5)
    # [1 - 0.5 log 0.9, 0 - 0.5 log 0.1] = [1.0526803, 1.1512925]
    assert np.allclose(out, [[1.0526803, 1.1512925]], atol=1e-6)


def test_logit_adjust_tau_zero_is_identity():
    logits = np.array([[1.0, 0.0], [-2.0, 3.5]])
    assert np.array_equal(adjust(logits, np.array([0.9, 0.1]), 0.0), logits)


# -- 10. class-balanced sampling -------------------------------------------------------------------------

LABELS = np.array([0] * 50 + [1] * 5 + [2] * 1)  # class sizes [50, 5, 1]


def _class_counts(indices: torch.Tensor) -> list[int]:
    return np.bincount(LABELS[indices.numpy()], minlength=3).tolist()


def test_class_balanced_sampling_per_class_1():
    sampler = ClassAwareSampler(LABELS, num_classes=3, per_class=1, num_samples=30)
    indices = sampler(torch.Generator().manual_seed(0))
    assert indices.shape == (30,)
    # 30 draws over a cycle of 3 classes: 10 cycles, each class once per cycle
    assert _class_counts(indices) == [10, 10, 10]
    # the 5 images of class 1 are each taken exactly twice (10 draws over a 5-image cycle)
    assert np.bincount(indices.numpy(), minlength=56)[50:55].tolist() == [2, 2, 2, 2, 2]


def test_class_aware_sampling_per_class_4():
    sampler = ClassAwareSampler(LABELS, num_classes=3, per_class=4, num_samples=24)
    indices = sampler(torch.Generator().manual_seed(1))
    # 24 / 4 = 6 class draws = 2 cycles over 3 classes -> 2 * 4 = 8 of each class
    assert _class_counts(indices) == [8, 8, 8]
    # images come in runs of 4 of one class
    runs = LABELS[indices.numpy()].reshape(6, 4)
    assert (runs == runs[:, :1]).all()


def test_class_aware_sampling_is_reproducible_from_the_generator():
    sampler = ClassAwareSampler(LABELS, num_classes=3, per_class=1, num_samples=30)
    first = sampler(torch.Generator().manual_seed(3))
    assert torch.equal(first, sampler(torch.Generator().manual_seed(3)))


# -- 11. method registrations ----------------------------------------------------------------------------


def test_classifier_retraining_methods_train_in_stage2():
    for name, module in (("crt", crt), ("lws", lws)):
        assert hasattr(module, "train_stage2")
        assert spec(name).trained_in == ("stage1", "stage2")


def test_post_hoc_methods_do_not_train():
    for name, module in (("tau_norm", tau_norm), ("logit_adjust", logit_adjust)):
        assert not hasattr(module, "train_stage2")
        assert spec(name).trained_in == ("stage1",)


def test_from_scratch_methods_train_only_in_stage2():
    for name, module in (("balanced_softmax", balanced_softmax), ("ldam_drw", ldam_drw)):
        assert hasattr(module, "train_stage2")
        assert spec(name).trained_in == ("stage2",)


def test_registry_lists_softmax_first_and_every_baseline():
    names = list(method_names())
    assert names[0] == "softmax"
    expected = {"softmax", "balanced_softmax", "crt", "ldam_drw", "logit_adjust", "lws", "oltr", "tau_norm"}
    assert expected <= set(names)
    assert names[1:] == sorted(names[1:])  # the rest alphabetical


# -- 12. cRT's new head ----------------------------------------------------------------------------------


def test_crt_new_linear_is_a_fresh_linear_of_the_same_shape():
    torch.manual_seed(0)
    stage1_head = nn.Linear(8, 3)
    head = classifier_retraining.new_linear(stage1_head)
    assert isinstance(head, nn.Linear) and head is not stage1_head
    assert (head.in_features, head.out_features) == (8, 3)
    assert head.weight.shape == stage1_head.weight.shape and head.bias.shape == stage1_head.bias.shape
    assert not torch.equal(head.weight, stage1_head.weight)
    assert not torch.equal(head.bias, stage1_head.bias)
    assert head.weight.requires_grad and head.bias.requires_grad


@pytest.mark.parametrize("tau", [float("nan"), float("inf")])
def test_tau_must_be_finite(tau):
    with pytest.raises(LtrError, match="tau_norm.logits.tau"):
        TauNormLogits(tau=tau)
