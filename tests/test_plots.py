"""The figures: DVC's plots in dvc.yaml and their templates (titled axes with units, a colour per series,
the confusion's numeric class-ordered square axes), evaluate's confusion data, byte-identical figures
from the same data, and pages that load nothing from the network (DVC's HTML template and
results/index.html); one end-to-end `dvc plots show` on the tiny repository."""

import configparser
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from dvc_render.vega import VegaRenderer
from dvc_render.vega_templates import get_template

from conftest import REPO, run
from ltr.layout import SPLIT_NAMES
from ltr.metrics.summary import confusion_counts, evaluate, group_confusion
from ltr.report import plots
from ltr.report.offline_html import PACKAGES

TEMPLATES = REPO / ".dvc" / "plots"
PLOTS = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
VEGA = {name: spec for entry in PLOTS if isinstance(entry, dict) for name, spec in entry.items()}
IMAGES = [entry for entry in PLOTS if isinstance(entry, str)]
UNITS = ("%", "images", "epoch", "index", "0-1", "per image", "shot group", "distribution")
# a tag that would load a script, style or frame from elsewhere
EXTERNAL = re.compile(
    r"<(script|iframe|img)\b[^>]*\bsrc\s*=\s*[\"']?(https?:)?//|<link\b[^>]*\bhref\s*=\s*[\"']?(https?:)?//"
    r"|@import|url\(\s*[\"']?(https?:)?//",
    re.IGNORECASE,
)


