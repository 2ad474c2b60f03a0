"""OLTR (Liu et al., CVPR 2019): cosine-norm and meta-embedding heads, modulated attention, the
discriminative centroid loss, the class-aware sampler and the stage-2 network, on tiny hand cases."""

import math

import pytest
import torch

from ltr.data.samplers import ClassAwareSampler, epoch_size
from ltr.losses.disc_centroids import DiscCentroidsLoss
from ltr.methods.oltr.params import OltrTrain
from ltr.methods.oltr.steps import OLTRNet, class_means
from ltr.models import create_backbone
from ltr.models.attention import ModulatedAttention
from ltr.models.heads import CosNormClassifier, MetaEmbeddingClassifier

D64 = torch.float64


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=D64)


def set_(param: torch.Tensor, values) -> None:
    with torch.no_grad():
        param.copy_(values if isinstance(values, torch.Tensor) else t(values))


# ---------------------------------------------------------------- 1. cosine-norm classifier


def cosnorm_2d(weight=((2.0, 0.0), (0.0, 3.0))) -> CosNormClassifier:
    head = CosNormClassifier(2, 2, scale=16.0).double()
    set_(head.weight, weight)  # normalised rows: the unit axes e0, e1
    return head


def test_cosnorm_hand_case():
    # v = [3, 4], |v| = 5: squash(v) = 5/6 * [0.6, 0.8] = [0.5, 2/3]; the normalised rows are e0 and e1,
    # so logits = 16 * [0.5, 2/3] = [8, 32/3]
    logits = cosnorm_2d()(t([[3.0, 4.0]]))
    assert torch.allclose(logits, t([[16 * 0.5, 16 * 2 / 3]]), atol=1e-12)


def test_cosnorm_zero_input_gives_zero_logits():
    logits = cosnorm_2d()(torch.zeros(3, 2, dtype=D64))
    assert torch.isfinite(logits).all()
    assert torch.equal(logits, torch.zeros(3, 2, dtype=D64))


def test_cosnorm_logits_grow_with_the_norm_but_stay_below_the_scale():
    # v = [r, 0] along row 0: logit_0 = 16 * r / (1 + r), increasing in r and < 16
    radii = [0.1, 1.0, 10.0, 1000.0]
    logits = cosnorm_2d()(t([[r, 0.0] for r in radii]))[:, 0]
    assert torch.allclose(logits, t([16 * r / (1 + r) for r in radii]), atol=1e-12)
    assert (logits.diff() > 0).all()
    assert (logits < 16).all()


# ---------------------------------------------------------------- 2. meta-embedding classifier


def meta_head() -> MetaEmbeddingClassifier:
    head = MetaEmbeddingClassifier(2, 2, reach_scale=10.0, cos_scale=16.0).double()
    for param in (head.hallucinator.weight, head.hallucinator.bias, head.selector.weight, head.selector.bias):
        set_(param, torch.zeros_like(param))
    set_(head.cosnorm.weight, [[1.0, 0.0], [0.0, 1.0]])
    return head


def test_reachability_is_scale_over_the_nearest_l2_distance():
    # distances from the origin to [3, 4] and [6, 8]: 5 and 10 (L2, not squared: squared would give 25)
    # -> reachability = 10 / 5 = 2
    reach = meta_head().reachability(t([[0.0, 0.0]]), t([[3.0, 4.0], [6.0, 8.0]]))
    assert reach.shape == (1, 1)
    assert torch.allclose(reach, t([[2.0]]), atol=1e-12)


CENTROIDS = [[1.0, 1.0], [4.0, 0.0]]  # distances from x = [1, 0]: 1 and 3 -> reachability 10 / 1 = 10


def test_meta_embedding_without_memory_is_reachability_times_x():
    # zero selector: tanh(0) = 0, the memory term vanishes -> v_meta = 10 * [1, 0] = [10, 0], |v| = 10;
    # cosnorm with identity rows: 16 * [10, 0] / (1 + 10) = [160/11, 0]
    head = meta_head()
    x, centroids = t([[1.0, 0.0]]), t(CENTROIDS)
    assert torch.allclose(head.meta_embedding(x, centroids), t([[10.0, 0.0]]), atol=1e-12)
    assert torch.allclose(head(x, centroids), t([[16 * 10 / 11, 0.0]]), atol=1e-12)


