"""Image lists decoded by torchvision on the training device (runtime.decode: device), against the PIL
DataLoader path, on CPU: the same transforms for the same random draws, the same batches otherwise."""

import numpy as np
import pytest
import torch
from PIL import Image
from test_image_lists import SMALL_BATCHES, make_tree

from ltr import processes
from ltr.data.image_loader import ImageListBatches, decode, image_transform, read_bytes, read_rgb
from ltr.data.tensor_transforms import TensorTransform
from ltr.errors import LtrError

CPU = torch.device("cpu")


def smooth_jpegs(root) -> list:
    """JPEGs of smooth colour waves with mild noise, in four shapes: resampling compares on them as on
    photos (pure noise would exaggerate the filters' differences)."""
    rng, paths = np.random.RandomState(0), []
    for k, (h, w) in enumerate([(90, 120), (64, 64), (150, 70), (40, 160)]):
        yy, xx = np.mgrid[0:h, 0:w]
        waves = [128 + 100 * np.sin(xx / 7 + k), 128 + 100 * np.cos(yy / 9), 128 + 80 * np.sin((xx + yy) / 13)]
        pixels = np.clip(np.stack(waves, -1) + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"{k}.jpg", quality=90)
        paths.append(root / f"{k}.jpg")
    return paths


# Measured here, 6 seeds x 4 images, in levels of 0-255. Both paths resize uint8 and round, PIL with
# its fixed-point filter weights: the test transform is exact but for 1 level on some pixels (mean
# 0.06). The tensor path stays float after the crop, where PIL rounds to uint8 after every operation:
# crop_flip, rounding after each jitter operation (contrast's grey mean rounded to an integer too),
# amplified by factors up to 1.4: p99 2.8, max 4.8, mean 1.4. tade (= moco on image lists): PIL
# shifts the hue in an 8-bit HSV image, whose round trip alone moves pixels by up to 5 levels before
# contrast and saturation amplify it: p99 6.2, max 12.6, mean 1.5. The same transform drawn from
# another seed is about 60 levels away on average.
@pytest.mark.parametrize("augment, p99, mean", [("none", 1.0, 0.2), ("crop_flip", 4.0, 2.0), ("tade", 9.0, 2.0)])
def test_a_seed_draws_and_computes_what_torchvision_draws_and_computes(tmp_path, augment, p99, mean):
    pil = image_transform(augment, 48, 56, mean=[0.0] * 3, std=[1 / 255] * 3)  # 0-255 out, as the tensor path
    tensor = TensorTransform(augment, 48, 56)
    same, other = [], []
    for path in smooth_jpegs(tmp_path):
        image = decode([read_bytes(path)], [path], CPU)[0]
        assert torch.equal(image, torch.from_numpy(np.array(read_rgb(path))).permute(2, 0, 1))  # both libjpeg-turbo
        for seed in range(6):
            torch.manual_seed(seed)  # torchvision's transforms draw from the global generator
            expected = pil(read_rgb(path))
            for s, gaps in ((seed, same), (seed + 100, other)):
                draw = tensor.draw(torch.Generator().manual_seed(s), *image.shape[-2:])
                gaps.append((tensor.finish(tensor.crop(image, draw)[None], [draw])[0] - expected).abs().flatten())
    gaps = torch.cat(same)
    print(f"{augment}: max {gaps.max():.2f}, p99 {torch.quantile(gaps, 0.99):.2f}, mean {gaps.mean():.3f}")
    assert torch.quantile(gaps, 0.99) <= p99 + 1e-3 and gaps.mean() <= mean
    if augment != "none":  # the tolerance tells transforms apart
        assert torch.cat(other).mean() > 20


def test_device_batches_match_the_pil_batches(tmp_path, monkeypatch):
    lists = make_tree(tmp_path)
    paths, labels = zip(*lists["train"], strict=True)
    common = {**SMALL_BATCHES, "batch_size": 8, "num_workers": 0, "seed": 3}

    def batches(decode, augment, **kwargs):
        return ImageListBatches(tmp_path, paths, labels, augment=augment, decode=decode, **common, **kwargs)

    train = {d: batches(d, "crop_flip", shuffle=True, drop_last=True) for d in ("pil", "device")}
    (x, y), (x_pil, y_pil) = next(train["device"].epoch(1)), next(train["pil"].epoch(1))
    assert x.shape == x_pil.shape == (8, 3, 32, 32) and x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(y, y_pil)  # the same images in the same order
    assert torch.equal(next(train["device"].epoch(1))[0], x)  # the epoch's generator fixes the augmentation
    assert not torch.equal(next(train["device"].epoch(2))[0], x)
    # this process's slice of a batch is transformed as the whole batch is
    monkeypatch.setattr(processes, "world_size", lambda: 2)
    slices = []
    for r in (0, 1):
        monkeypatch.setattr(processes, "rank", lambda r=r: r)
        slices.append(next(train["device"].epoch(1, part=True)))
    assert torch.equal(torch.cat([s[0] for s in slices]), x) and torch.equal(torch.cat([s[1] for s in slices]), y)
    monkeypatch.undo()

    test = {d: batches(d, "none") for d in ("pil", "device")}
    for (x, y), (x_pil, y_pil) in zip(test["device"].epoch(0), test["pil"].epoch(0), strict=True):
        assert torch.equal(y, y_pil) and (x - x_pil).abs().max() * 0.25 * 255 <= 1.01  # std 0.25: in grey levels
    (first, second), _ = next(batches("device", "tade").epoch(0, views=2))
    assert first.shape == second.shape == (8, 3, 32, 32) and not torch.equal(first, second)


def test_an_unreadable_image_is_named(tmp_path):
    lists = make_tree(tmp_path)
    bad = tmp_path / lists["test"][1][0]
    bad.write_bytes(b"not a jpeg")
    paths, labels = zip(*lists["test"], strict=True)
    batches = ImageListBatches(
        tmp_path, paths, labels, augment="none", batch_size=4, num_workers=2, decode="device", **SMALL_BATCHES
    )
    with pytest.raises(LtrError, match=f"cannot read image {bad}: cannot identify image file"):
        list(batches.epoch(0))


def test_auto_decodes_on_the_device_when_it_is_a_gpu():
    from ltr.config import parse_config
    from ltr.pipeline import stage_models

    for param, device, expected in [("auto", "cpu", "pil"), ("auto", "cuda", "device"), ("device", "cpu", "device")]:
        data = stage_models(parse_config({"runtime": {"decode": param}}), "stage1", trains=False).data
        data.device = torch.device(device)  # as on a CUDA machine
        assert data.decoder == expected
