"""params.yaml -> typed config: loading, validation errors that name the key, and the config hash."""

import copy
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ltr.config import (
    SECTIONS,
    TrainConfig,
    config_hash,
    forget_reads,
    load_config,
    parse_config,
    reads,
)
from ltr.errors import LtrError
from ltr.methods import check_all, method_names, spec
from ltr.methods import section as method_section

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


@pytest.fixture(scope="module")
def raw_params() -> dict:
    return yaml.safe_load(PARAMS.read_text())


@pytest.fixture
def raw(raw_params) -> dict:
    return copy.deepcopy(raw_params)


def test_load_params_yaml():
    cfg = load_config(PARAMS)
    assert cfg.method == "softmax"
    assert cfg.data.imb_factor == 100.0
    assert type(cfg.data.imb_factor) is float  # written as 100 in params.yaml
    assert type(cfg.stage1.epochs) is int
    assert cfg.stage1.epochs == 30
    assert cfg.splits.group_rule == "strict"
    assert cfg.eval.open_threshold == 0.1


def test_load_missing_file(tmp_path):
    with pytest.raises(LtrError, match="is missing"):
        load_config(tmp_path / "params.yaml")


def test_load_invalid_yaml(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("stage1: [1, 2\n")
    with pytest.raises(LtrError, match="is not valid YAML"):
        load_config(path)


def test_missing_sections_take_defaults():
    cfg = parse_config({})
    assert cfg.method == "softmax"
    assert cfg.data.imb_factor == 100.0
    assert cfg.eval.ece_bins == 15


def _error(raw: dict) -> str:
    with pytest.raises(LtrError) as info:
        check_all(parse_config(raw))
    return str(info.value)


def test_imb_factor_below_one(raw):
    raw["data"]["imb_factor"] = 0.5
    message = _error(raw)
    assert "data.imb_factor" in message
    assert ">= 1" in message
    assert "0.5" in message


def test_unknown_method(raw):
    raw["method"] = "foo"
    message = _error(raw)
    assert "'foo'" in message
    assert "softmax" in message


def test_unknown_top_level_key(raw):
    raw["trainig"] = {"epochs": 3}
    message = _error(raw)
    assert "unknown key 'trainig'" in message
    assert "stage1" in message  # lists what is allowed


def test_unknown_nested_key(raw):
    raw["stage1"]["lrr"] = 0.1
    message = _error(raw)
    assert "stage1.lrr" in message
    assert "lr" in message.split("allows:")[1]


def test_unknown_deeply_nested_key(raw):
    raw["data"]["synthetic"]["num_clases"] = 10
    assert "data.synthetic.num_clases" in _error(raw)


def test_wrong_type(raw):
    raw["stage1"]["epochs"] = "ten"
    message = _error(raw)
    assert "stage1.epochs" in message
    assert "'ten'" in message
    assert "wrong type" in message
    assert "int" in message


def test_bad_choice(raw):
    raw["runtime"]["device"] = "tpu"
    message = _error(raw)
    assert "runtime.device" in message
    assert "'tpu'" in message
    assert "auto, cpu, cuda" in message


def test_bool_is_not_an_int(raw):
    raw["stage1"]["epochs"] = True
    message = _error(raw)
    assert "stage1.epochs" in message
    assert "wrong type" in message


def test_bool_is_not_a_float(raw):
    raw["eval"]["open_threshold"] = True
    assert "eval.open_threshold" in _error(raw)


def test_string_for_bool_field(raw):
    raw["runtime"]["amp"] = "yes"
    assert "runtime.amp" in _error(raw)


def test_out_of_range_int(raw):
    raw["stage1"]["epochs"] = 0
    message = _error(raw)
    assert "stage1.epochs" in message
    assert ">= 1" in message


def test_list_items_checked(raw):
    raw["stage1"]["milestones"] = [10, "x"]
    assert "stage1.milestones[1]" in _error(raw)


def test_section_must_be_mapping(raw):
    raw["stage1"] = 5
    assert "stage1 must be a mapping" in _error(raw)


def test_int_accepted_for_float(raw):
    raw["eval"]["open_threshold"] = 0
    cfg = parse_config(raw)
    assert cfg.eval.open_threshold == 0.0
    assert type(cfg.eval.open_threshold) is float


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_non_finite_number_is_refused(raw, value):
    raw["stage1"]["lr"] = value  # what YAML's .inf, -.inf and .nan load as
    with pytest.raises(LtrError, match=f"stage1.lr = {value} is not a finite number"):
        parse_config(raw)
    raw["stage1"]["lr"] = 0.1
    raw["tde"]["logits"]["alpha"] = value  # a number or 'auto': refused as a number
    with pytest.raises(LtrError, match=f"tde.logits.alpha = {value} is not a finite number"):
        check_all(parse_config(raw))


def test_config_hash_stable_and_sensitive(raw_params):
    def key(cfg):
        return config_hash(dataclasses.asdict(cfg.stage1), dataclasses.asdict(cfg.data))

    a = parse_config(copy.deepcopy(raw_params))
    b = parse_config(copy.deepcopy(raw_params))
    assert key(a) == key(b)
    assert len(key(a)) == 16

    changed = copy.deepcopy(raw_params)
    changed["stage1"]["epochs"] = 41
    assert key(a) != key(parse_config(changed))

    changed_float = copy.deepcopy(raw_params)
    changed_float["data"]["imb_factor"] = 50
    assert key(a) != key(parse_config(changed_float))


def test_config_hash_plain_values():
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})  # key order does not matter
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert config_hash("x", 1) != config_hash(1, "x")


