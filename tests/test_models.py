import dataclasses

import pytest
import torch

from ltr.config.archs import ARCHS, Family
from ltr.models import count_parameters, create_backbone, create_model

# parameter counts with the standard heads: the CIFAR ResNets of He et al. (0.27M / 0.46M with a
# 10-class head) and torchvision's documented ImageNet models (1000 classes)
KNOWN = {
    ("resnet20", 10): 269_722,
    ("resnet32", 10): 464_154,
    ("resnet18", 1000): 11_689_512,
    ("resnet50", 1000): 25_557_032,
    ("resnet152", 1000): 60_192_808,
    ("resnext50_32x4d", 1000): 25_028_904,
}


@pytest.mark.parametrize(("arch", "classes"), list(KNOWN))
def test_parameter_counts_match_the_published_models(arch, classes):
    assert count_parameters(create_model(arch, classes)) == KNOWN[(arch, classes)]


@pytest.mark.parametrize("arch", ["resnet8", "resnet20", "resnet10", "resnet18"])
def test_forward_gives_logits_and_features(arch):
    model = create_model(arch, 7).eval()
    x = torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert model(x).shape == (2, 7)
        assert model.features(x).shape == (2, model.backbone.out_dim)


def test_cifar_shortcut_pads_channels_and_subsamples():
    model = create_model("resnet8", 3)
    x = torch.randn(1, 3, 32, 32)
    assert model.backbone.forward_map(x).shape == (1, 64, 8, 8)


def test_unknown_arch_is_refused():
    with pytest.raises(ValueError, match="unknown arch 'vgg'"):
        create_model("vgg", 3)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_registered_arch_builds(arch):
    spec, backbone = ARCHS[arch], create_backbone(arch)
    assert backbone.out_dim == (64 if spec.family is Family.CIFAR_RESNET else 512 * (4 if spec.bottleneck else 1))


def test_config_and_the_builder_read_the_registry():
    from ltr.config import ModelConfig

    (arch,) = [f for f in dataclasses.fields(ModelConfig) if f.name == "arch"]
    assert arch.metadata["choices"] == tuple(ARCHS)
    with pytest.raises(ValueError, match="unknown arch 'vgg'; allowed: " + ", ".join(ARCHS)):
        create_backbone("vgg")


@pytest.mark.parametrize("arch", ["resnet18", "resnet50", "resnext50_32x4d"])
def test_a_torchvision_spec_builds_what_torchvisions_factory_builds(arch):
    """The same random draws, so a model trained before the registry is the model trained after it."""
    from torchvision.models import resnet

    from ltr.models.resnet_torchvision import build_resnet

    torch.manual_seed(0)
    ours = build_resnet(ARCHS[arch]).state_dict()
    torch.manual_seed(0)
    theirs = getattr(resnet, arch)().state_dict()
    assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)