def encodings(node) -> list[dict]:
    """Every `encoding` of a vega-lite spec: top level, facet spec and layers."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("encoding"), dict):
            found.append(node["encoding"])
        for value in node.values():
            found += encodings(value)
    elif isinstance(node, list):
        for value in node:
            found += encodings(value)
    return found


def template(name: str) -> dict:
    return get_template(name, str(TEMPLATES)).content


# -- dvc.yaml's plots and their templates ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(VEGA))
def test_every_vega_plot_has_a_title_and_axes_titled_with_units(name):
    spec = VEGA[name]
    assert spec.get("title"), name
    for label in ("x_label", "y_label"):
        assert any(unit in spec.get(label, "") for unit in UNITS), f"{name}: {label} {spec.get(label)!r} has no unit"
    # the template puts those labels on its axes (else DVC's field name, or 'y' for several fields, shows)
    axes = [e for e in encodings(template(spec["template"])) if "x" in e and "y" in e]
    assert axes, f"{spec['template']} has no x and y encoding"
    for encoding in axes:
        if "title" in encoding["x"] or "title" in encoding["y"]:
            assert encoding["x"]["title"] == "<DVC_METRIC_X_LABEL>" and encoding["y"]["title"] == "<DVC_METRIC_Y_LABEL>"


@pytest.mark.parametrize("name", [n for n, s in VEGA.items() if any(isinstance(f, list) for f in s["y"].values())])
def test_several_series_each_have_a_colour_and_a_revision_a_dash(name):
    encoding = template(VEGA[name]["template"])["encoding"]
    assert encoding["color"]["field"] == "field"  # DVC's name of the y column a point comes from
    assert set(encoding["color"]["scale"]["range"]) <= set(plots.OKABE_ITO)
    fields = next(iter(VEGA[name]["y"].values()))
    assert set(encoding["color"]["scale"]["domain"]) == set(fields)
    assert encoding["strokeDash"]["field"] == "rev"


def test_the_shot_groups_have_the_figures_colours_in_every_template():
    for name in ("per_class_log", "per_class_rank", "shifted"):
        colour = template(name)["encoding"]["color"]["scale"]
        mapping = dict(zip(colour["domain"], colour["range"], strict=True))
        assert {g: mapping[g] for g in plots.GROUP_COLOURS} == plots.GROUP_COLOURS, name


def test_image_plots_are_svg_and_plots_take_no_desc():
    assert IMAGES and all(path.endswith(".svg") for path in IMAGES)
    assert not any("desc" in spec for spec in VEGA.values())  # DVC's schema has no desc for top-level plots


def test_confusion_template_gives_numeric_class_ordered_square_axes():
    """Filled as DVC fills it, from CSV strings: the axes sort the numbers 0..11, not '0', '1', '10'."""
    spec = VEGA["confusion"]
    rows = confusion_counts(np.arange(12), np.zeros(12, int), 12).astype(str).to_dict("records")
    renderer = VegaRenderer(
        [{**row, "rev": "workspace"} for row in rows],
        "confusion",
        template=spec["template"],
        template_dir=str(TEMPLATES),
        x=spec["x"],
        y="actual",
        x_label=spec["x_label"],
        y_label=spec["y_label"],
    )
    filled = renderer.get_filled_template()
    calculated = {t["as"]: t["calculate"] for t in filled["transform"]}
    assert calculated["predicted_class"] == "toNumber(datum['predicted'])"
    assert calculated["actual_class"] == "toNumber(datum['actual'])"
    encoding = filled["spec"]["encoding"]
    for axis, field, label in (("x", "predicted_class", spec["x_label"]), ("y", "actual_class", spec["y_label"])):
        assert encoding[axis]["field"] == field and encoding[axis]["sort"] == "ascending"
        assert encoding[axis]["title"] == label
    assert filled["spec"]["width"] == filled["spec"]["height"]
    assert len(filled["data"]["values"]) == 144


def test_the_html_template_inlines_vega_with_its_licences_and_loads_nothing():
    config = configparser.ConfigParser()
    config.read(REPO / ".dvc" / "config")
    page = (REPO / ".dvc" / config["plots"]["html_template"]).read_text()
    assert "{plot_divs}" in page and "{scripts}" not in page  # dvc_render puts its CDN tags in {scripts}
    assert not EXTERNAL.search(page) and "<script src" not in page
    assert page.count("Redistribution and use in source and binary forms") == 3
    for package, (version, _) in PACKAGES.items():
        assert f"/*! {package} {version} " in page
        assert f"npm/{package}@{version}" in VegaRenderer.SCRIPTS  # the versions DVC's own page loads


# -- evaluate's data and figures ------------------------------------------------------------------------------


def test_the_confusion_is_every_cell_in_class_order_with_zeros():
    labels = np.array([0, 0, 1, 2, 11, 11, 10])
    preds = np.array([0, 1, 1, 1, 11, 0, 0])  # classes 2 to 10 are never predicted
    confusion = confusion_counts(labels, preds, 12)
    assert len(confusion) == 144 and confusion["count"].sum() == 7
    assert confusion[["actual", "predicted"]].values.tolist() == [[a, p] for a in range(12) for p in range(12)]
    matrix = confusion["count"].to_numpy().reshape(12, 12)
    assert np.diag(matrix).tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert matrix[:, 10].sum() == 0  # a class never predicted keeps its (empty) column
    groups = np.array(["many"] * 4 + ["few"] * 8)  # no medium class: no medium row or column
    by_group = group_confusion(labels, preds, groups)
    assert by_group.values.tolist() == [
        ["many", "many", 100.0],
        ["many", "few", 0.0],
        ["few", "many", 66.667],
        ["few", "few", 33.333],
    ]


def _evaluation(seed: int = 0):
    """evaluate() on random logits of 12 classes: every frame the figures draw."""
    rng = np.random.default_rng(seed)
    counts = [60, 50, 40, 30, 25, 20, 15, 12, 10, 8, 6, 5]
    meta = {
        "num_classes": 12,
        "class_names": [f"c{i}" for i in range(12)],
        "train_counts": counts,
        "shot_groups": ["many"] * 3 + ["medium"] * 5 + ["few"] * 4,
    }
    split_logits = {}
    for name in SPLIT_NAMES:
        labels = rng.integers(0, 12, 60) if name != "open" else np.full(10, -1)
        split_logits[name] = (rng.normal(size=(len(labels), 12)).astype(np.float32), labels)
    return evaluate(split_logits, meta, open_threshold=0.5, ece_bins=10, cost={})


def _draw_all(result, folder: Path) -> None:
    history = pd.DataFrame(
        {
            "step": [1, 2, 3],
            "stage": ["stage1", "stage1", "stage2"],
            "epoch": [1, 2, 1],
            "train_loss": [2.0, 1.5, 1.2],
            "train_top1": [20.0, 35.0, 40.0],
            "val_top1": [15.0, 25.0, 30.0],
        }
    )
    plots.per_class_figure(result.per_class, folder / "per_class", "t")
    plots.agnostic_figure(result.agnostic, folder / "agnostic", "t")
    plots.reliability_figure(result.reliability, folder / "reliability", "t")
    plots.training_figure(history, folder / "training", "t")
    plots.confusion_figure(result.confusion, folder / "confusion", "t")
    plots.group_confusion_figure(result.group_confusion, folder / "group_confusion", "t")


def test_every_figure_is_png_and_svg_with_the_same_bytes_on_a_second_render(tmp_path):
    result = _evaluation()
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    _draw_all(result, first)
    _draw_all(result, second)  # SVG ids take a random salt and the date, unless fixed
    files = sorted(p.name for p in first.iterdir())
    assert len(files) == 12 and {Path(f).suffix for f in files} == {".png", ".svg"}
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


# -- results/index.html -------------------------------------------------------------------------------------------


def test_the_report_page_holds_tables_runs_figures_and_provenance_and_loads_nothing(tmp_path, monkeypatch):
    from ltr.report import compare
    from ltr.report.scheduling import experiment_name

    top1 = {("softmax", 0): 40.0, ("softmax", 1): 44.0, ("crt", 0): 50.0, ("crt", 1): 47.0}
    runs = {k: SimpleNamespace(rev=f"{k[0]}{k[1]}", name=experiment_name(*k)) for k in top1}
    by_rev = {f"{m}{s}": v for (m, s), v in top1.items()}
    monkeypatch.setattr(compare, "run_metrics", lambda rev, method: {"closed.top1": by_rev[rev]})
    per_class = pd.DataFrame({"class": [0, 1], "train_count": [500, 5], "accuracy": [90.0, 10.0]})
    agnostic = pd.DataFrame({"distribution": ["uniform"], "position": [5], "top1": [45.0]})
    monkeypatch.setattr(compare, "git_show_csv", lambda rev, path: per_class if "per_class" in path else agnostic)
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    (tmp_path / "params.yaml").write_text("method: softmax\nseed: 0\n")
    compare.write_report(runs, ["softmax", "crt"], [0, 1], tmp_path / "results", tmp_path, "a note")

    page = (tmp_path / "results" / "index.html").read_text()
    assert not EXTERNAL.search(page)
    assert page.count("<svg") == 3 and "<?xml" not in page  # the three figures inline
    assert "<td>42.00 ± 2.83</td>" in page  # the comparison
    assert "<td>+6.50 ± 4.95</td>" in page  # crt minus softmax: 10 and 3
    assert all(f"<td>{name}</td>" in page for name in ("report-crt-seed1", "report-softmax-seed0"))
    assert "<td>47.00</td>" in page  # a run's own value
    for fact in ("commit", "sha256", "keys the runs changed</dt><dd>method, seed", "CPU", "cores", "torch", "GPU"):
        assert fact in page, fact
    assert "method: softmax" in page  # the params file's text
    assert all((tmp_path / "results" / f"{n}.{s}").exists() for n in compare.FIGURES for s in ("png", "svg"))


# -- end to end -------------------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_dvc_plots_show_on_the_tiny_repository(tiny_copy):
    confusion = pd.read_csv(tiny_copy / "plots" / "confusion.csv")
    assert len(confusion) == 10 * 10 and confusion["count"].sum() == 100  # the tiny test set: 10 classes x 10
    shown = json.loads(run(["dvc", "plots", "show", "--json"], tiny_copy).stdout)["data"]
    assert set(shown) == set(VEGA) | set(IMAGES)
    for name, spec in VEGA.items():
        content = shown[name][0]["content"]
        titles = {(e["x"].get("title"), e["y"].get("title")) for e in encodings(content) if "x" in e and "y" in e}
        assert (spec["x_label"], spec["y_label"]) in titles, name
    matrix = shown["confusion"][0]["content"]
    values = matrix["data"]["values"]
    assert len(values) == 100 and {v["predicted"] for v in values} == {str(c) for c in range(10)}
    assert "toNumber(datum['predicted'])" in [t["calculate"] for t in matrix["transform"]]
    assert matrix["spec"]["encoding"]["x"]["field"] == "predicted_class"
    run(["dvc", "plots", "show", "-o", "shown"], tiny_copy)
    page = (tiny_copy / "shown" / "index.html").read_text()
    assert "vegaEmbed('#" in page and not EXTERNAL.search(page)
    assert all((tiny_copy / "shown" / "static" / f"workspace_{p.replace('/', '_')}").exists() for p in IMAGES)