def test_meta_embedding_adds_the_selected_memory():
    # selector bias atanh(0.5) -> concept = tanh(atanh(0.5)) = 0.5 in both dims; zero hallucinator ->
    # uniform softmax -> memory = mean of the centroids = [2.5, 0.5];
    # v_meta = 10 * ([1, 0] + 0.5 * [2.5, 0.5]) = 10 * [2.25, 0.25] = [22.5, 2.5], |v| = sqrt(512.5)
    head = meta_head()
    set_(head.selector.bias, [math.atanh(0.5)] * 2)
    x, centroids = t([[1.0, 0.0]]), t(CENTROIDS)
    assert torch.allclose(head.meta_embedding(x, centroids), t([[22.5, 2.5]]), atol=1e-12)
    norm = math.sqrt(22.5**2 + 2.5**2)
    assert torch.allclose(head(x, centroids), t([[16 * 22.5 / (1 + norm), 16 * 2.5 / (1 + norm)]]), atol=1e-12)

    # hallucinator bias [0, log 3] -> softmax = [1/4, 3/4] -> memory = [1, 1]/4 + 3 [4, 0]/4 = [3.25, 0.25];
    # v_meta = 10 * ([1, 0] + 0.5 * [3.25, 0.25]) = 10 * [2.625, 0.125] = [26.25, 1.25]
    set_(head.hallucinator.bias, [0.0, math.log(3.0)])
    assert torch.allclose(head.meta_embedding(x, centroids), t([[26.25, 1.25]]), atol=1e-12)


def test_meta_embedding_far_from_every_centroid_gives_smaller_logits():
    # the open-set mechanism, zero selector so v_meta = reach * x, x = [1, 0]:
    # nearest centroid [0, 0] at distance 1 -> reach 10 -> v = [10, 0] -> logit_0 = 16 * 10 / 11
    # nearest centroid [-4, 0] at distance 5 -> reach 2 -> v = [2, 0] -> logit_0 = 16 * 2 / 3
    head = meta_head()
    x = t([[1.0, 0.0]])
    near = head(x, t([[0.0, 0.0], [0.0, 100.0]]))
    far = head(x, t([[-4.0, 0.0], [0.0, 100.0]]))
    assert torch.allclose(near, t([[16 * 10 / 11, 0.0]]), atol=1e-12)
    assert torch.allclose(far, t([[16 * 2 / 3, 0.0]]), atol=1e-12)
    assert torch.softmax(far, 1).max() < torch.softmax(near, 1).max()


# ---------------------------------------------------------------- 3. discriminative centroid loss


def disc_loss(margin: float = 10.0, centroid_gradient: str = "autograd") -> DiscCentroidsLoss:
    loss = DiscCentroidsLoss(2, 2, margin=margin, repel_weight=0.01, centroid_gradient=centroid_gradient).double()
    set_(loss.centroids, [[0.0, 0.0], [2.0, 0.0]])
    return loss


def hand_inputs():
    features = t([[1.0, 0.0], [2.0, 1.0]]).requires_grad_(True)
    return features, torch.tensor([0, 1])


@pytest.mark.parametrize("centroid_gradient", ["original", "autograd"])
def test_disc_centroids_loss_value(centroid_gradient):
    # attract: |[1,0] - [0,0]|^2 + |[2,1] - [2,0]|^2 = 1 + 1 = 2, / 2 / B(=2) = 0.5
    # repel: other-class squared distances |f0 - c1|^2 = 1, |f1 - c0|^2 = 4 + 1 = 5, true-class entries 0
    #   -> sum 6 over B*C = 4 entries = 1.5 -> clamp(10 - 1.5, 0, 1e6) = 8.5
    # loss = 0.5 + 0.01 * 8.5 = 0.585
    loss = disc_loss(centroid_gradient=centroid_gradient)
    features, labels = hand_inputs()
    assert loss(features, labels).item() == pytest.approx(0.585, abs=1e-12)


