"""The two method templates of README "Add a method": each formula against a hand-computed case, and
`dvc exp run -S method=<template>` (the trained one in test_image_folder.py's acceptance run)."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conftest import run
from ltr.errors import LtrError
from ltr.methods import compared_methods, method_names, spec
from ltr.methods.template_posthoc import steps as template_posthoc
from ltr.methods.template_posthoc.params import TemplatePosthocLogits
from ltr.methods.template_trained import steps as template_trained

TEMPLATES = ["template_posthoc", "template_trained"]


def test_templates_are_registered_but_not_compared():
    assert set(TEMPLATES) <= set(method_names())
    assert [m for m in method_names() if spec(m).template] == TEMPLATES
    assert set(compared_methods()) == set(method_names()) - set(TEMPLATES) and len(compared_methods()) == 13


def test_posthoc_template_picks_the_temperature_of_the_lowest_val_nll():
    # one logit margin of 2, right 3 times in 4: the NLL is lowest where sigmoid(2 / T) = 3/4, at
    # T = 2 / ln 3 = 1.82, so the grid's 1.8, with NLL -(3 ln p + ln(1 - p)) / 4, p = sigmoid(2 / 1.8)
    logits = np.array([[2.0, 0.0]] * 4)
    labels = np.array([0, 0, 0, 1])
    temperature, nll = template_posthoc.best_temperature(logits, labels)
    p = 1 / (1 + math.exp(-2 / 1.8))
    assert temperature == 1.8 and nll == pytest.approx(-(3 * math.log(p) + math.log(1 - p)) / 4, abs=1e-5)
    assert nll == pytest.approx(0.56235, abs=1e-5)


def test_posthoc_template_scales_every_split_by_the_val_temperature():
    stage1 = {"val": np.array([[2.0, 0.0]] * 4), "test": np.array([[1.0, -1.0], [0.0, 3.6]])}
    ctx = SimpleNamespace(
        models=SimpleNamespace(
            stage1_predictions=lambda: {s: (z, None) for s, z in stage1.items()},
            cost=lambda stage: {"params": 10, "macs": 20},
        ),
        data=SimpleNamespace(split=lambda name: SimpleNamespace(labels=np.array([0, 0, 0, 1]))),
    )
    params = SimpleNamespace(logits=SimpleNamespace(temperature="auto"))
    out = template_posthoc.logits(ctx, params)
    assert out.info["temperature"] == 1.8 and out.cost == {"params": 10, "macs": 20}
    np.testing.assert_allclose(out.logits["test"], [[1 / 1.8, -1 / 1.8], [0.0, 2.0]])
    params.logits.temperature = 0.5
    out = template_posthoc.logits(ctx, params)
    np.testing.assert_allclose(out.logits["test"], [[2.0, -2.0], [0.0, 7.2]])
    assert out.info == {"temperature": 0.5}


@pytest.mark.parametrize("value", [0, -0.5, float("nan"), "best"])
def test_posthoc_template_refuses_a_temperature_that_is_not_positive_or_auto(value):
    with pytest.raises(LtrError, match=r"template_posthoc.logits.temperature = .*; give a number > 0 or 'auto'"):
        TemplatePosthocLogits(temperature=value)


def test_trained_template_weights_classes_by_inverse_frequency():
    # n = (4, 1): n ** -1 = (1/4, 1), scaled to mean 1: (0.4, 1.6); power 0.5: (1/2, 1) -> (2/3, 4/3)
    assert template_trained.class_weights([4, 1], 1.0).tolist() == pytest.approx([0.4, 1.6])
    assert template_trained.class_weights([4, 1], 0.5).tolist() == pytest.approx([2 / 3, 4 / 3])
    assert template_trained.class_weights([4, 1], 0.0).tolist() == [1.0, 1.0]
    # logits (ln 3, 0) labelled 0 and (0, 0) labelled 1: losses -ln(3/4) and ln 2, weighted 0.4 and 1.6
    step = template_trained.weighted_step(torch.tensor([0.4, 1.6]))
    loss, logits = step(lambda x: x, torch.tensor([[math.log(3), 0.0], [0.0, 0.0]]), torch.tensor([0, 1]), epoch=0)
    assert loss.item() == pytest.approx((0.4 * -math.log(0.75) + 1.6 * math.log(2)) / 2, abs=1e-6)
    assert loss.item() == pytest.approx(0.61206, abs=1e-5) and logits.shape == (2, 2)


@pytest.mark.e2e
def test_dvc_exp_run_of_the_posthoc_template(tiny_copy):
    """`dvc exp run -S method=template_posthoc` on the tiny repository; the trained template's run is
    the image-folder acceptance run (test_image_folder.py), where it trains stage 2."""
    softmax = json.loads((tiny_copy / "metrics/metrics.json").read_text())
    out = run(["dvc", "exp", "run", "-S", "method=template_posthoc"], tiny_copy).stdout
    assert "Stage 'stage1' didn't change, skipping" in out
    metrics = json.loads((tiny_copy / "metrics/metrics.json").read_text())
    assert metrics["top1"] == softmax["top1"]  # a temperature moves no argmax
    chosen = json.loads((tiny_copy / "metrics/method.json").read_text())
    assert chosen["temperature"] in template_posthoc.TEMPERATURE_GRID and chosen["val_nll"] > 0
