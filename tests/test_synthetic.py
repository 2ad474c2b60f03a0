import math

import numpy as np
import pytest
import torch

import ltr.data.synthetic as generator
from ltr.config import DataConfig
from ltr.config.datasets.synthetic import SyntheticParams
from ltr.data.digits import DIGITS_KNOWN
from ltr.data.prepared import read_dataset
from ltr.data.synthetic import CLASS_HUE_P, SyntheticSpec, _object_colours, _to_range, generate, make_templates

SMALL = SyntheticSpec(num_classes=6, num_superclasses=3, open_classes=2)


def test_generation_is_deterministic_and_seeded():
    a = generate(SMALL, {"train": 3, "test": 2}, open_per_class=2, seed=7)
    b = generate(SMALL, {"train": 3, "test": 2}, open_per_class=2, seed=7)
    c = generate(SMALL, {"train": 3, "test": 2}, open_per_class=2, seed=8)
    assert torch.equal(a["images"], b["images"])
    assert not torch.equal(a["images"], c["images"])
    assert a["images"].shape == (6 * 5 + 2 * 2, 32, 32, 3) and a["images"].dtype == torch.uint8
    assert a["pool"].count("train") == 18 and a["pool"].count("test") == 12 and a["pool"].count("open") == 4
    assert set(a["labels"][np.asarray(a["pool"]) == "open"].tolist()) == {6, 7}


def test_superclasses_are_balanced_and_scattered():
    t = make_templates(SyntheticSpec(), torch.Generator().manual_seed(0))
    known = t["superclass"][:100]
    assert torch.bincount(known).tolist() == [5] * 20
    assert not torch.equal(known, torch.arange(20).repeat_interleave(5))


def _sibling_correlation(similarity: float) -> float:
    spec = SyntheticSpec(similarity=similarity, open_classes=0)
    t = make_templates(spec, torch.Generator().manual_seed(0))
    z, sc = t["latent"], t["superclass"]
    pairs = [(i, j) for i in range(100) for j in range(i + 1, 100) if sc[i] == sc[j]]
    a = torch.stack([z[i] for i, _ in pairs]).flatten()
    b = torch.stack([z[j] for _, j in pairs]).flatten()
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def test_similarity_is_the_latent_correlation_of_siblings():
    for s in (0.2, 0.5, 0.8):
        assert math.isclose(_sibling_correlation(s), s, abs_tol=0.06)


def _top_minus_bottom(monkeypatch, outdoor_p: float) -> torch.Tensor:
    monkeypatch.setattr(generator, "OUTDOOR_P", outdoor_p)
    out = generate(SyntheticSpec(num_classes=20, num_superclasses=4, open_classes=0), {"train": 20}, 0, seed=3)
    luminance = out["images"].float() @ torch.tensor([0.299, 0.587, 0.114])
    return luminance[:, :6].mean((1, 2)) - luminance[:, -6:].mean((1, 2))


def test_outdoor_photos_have_a_sky_above_a_darker_ground(monkeypatch):
    # the canonical "up" that makes rotation predictable; the two overlap in brightness, so not always
    assert (_top_minus_bottom(monkeypatch, 1.0) > 0).float().mean() > 0.8


def test_close_ups_carry_their_up_in_the_object(monkeypatch):
    # no horizon: the object lit from above and its shadow at its foot make the top lighter on average
    diff = _top_minus_bottom(monkeypatch, 0.0)
    assert diff.mean() > 3 * diff.std() / len(diff) ** 0.5


def test_an_object_takes_its_class_hue_in_a_quarter_of_the_images_and_any_hue_otherwise():
    spec = SyntheticSpec(num_classes=2, num_superclasses=1, open_classes=0)
    templates = make_templates(spec, torch.Generator().manual_seed(0))
    labels = torch.zeros(4000, dtype=torch.long)
    hue, saturation, value = _object_colours(templates["latent"], labels, torch.Generator().manual_seed(1), 4000)
    class_hue = float(_to_range(templates["latent"][0, -2], 0.0, 1.0))
    gap = ((hue - class_hue + 0.5) % 1 - 0.5).abs()  # circular hue distance
    near = float((gap < 0.1).float().mean())
    # the class's hue (N(0, 0.04) around it) in CLASS_HUE_P of the draws, a uniform hue (20% of it near) in the rest
    assert near == pytest.approx(CLASS_HUE_P * 0.9876 + (1 - CLASS_HUE_P) * 0.2, abs=0.03)
    assert float((gap > 0.25).float().mean()) > 0.25  # a red car and a blue car are both cars
    assert 0.0 <= float(saturation.min()) and float(saturation.max()) <= 0.9


def test_synthetic_prepare_maps_open_classes_to_minus_one():
    cfg = DataConfig(
        synthetic=SyntheticParams(
            num_classes=4, num_superclasses=2, open_classes=1, train_per_class=3, test_per_class=2, val_per_class=1
        )
    )
    out = read_dataset(cfg)
    pools = np.asarray(out["pools"])
    assert (out["labels"][pools == "open"] == -1).all()
    assert set(out["labels"][pools != "open"].tolist()) == {0, 1, 2, 3}
    assert out["info"]["num_classes"] == 4 and len(out["info"]["class_names"]) == 4


def test_digits_are_upscaled_with_held_out_open_classes():
    out = read_dataset(DataConfig(name="digits"))
    pools = np.asarray(out["pools"])
    assert out["images"].shape[1:] == (32, 32, 3) and out["images"].dtype == np.uint8
    assert (pools == "val").sum() == 10 * DIGITS_KNOWN and (pools == "test").sum() == 40 * DIGITS_KNOWN
    assert (pools == "open").sum() == 80 and (out["labels"][pools == "open"] == -1).all()
    assert out["labels"][pools == "train"].max() == DIGITS_KNOWN - 1
    assert out["images"].max() == 255