def test_disc_centroids_original_gradient_is_the_center_loss_update_unscaled_by_the_loss_weight():
    """The default: the released code's hand-written backward. Per centroid, the attracting term gives
    sum_{i: y_i = j} (c_j - f_i) / ((1 + n_j) B), whatever multiplies the loss; the repelling term and
    the features' gradient are autograd's."""
    loss = disc_loss(centroid_gradient="original")
    features, labels = hand_inputs()
    (0.01 * loss(features, labels)).backward()
    # attract, n_0 = n_1 = 1, B = 2: c0 = ([0,0] - [1,0]) / (2 * 2) = [-0.25, 0]; c1 = ([2,0] - [2,1]) / 4 = [0, -0.25]
    # repel (autograd, x 0.01 x 0.01 x 2 / (B C)): c0 += -0.0001/4 * 2 * ([0,0] - [2,1]) = [0.0001, 0.00005]
    #                                              c1 += -0.0001/4 * 2 * ([2,0] - [1,0]) = [-0.00005, 0]
    assert torch.allclose(loss.centroids.grad, t([[-0.2499, 0.00005], [-0.00005, -0.25]]), atol=1e-12)
    # features: 0.01 x the autograd gradient of the loss ([[0.505, 0], [-0.01, 0.495]], below)
    assert torch.allclose(features.grad, t([[0.00505, 0.0], [-0.0001, 0.00495]]), atol=1e-12)


def test_disc_centroids_original_update_counts_the_class_images_in_the_batch():
    # two images of class 0 at [1,0] and [3,0], centroid [0,0]: (c - f) summed = [-4, 0], / ((1 + 2) B=2)
    loss = DiscCentroidsLoss(2, 2, margin=0.0, centroid_gradient="original").double()
    set_(loss.centroids, [[0.0, 0.0], [5.0, 5.0]])
    loss(t([[1.0, 0.0], [3.0, 0.0]]), torch.tensor([0, 0])).backward()
    assert torch.allclose(loss.centroids.grad, t([[-4 / 6, 0.0], [0.0, 0.0]]), atol=1e-12)


def test_disc_centroids_gradient_matches_the_hand_formulas():
    loss = disc_loss()
    features, labels = hand_inputs()
    loss(features, labels).backward()
    f, c, b, n, w = features.detach(), loss.centroids.detach(), 2, 2, 0.01

    # formulas (hinge active): d/df_i = (f_i - c_{y_i}) / B - w / (B C) * sum_{j != y_i} 2 (f_i - c_j)
    #                          d/dc_j = sum_{i: y_i = j} (c_j - f_i) / B - w / (B C) * sum_{i: y_i != j} 2 (c_j - f_i)
    grad_f = torch.stack(
        [
            (f[i] - c[labels[i]]) / b - w / (b * n) * sum(2 * (f[i] - c[j]) for j in range(n) if j != labels[i])
            for i in range(b)
        ]
    )
    grad_c = torch.stack(
        [
            sum((c[j] - f[i]) / b for i in range(b) if labels[i] == j)
            - w / (b * n) * sum(2 * (c[j] - f[i]) for i in range(b) if labels[i] != j)
            for j in range(n)
        ]
    )
    assert torch.allclose(features.grad, grad_f, atol=1e-12)
    assert torch.allclose(loss.centroids.grad, grad_c, atol=1e-12)

    # the same numbers by hand:
    # f0: [1,0]/2 - 0.01/4 * 2 * ([1,0] - [2,0]) = [0.5, 0] + [0.005, 0] = [0.505, 0]
    # f1: [0,1]/2 - 0.01/4 * 2 * ([2,1] - [0,0]) = [0, 0.5] - [0.01, 0.005] = [-0.01, 0.495]
    # c0: ([0,0] - [1,0])/2 - 0.01/4 * 2 * ([0,0] - [2,1]) = [-0.5, 0] + [0.01, 0.005] = [-0.49, 0.005]
    # c1: ([2,0] - [2,1])/2 - 0.01/4 * 2 * ([2,0] - [1,0]) = [0, -0.5] - [0.005, 0] = [-0.005, -0.5]
    assert torch.allclose(features.grad, t([[0.505, 0.0], [-0.01, 0.495]]), atol=1e-12)
    assert torch.allclose(loss.centroids.grad, t([[-0.49, 0.005], [-0.005, -0.5]]), atol=1e-12)


