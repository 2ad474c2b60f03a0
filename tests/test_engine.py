import pytest
import torch
import torch.nn.functional as F

from ltr.config import TrainConfig
from ltr.data.loader import TensorBatches
from ltr.engine.checkpoint import ResumeState, load_checkpoint, save_checkpoint
from ltr.engine.schedule import lr_factor
from ltr.engine.train import Log, Objective, Runtime, cross_entropy_step, fit
from ltr.errors import LtrError
from ltr.models import create_model

CPU = torch.device("cpu")
CFG = TrainConfig(epochs=3, batch_size=16, lr=0.05, warmup_epochs=1)


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (64, 3, 8, 8), generator=g, dtype=torch.uint8)
    labels = torch.arange(64) % 4
    common = dict(mean=[0.5] * 3, std=[0.25] * 3)
    train = TensorBatches(images, labels, batch_size=16, augment="crop_flip", shuffle=True, drop_last=True, **common)
    val = TensorBatches(images[:32], labels[:32], batch_size=32, **common)
    return train, val


def _model():
    torch.manual_seed(0)
    return create_model("resnet8", 4)


def _fit(model, tmp_path, step=cross_entropy_step, cfg=CFG, compile=False):
    train, val = _data()
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
    return fit(
        model,
        opt,
        train,
        val,
        cfg,
        runtime=Runtime(CPU, amp=False, compile=compile),
        log=Log("test", tmp_path / "live"),
        resume=ResumeState(tmp_path / "resume"),
        objective=Objective(step=step),
    )


class Killed(Exception):
    pass


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path):
    reference = _model()
    ref = _fit(reference, tmp_path / "a")

    def dies_in_epoch_two(model, x, y, epoch):
        if epoch == 1:
            raise Killed
        return cross_entropy_step(model, x, y, epoch)

    with pytest.raises(Killed):
        _fit(_model(), tmp_path / "b", step=dies_in_epoch_two)
    assert (tmp_path / "b" / "resume" / "state.pt").exists()
    resumed = _model()
    res = _fit(resumed, tmp_path / "b")
    assert [r["epoch"] for r in res.history] == [1, 2, 3]
    assert [r["val_top1"] for r in res.history] == [r["val_top1"] for r in ref.history]
    assert res.best_epoch == ref.best_epoch
    for key, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_best_epoch_weights_are_kept(tmp_path):
    model = _model()
    result = _fit(model, tmp_path)
    best = max(result.history, key=lambda r: r["val_top1"])
    assert result.best_epoch == best["epoch"]
    assert result.best_val_top1 == pytest.approx(best["val_top1"])
    _, val = _data()
    x, y = next(val.epoch(0))
    model.eval()
    with torch.no_grad():
        assert 100 * (model(x).argmax(1) == y).float().mean().item() == pytest.approx(best["val_top1"], abs=1e-3)
    assert (tmp_path / "live" / "metrics.json").exists()


def test_nan_loss_stops_with_epoch_and_batch(tmp_path):
    def nan_at_second_batch(model, x, y, epoch):
        loss, logits = cross_entropy_step(model, x, y, epoch)
        nan_at_second_batch.calls += 1
        return (loss * float("nan") if nan_at_second_batch.calls == 2 else loss), logits

    nan_at_second_batch.calls = 0
    with pytest.raises(LtrError, match="epoch 1, batch 2"):
        _fit(_model(), tmp_path, step=nan_at_second_batch)


def test_schedule_warms_up_then_decays():
    f = lr_factor(TrainConfig(epochs=4, warmup_epochs=1), steps_per_epoch=10)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(25) == pytest.approx(0.5) and f(39) < 0.01
    m = lr_factor(TrainConfig(epochs=4, warmup_epochs=0, schedule="multistep", milestones=[2, 3]), 10)
    assert [m(s) for s in (0, 19, 20, 30)] == pytest.approx([1.0, 1.0, 0.1, 0.01])


def test_checkpoint_round_trip_and_bad_files(tmp_path):
    model = _model()
    save_checkpoint(tmp_path / "ok.pt", model.state_dict(), arch="resnet8")
    assert load_checkpoint(tmp_path / "ok.pt")["arch"] == "resnet8"

    data = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(LtrError, match=r"corrupt or not an ltr checkpoint \(PytorchStreamReader failed reading zip"):
        load_checkpoint(tmp_path / "truncated.pt")

    torch.save({"format": "ltr-checkpoint-1", "state_dict": {}, "loss": F.cross_entropy}, tmp_path / "foreign.pt")
    # a pickled function: weights_only loading refuses to import it, and the message says what it refused
    with pytest.raises(
        LtrError, match="weights_only loading refuses it: Unsupported global: GLOBAL torch.nn.functional"
    ):
        load_checkpoint(tmp_path / "foreign.pt")

    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(LtrError, match="not an ltr checkpoint"):
        load_checkpoint(tmp_path / "other.pt")

    with pytest.raises(LtrError, match="missing"):
        load_checkpoint(tmp_path / "absent.pt")


def test_compile_compiles_the_backbone_in_place(tmp_path, monkeypatch):
    compiled = []
    original = torch.nn.Module.compile

    def eager_compile(module, **kwargs):  # dynamo's graph capture without the slow C++ code generation
        compiled.append(module)
        original(module, backend="eager")

    monkeypatch.setattr(torch.nn.Module, "compile", eager_compile)
    plain, fast, one_epoch = _model(), _model(), TrainConfig(epochs=1, batch_size=16, lr=0.05)
    _fit(plain, tmp_path / "plain", cfg=one_epoch)
    _fit(fast, tmp_path / "compiled", cfg=one_epoch, compile=True)
    assert compiled == [fast.backbone]
    assert fast.state_dict().keys() == plain.state_dict().keys()
    for name, weight in plain.state_dict().items():
        assert torch.allclose(fast.state_dict()[name].float(), weight.float(), atol=1e-4), name


def _fit_expecting(error: str, batches, cfg: TrainConfig, tmp_path, name: str) -> None:
    model = _model()
    with pytest.raises(LtrError, match=error):
        fit(
            model,
            torch.optim.SGD(model.parameters(), lr=0.1),
            batches,
            batches,
            cfg,
            runtime=Runtime(CPU, amp=False),
            log=Log(name, tmp_path / "live"),
            resume=ResumeState(tmp_path),
        )


def test_a_training_list_of_one_image_is_refused(tmp_path):
    images, labels = torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.zeros(1, dtype=torch.long)
    small = TensorBatches(images, labels, batch_size=16, mean=[0.5] * 3, std=[0.25] * 3, shuffle=True, min_last=2)
    error = r"experts@few: too few training images for one batch \(a batch needs 2 a process\); add images"
    _fit_expecting(error, small, TrainConfig(epochs=1, batch_size=16), tmp_path, "experts@few")


def test_a_batch_the_processes_cannot_split_evenly_is_refused(tmp_path, monkeypatch):
    from ltr import processes

    monkeypatch.setattr(processes, "world_size", lambda: 3)
    error = r"stage1: batch_size = 32 is not divisible by runtime.nproc = 3"
    _fit_expecting(error, None, TrainConfig(epochs=1, batch_size=32), tmp_path, "stage1")