def test_exponent_floats_that_yaml_reads_as_strings(raw):
    # PyYAML reads 1e-9 (no dot) as the string '1e-9'; `dvc exp run -S lr=1e-9` writes exactly that
    raw["stage1"]["lr"] = "1e-9"
    raw["crt"]["train"]["lr"] = "2.5E-3"
    cfg = parse_config(raw)
    assert (cfg.stage1.lr, method_section(cfg, "crt").train.lr) == (1e-9, 2.5e-3)
    raw["stage1"]["lr"] = "1e-9x"
    assert "stage1.lr = '1e-9x' has the wrong type; expected float" in _error(raw)


def test_reads_record_each_key_a_stage_reads_with_its_value(raw):
    cfg = parse_config(raw)
    forget_reads()
    assert cfg.stage1.lr == 0.1 and method_section(cfg, "tde").train.heads == 2 and cfg.method == "softmax"
    assert cfg.data.synthetic is not None  # a section alone is not a read: only its fields are
    assert reads() == {"stage1.lr": 0.1, "tde.train.heads": 2, "method": "softmax"}
    dataclasses.replace(cfg.stage1, epochs=3)  # a copy reads every field it keeps
    assert "stage1.momentum" in reads() and "stage1.epochs" not in reads()


def test_a_nested_section_left_out_takes_its_own_defaults(raw):
    del raw["experts"]["medium"]
    raw["experts"]["few"] = {"epochs": 3}
    cfg = parse_config(raw)
    # the medium and few experts train fewer stages than the many-shot one by default
    assert method_section(cfg, "experts").medium.train_stages == 1
    assert (method_section(cfg, "experts").few.train_stages, method_section(cfg, "experts").few.epochs) == (0, 3)


def test_a_method_section_is_validated_when_asked_for_or_with_every_method(raw):
    raw["tde"]["train"]["heads"] = 0
    cfg = parse_config(raw)  # stage 1 never reads tde's section, so it does not stop on its error
    assert cfg.stage1.epochs == 30
    with pytest.raises(LtrError, match="tde.train.heads = 0 is out of range"):
        method_section(cfg, "tde")
    with pytest.raises(LtrError, match="tde.train.heads"):
        check_all(parse_config(raw))


def test_every_method_has_a_train_and_a_logits_section(raw_params):
    # stage 2 tracks `${method}.train` and logits `${method}.logits`: DVC needs both keys to exist
    for name in method_names():
        assert {"train", "logits"} <= set(raw_params[name]), name


def test_from_scratch_methods_repeat_stage_1s_schedule(raw_params):
    """The default comparison is at equal cost: every method that trains from scratch in stage 2 uses
    stage 1's schedule (softmax's), and every method's train section lists every key of its section."""
    schedule = [f.name for f in dataclasses.fields(TrainConfig)]
    for name in method_names():
        train = raw_params[name]["train"]
        cls = {f.name: f.type for f in dataclasses.fields(spec(name).params)}["train"]
        assert sorted(train) == sorted(f.name for f in dataclasses.fields(cls)), name
        if spec(name).trained_in == ("stage2",):
            assert {k: train[k] for k in schedule} == {k: raw_params["stage1"][k] for k in schedule}, name


def test_loading_params_imports_neither_torch_nor_a_method():
    code = (
        "import sys; from ltr.config import load_config; cfg = load_config(); cfg.stage1.lr; "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy') or m.startswith('ltr.methods')"
        " or m.startswith('ltr.config.methods.')]; print(loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PARAMS.parent, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _keys(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}{key}", key
            yield from _keys(value, f"{path}{key}.")


def test_no_param_has_a_name_that_dvc_leaves_out_of_its_run_cache_key():
    """DVC's run-cache key drops every key named like a file's size or count, at any depth, so a param
    so named would restore the output of another value (data.image_lists.size did)."""
    from dvc_data.hashfile.meta import Meta

    dropped = {Meta.PARAM_SIZE, Meta.PARAM_NFILES}  # what dvc.stage.cache excludes from the key
    files = [PARAMS, *sorted((PARAMS.parent / "params").glob("*.yaml"))]
    named = [(f.name, path) for f in files for path, key in _keys(yaml.safe_load(f.read_text())) if key in dropped]
    defaults = check_all(parse_config({}))
    sections = {name: getattr(defaults, name) for name in SECTIONS} | {
        m: method_section(defaults, m) for m in method_names()
    }
    for name, section in sections.items():
        named += [("defaults", f"{name}.{p}") for p, key in _keys(dataclasses.asdict(section)) if key in dropped]
    assert not named, f"params named {sorted(dropped)}: {named}"