def test_disc_centroids_inactive_hinge_gives_the_center_loss_gradient():
    # margin 1 < mean squared distance 1.5 -> repel = clamp(1 - 1.5, 0, 1e6) = 0, loss = attract = 0.5;
    # centroid gradient = sum_{i: y_i = j} (c_j - f_i) / B: c0 = ([0,0] - [1,0])/2, c1 = ([2,0] - [2,1])/2
    loss = disc_loss(margin=1.0)
    features, labels = hand_inputs()
    value = loss(features, labels)
    assert value.item() == pytest.approx(0.5, abs=1e-12)
    value.backward()
    assert torch.allclose(loss.centroids.grad, t([[-0.5, 0.0], [0.0, -0.5]]), atol=1e-12)
    assert torch.allclose(features.grad, t([[0.5, 0.0], [0.0, 0.5]]), atol=1e-12)


@pytest.mark.parametrize("margin", [10.0, 1.0])
def test_disc_centroids_loss_weight_scales_the_centroid_gradient(margin):
    # centroid_gradient "autograd": 0.01 * loss gives 0.01 * the centroid gradient (the original's
    # hand-written backward ignores that weight)
    loss = disc_loss(margin)
    features, labels = hand_inputs()
    loss(features, labels).backward()
    full = loss.centroids.grad.clone()
    loss.centroids.grad = None
    (0.01 * loss(*hand_inputs())).backward()
    assert torch.allclose(loss.centroids.grad, 0.01 * full, rtol=1e-12, atol=0)
    assert full.abs().sum() > 0


# ---------------------------------------------------------------- 4. modulated attention


def test_modulated_attention_is_the_identity_at_initialisation():
    torch.manual_seed(0)
    block = ModulatedAttention(8, 5, 3)
    x = torch.randn(2, 8, 5, 3)
    out = block(x)
    assert out.shape == x.shape
    assert torch.equal(out, x)  # conv_mask is zero: spatial * 0 + x == x exactly


def test_modulated_attention_channels_last_input():
    torch.manual_seed(0)
    block = ModulatedAttention(8, 5, 3)
    x = torch.randn(2, 8, 5, 3)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(block(x_cl), x)
    with torch.no_grad():
        block.conv_mask.weight.normal_()
    out, out_cl = block(x), block(x_cl)
    assert out_cl.shape == x.shape
    assert torch.allclose(out_cl, out, atol=1e-5)


def test_modulated_attention_is_not_the_identity_with_a_nonzero_mask():
    torch.manual_seed(0)
    block = ModulatedAttention(8, 5, 3)
    with torch.no_grad():
        block.conv_mask.weight.fill_(0.5)
    x = torch.randn(2, 8, 5, 3)
    out = block(x)
    assert out.shape == x.shape
    assert not torch.allclose(out, x, atol=1e-4)
    # each position's added term is scaled by a spatial softmax over the 15 positions (sums to 1 per image)
    spatial = torch.softmax(block.fc_spatial(x.reshape(2, -1)), dim=1)
    assert torch.allclose(spatial.sum(1), torch.ones(2))


# ---------------------------------------------------------------- 5. class-aware sampler

# 14 images of 3 classes with sizes [10, 3, 1], interleaved so that index != position within the class
LABELS = [0, 1, 0, 0, 2, 0, 1, 0, 0, 0, 1, 0, 0, 0]
BY_CLASS = {c: {i for i, y in enumerate(LABELS) if y == c} for c in range(3)}


def draw(num_samples: int, seed: int = 0, per_class: int = 2, labels=LABELS, num_classes: int = 3) -> list[int]:
    sampler = ClassAwareSampler(labels, num_classes, per_class, num_samples)
    return sampler(torch.Generator().manual_seed(seed)).tolist()


def test_class_aware_sampler_balances_classes_in_runs():
    # 24 samples = 12 draws of 2; every class cycle visits the 3 classes once -> 4 full cycles -> 8 per class
    out = draw(3 * 2 * 4)
    classes = [LABELS[i] for i in out]
    assert len(out) == 24
    assert [classes.count(c) for c in range(3)] == [8, 8, 8]
    assert all(classes[k] == classes[k + 1] for k in range(0, 24, 2))  # runs of per_class = 2
    # each block of 3 draws (one class cycle) holds every class once
    for cycle in range(4):
        assert sorted(classes[6 * cycle : 6 * cycle + 6 : 2]) == [0, 1, 2]
    assert all(i in BY_CLASS[LABELS[i]] for i in out)


