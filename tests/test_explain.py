"""`ltr explain KEY`: the value, default, range, help, tracking stages and readers of a key, from the
declarations, dvc.yaml and an AST scan of the code; one line naming close matches for an unknown key."""

import pytest

from conftest import REPO
from ltr.cli import main


def explained(key: str, capsys, monkeypatch) -> dict[str, str]:
    """The lines of `ltr explain KEY` by label ("" for the first line), a label's lines joined."""
    monkeypatch.chdir(REPO)
    assert main(["explain", key]) == 0
    first, *lines = capsys.readouterr().out.splitlines()
    out, label = {"": first}, ""
    for line in lines:
        label = line[2:12].strip() or label  # a label is 10 wide; a line without one continues the last
        out[label] = out.get(label, "") + line[12:] + "\n"
    return out


def test_an_ordinary_key(capsys, monkeypatch):
    out = explained("eval.open_threshold", capsys, monkeypatch)
    assert out[""] == "eval.open_threshold = 0.1 in params.yaml"
    assert out["default"] == "0.1\n" and out["type"] == "float, >= 0.0, <= 1.0\n"
    assert out["help"].startswith("OLTR: reject as unknown when the max softmax probability is below this")
    assert out["tracked"] == "evaluate\n"  # dvc.yaml tracks the whole eval section
    assert "stages/evaluate.py" in out["read at"] or "src/ltr/metrics" in out["read at"], out["read at"]


def test_a_method_key(capsys, monkeypatch):
    out = explained("tde.logits.alpha", capsys, monkeypatch)
    assert out["type"] == "float | str\n" and "a choice the original lacks" in out["help"]
    assert out["tracked"] == "logits (as ${method}.logits, while method is tde; now softmax)\n"
    assert out["read at"].startswith("src/ltr/methods/tde/steps.py:")
    assert "p.logits.alpha" in out["read at"]


def test_a_key_merged_from_a_schedule(capsys, monkeypatch):
    out = explained("crt.train.lr", capsys, monkeypatch)
    assert out["default"] == "0.05 (schedules.fine_tune's, merged into crt.train)\n"
    assert "src/ltr/engine/optim.py" in out["read at"]  # every schedule's lr is read there, through TrainConfig


def test_a_schedule_key(capsys, monkeypatch):
    out = explained("schedules.fine_tune.lr", capsys, monkeypatch)
    assert out["default"] == "0.05\n" and out["help"].startswith("Decoupling: 0.2 at batch 512")
    assert (
        out["taken by"] == "crt.train.lr, lws.train.lr, ssp.train.lr, template_trained.train.lr\n"
    )  # oltr sets its own
    assert "while method is crt or lws or ssp or template_trained" in out["tracked"]


def test_a_data_sets_own_key_is_tracked_through_data_name(capsys, monkeypatch):
    out = explained("data.imagenet_lt.crop_size", capsys, monkeypatch)
    assert out["tracked"] == "prepare (as data.${data.name}, while data.name is imagenet_lt; now synthetic)\n"


def test_an_untracked_key_read_through_an_untyped_name(capsys, monkeypatch):
    out = explained("runtime.nproc", capsys, monkeypatch)
    assert out["tracked"].startswith("by no stage")
    assert "src/ltr/processes.py" in out["read at"]


@pytest.mark.parametrize(
    "key, message",
    [
        ("stage1.lrr", "error: unknown key 'stage1.lrr'; close matches: stage1.lr, stage1"),
        ("train.power", "error: unknown key 'train.power'; close matches: template_trained.train.power"),
    ],
)
def test_an_unknown_key_names_close_matches(key, message, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["explain", key]) == 2
    assert capsys.readouterr().err.splitlines() == [message]
