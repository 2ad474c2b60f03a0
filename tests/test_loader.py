import torch
import torch.nn.functional as F

from ltr.data.loader import PAD, TensorBatches, epoch_generator, random_crop_flip


def _windows(image: torch.Tensor) -> list[torch.Tensor]:
    """Every crop of the zero-padded image, and of its mirror image."""
    h, w = image.shape[-2:]
    padded = F.pad(image, (PAD, PAD, PAD, PAD))
    crops = [padded[:, y : y + h, x : x + w] for y in range(2 * PAD + 1) for x in range(2 * PAD + 1)]
    return crops + [c.flip(-1) for c in crops]


def test_random_crop_flip_returns_windows_of_the_padded_image():
    images = torch.randint(1, 255, (6, 3, 8, 8), dtype=torch.uint8)
    out = random_crop_flip(images, torch.Generator().manual_seed(3))
    assert out.shape == images.shape and out.dtype == torch.uint8
    for image, crop in zip(images, out, strict=True):
        assert any(torch.equal(crop, w) for w in _windows(image))


def test_random_crop_flip_varies_within_a_batch():
    images = torch.randint(1, 255, (1, 3, 8, 8), dtype=torch.uint8).repeat(32, 1, 1, 1)
    out = random_crop_flip(images, torch.Generator().manual_seed(0))
    distinct = {tuple(o.flatten().tolist()) for o in out}
    assert len(distinct) > 10


def _batches(**kwargs):
    images = torch.arange(10 * 3 * 4 * 4, dtype=torch.int64).remainder(256).to(torch.uint8).view(10, 3, 4, 4)
    labels = torch.arange(10)
    return TensorBatches(images, labels, batch_size=4, mean=[0.5] * 3, std=[0.25] * 3, **kwargs)


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = [y.tolist() for _, y in _batches(shuffle=True, seed=1).epoch(3)]
    b = [y.tolist() for _, y in _batches(shuffle=True, seed=1).epoch(3)]
    c = [y.tolist() for _, y in _batches(shuffle=True, seed=1).epoch(4)]
    assert a == b
    assert a != c
    assert sorted(sum(a, [])) == list(range(10))


def test_drop_last_and_normalisation():
    batches = _batches(drop_last=True)
    assert batches.num_batches() == 2
    out = list(batches.epoch(0))
    assert [len(y) for _, y in out] == [4, 4]
    x, _ = out[0]
    assert x.is_contiguous(memory_format=torch.channels_last)
    first_pixel = (0 / 255 - 0.5) / 0.25
    assert torch.isclose(x[0, 0, 0, 0], torch.tensor(first_pixel))
    assert _batches().num_batches() == 3


def test_sampler_sets_the_epoch():
    class EveryOther:
        num_samples = 5

        def __call__(self, gen):
            return torch.arange(0, 10, 2)

    batches = _batches(sampler=EveryOther())
    assert [y.tolist() for _, y in batches.epoch(0)] == [[0, 2, 4, 6], [8]]
    assert batches.num_batches() == 2


def test_epoch_generator_is_reproducible():
    assert torch.equal(torch.rand(3, generator=epoch_generator(2, 5)), torch.rand(3, generator=epoch_generator(2, 5)))


def test_gaussian_blur_is_torchvisions_with_a_sigma_per_image():
    import torchvision.transforms.v2.functional as TF

    from ltr.data.filters import gaussian_blur

    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    sigma = torch.tensor([0.5, 1.0, 2.0])
    out = gaussian_blur(x, sigma, radius=4)
    for i, s in enumerate(sigma.tolist()):
        expected = TF.gaussian_blur(x[i], kernel_size=9, sigma=s)  # reflect-padded, as here
        torch.testing.assert_close(out[i], expected, atol=1e-5, rtol=0)