def test_class_aware_sampler_cycles_each_class_without_repeats():
    for seed in range(3):
        out = draw(24, seed)
        per_class = {c: [i for i in out if LABELS[i] == c] for c in range(3)}
        # class 0 (10 images): its 8 draws all come from its first permutation -> no repeats
        assert len(set(per_class[0])) == 8
        # class 1 (3 images): draws 0-2 and 3-5 are two full permutations of its 3 images
        assert set(per_class[1][:3]) == BY_CLASS[1] and set(per_class[1][3:6]) == BY_CLASS[1]
        # class 2 (1 image): always that image
        assert per_class[2] == [4] * 8


def test_class_aware_sampler_is_seeded():
    assert draw(24, seed=5) == draw(24, seed=5)
    assert draw(24, seed=5) != draw(24, seed=6)


def test_class_aware_sampler_honours_a_partial_last_run():
    # 7 samples with per_class 2: 3 full draws (one class cycle: each class twice) + 1 sample of a 4th draw
    out = draw(7)
    classes = [LABELS[i] for i in out]
    assert len(out) == 7
    assert sorted(classes[:6]) == [0, 0, 1, 1, 2, 2]
    assert all(classes[k] == classes[k + 1] for k in range(0, 6, 2))


def test_class_aware_sampler_skips_empty_classes():
    # class 3 has no image: it is never drawn and the others are still balanced (3 cycles of 3 classes)
    out = draw(9, per_class=1, num_classes=4)
    assert sorted(LABELS[i] for i in out) == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_epoch_size_drops_the_last_partial_batch():
    # floor(10847 / 128) = 84 batches -> 84 * 128 = 10752 samples
    assert epoch_size(10847, 128) == 10752
    assert epoch_size(256, 128) == 256
    assert epoch_size(100, 128) == 0


# ---------------------------------------------------------------- 6. centroid initialisation


def test_class_means_with_an_empty_class():
    # class 0: mean of [1, 2] and [3, 4] = [2, 3]; class 1: no sample -> 0 (not 0/0 = nan); class 2: [5, 6]
    features = torch.tensor([[1.0, 2.0], [5.0, 6.0], [3.0, 4.0]])
    means = class_means(features, torch.tensor([0, 2, 0]), 3)
    assert torch.equal(means, torch.tensor([[2.0, 3.0], [0.0, 0.0], [5.0, 6.0]]))


# ---------------------------------------------------------------- 7. parameters


def test_oltr_params_defaults_are_the_imagenet_lt_stage2_settings():
    p = OltrTrain()
    # classifier 0.1, feature model (backbone, attention, fc) 0.1 x 0.1, centroids 0.01
    assert (p.lr, p.lr * p.backbone_lr_factor, p.centroid_lr) == pytest.approx((0.1, 0.01, 0.01))
    assert p.centroid_loss_weight == 0.01
    assert p.samples_per_class == 4
    assert (p.cos_scale, p.reach_scale) == (16.0, 10.0)
    assert p.attention is True


# ---------------------------------------------------------------- 8. the stage-2 network


def tiny_net(**kw) -> OLTRNet:
    torch.manual_seed(0)
    return OLTRNet(create_backbone("resnet8"), num_classes=5, map_size=(8, 8), p=OltrTrain(**kw))


def test_oltr_net_forward_shape_and_identity_attention():
    net = tiny_net().eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert net(x).shape == (2, 5)
        # attention is the identity at init and there is no fc layer: the direct feature is the pooled
        # backbone feature
        direct = net.direct_features(x)
        assert direct.shape == (2, 64)
        # equal up to float rounding: the attention output may have other strides than the map, which
        # changes the summation order of the pooling
        assert torch.allclose(direct, net.backbone(x), atol=1e-6, rtol=1e-6)


def test_oltr_net_fc_layer_gives_a_relu_feature():
    net = tiny_net(fc_dim=16).eval()
    with torch.no_grad():
        direct = net.direct_features(torch.randn(2, 3, 32, 32))
        assert direct.shape == (2, 16)
        assert (direct >= 0).all()
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 5)
    assert net.centroid_loss.centroids.shape == (5, 16)


def test_oltr_net_classifier_does_not_train_the_centroids():
    # forward reads the centroids detached (as in the original): cross-entropy gives them no gradient
    net = tiny_net()
    torch.nn.functional.cross_entropy(net(torch.randn(2, 3, 32, 32)), torch.tensor([0, 1])).backward()
    assert net.centroid_loss.centroids.grad is None
    assert net.classifier.cosnorm.weight.grad is not None
