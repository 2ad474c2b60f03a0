import pytest
import torch
import torch.nn.functional as F

from ltr.data.loader import PAD, TensorBatches, batch_starts, epoch_generator, random_crop_flip


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


@pytest.mark.parametrize(
    "n, drop_last, min_last, sizes",
    [
        (10, False, 1, [4, 4, 2]),  # the originals' DataLoader: the last, partial batch is kept
        (10, True, 1, [4, 4]),
        (9, False, 2, [4, 4]),  # a last batch of one image cannot train BatchNorm: dropped
        (10, False, 2, [4, 4, 2]),
        (3, False, 2, [3]),  # a list smaller than one batch is one batch
        (8, False, 2, [4, 4]),
    ],
)
def test_batch_starts_keep_a_partial_last_batch_of_min_last_images(n, drop_last, min_last, sizes):
    starts = batch_starts(n, 4, drop_last, min_last)
    assert [min(4, n - s) for s in starts] == sizes


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


def test_the_rotation_of_the_cifar_recipe_turns_each_image_about_its_centre():
    """crop_flip_rotate: the crop and flip of crop_flip with the same draws, then a rotation within 15
    degrees: nearest-neighbour (only the image's own values, and the zeros of the padding and the
    corners), the centre pixel kept, and the corners of a full white image turned black."""
    from ltr.data.loader import random_crop_flip, random_crop_flip_rotate

    white = torch.full((64, 3, 32, 32), 255, dtype=torch.uint8)
    rotated = random_crop_flip_rotate(white, torch.Generator().manual_seed(0))
    assert rotated.dtype == torch.uint8 and set(rotated.unique().tolist()) <= {0, 255}
    corners = rotated[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 0).any() and (rotated[:, :, 16, 16] == 255).all()
    # with the rotation drawn after them, the crops and flips are those of crop_flip
    image = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    plain = random_crop_flip(image, torch.Generator().manual_seed(2))
    turned = random_crop_flip_rotate(image, torch.Generator().manual_seed(2))
    assert (turned[:, :, 14:18, 14:18] == plain[:, :, 14:18, 14:18]).float().mean() > 0.9
