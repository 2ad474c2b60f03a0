"""A procedural miniature of CIFAR-100: 32x32 RGB classes grouped into super-classes.

A class is a template of a few soft shapes ("parts"), each with a centre, axes, angle, a shape
exponent (diamond to rectangle), two colours and a stripe texture. Every template parameter is a
standard-normal latent mapped to its range through the normal CDF, so blending latents with
variance-preserving weights makes two classes of one super-class correlate at exactly `similarity`
without washing their colours toward grey.

One scalar `difficulty` in [0, 1] scales every nuisance of an instance: part dropout and jitter, a
global affine, a textured background, clutter made of other classes' parts, an occluder, colour
jitter and pixel noise. Clutter from other classes and the global jitter are what make a handful of
examples insufficient, so the long tail hurts as it does on CIFAR-100-LT.

All random draws come from one seeded generator in a fixed order: the same spec gives the same bytes.
"""

import math
from dataclasses import dataclass

import torch

PARTS = 5  # object parts per class template
CLUTTER = 3  # clutter slots per image, each filled with probability `difficulty`

# latent layout of one part: (name, first index, width, low, high)
_PART_FIELDS = {
    "centre": (0, 2, -0.55, 0.55),
    "axes": (2, 2, 0.16, 0.50),
    "angle": (4, 1, 0.0, math.pi),
    "shape": (5, 1, 0.0, 2.0),  # 0 diamond, 1 ellipse, 2 rectangle
    "colour_a": (6, 3, 0.0, 1.0),
    "colour_b": (9, 3, 0.0, 1.0),
    "stripe_freq": (12, 1, 0.0, 2.2),  # stripes per unit of the part frame
    "stripe_angle": (13, 1, 0.0, math.pi),
}
_PART_DIM = 14
_BACKGROUND_DIM = 3


@dataclass(frozen=True)
class SyntheticSpec:
    num_classes: int = 100
    num_superclasses: int = 20
    open_classes: int = 20
    similarity: float = 0.5
    difficulty: float = 0.5
    image_size: int = 32


def _to_range(latent: torch.Tensor, low: float, high: float) -> torch.Tensor:
    uniform = 0.5 * (1 + torch.erf(latent / math.sqrt(2)))
    return low + (high - low) * uniform


def make_templates(spec: SyntheticSpec, gen: torch.Generator) -> dict:
    """Latents of every class (known classes first, then open-set classes) and their super-classes."""
    total = spec.num_classes + spec.open_classes
    if spec.num_classes % spec.num_superclasses:
        raise ValueError(
            f"data.synthetic.num_classes = {spec.num_classes} must be a multiple of "
            f"num_superclasses = {spec.num_superclasses}"
        )
    # super-classes scattered over class ids, as CIFAR-100's alphabetical ids scatter them
    per_super = spec.num_classes // spec.num_superclasses
    known_super = torch.arange(spec.num_superclasses).repeat_interleave(per_super)
    known_super = known_super[torch.randperm(spec.num_classes, generator=gen)]
    open_super = torch.arange(spec.open_classes) % spec.num_superclasses
    superclass = torch.cat([known_super, open_super])

    dim = PARTS * _PART_DIM + _BACKGROUND_DIM
    base = torch.randn(spec.num_superclasses, dim, generator=gen)
    own = torch.randn(total, dim, generator=gen)
    s = spec.similarity
    latent = math.sqrt(s) * base[superclass] + math.sqrt(1 - s) * own
    return {"latent": latent, "superclass": superclass}


def _part_params(latent: torch.Tensor) -> dict[str, torch.Tensor]:
    """latent (..., PARTS * _PART_DIM) -> dict of (..., PARTS, width) parameters."""
    parts = latent[..., : PARTS * _PART_DIM].reshape(*latent.shape[:-1], PARTS, _PART_DIM)
    return {name: _to_range(parts[..., i : i + w], low, high) for name, (i, w, low, high) in _PART_FIELDS.items()}


def _normal(gen, *shape):
    return torch.randn(*shape, generator=gen)


def _uniform(gen, *shape):
    return torch.rand(*shape, generator=gen)


def _composite(canvas, grid, p, visible):
    """Alpha-composite a batch of soft superellipse parts (B, K, ...) onto canvas (B, 3, H, W).

    grid: (B, H, W, 2) coordinates in the object frame; p: dict of (B, K, width) tensors.
    """
    for k in range(p["centre"].shape[1]):
        rel = grid - p["centre"][:, k, None, None, :]
        cos, sin = torch.cos(p["angle"][:, k]), torch.sin(p["angle"][:, k])
        u = (rel[..., 0] * cos[:, :, None] + rel[..., 1] * sin[:, :, None]) / p["axes"][:, k, None, None, 0]
        v = (-rel[..., 0] * sin[:, :, None] + rel[..., 1] * cos[:, :, None]) / p["axes"][:, k, None, None, 1]
        # shape in [0, 2]: diamond (L1 norm) -> ellipse (L2) -> rectangle (Linf), blended linearly;
        # cheaper than a superellipse's powers and as varied
        au, av = u.abs(), v.abs()
        t = p["shape"][:, k, None, None, 0]
        l1, l2, linf = au + av, torch.sqrt(u * u + v * v), torch.maximum(au, av)
        dist = torch.where(t < 1, l1 + t * (l2 - l1), l2 + (t - 1) * (linf - l2))
        alpha = ((1 - dist) * 6 + 0.5).clamp(0, 1) * visible[:, k, None, None]
        phase = p["stripe_angle"][:, k, None, None, 0]
        wave = p["stripe_freq"][:, k, None, None, 0] * (u * torch.cos(phase) + v * torch.sin(phase))
        stripe = (2 * (wave - torch.floor(wave)) - 1).abs()  # triangle wave in [0, 1]
        colour = p["colour_a"][:, k, :, None, None] * stripe[:, None] + p["colour_b"][:, k, :, None, None] * (
            1 - stripe[:, None]
        )
        canvas = canvas * (1 - alpha[:, None]) + colour * alpha[:, None]
    return canvas


def render(templates: dict, labels: torch.Tensor, spec: SyntheticSpec, gen: torch.Generator) -> torch.Tensor:
    """Render one image per label; returns uint8 (B, H, W, 3), the layout of CIFAR's arrays."""
    d = spec.difficulty
    b, size = len(labels), spec.image_size
    latent = templates["latent"]
    n_templates = latent.shape[0]

    # -- object parts: the class template jittered per instance
    p = _part_params(latent[labels])
    p["centre"] = p["centre"] + 0.25 * d * _normal(gen, b, PARTS, 2)
    p["axes"] = p["axes"] * torch.exp(0.35 * d * _normal(gen, b, PARTS, 2))
    p["angle"] = p["angle"] + 0.8 * d * _normal(gen, b, PARTS, 1)
    for c in ("colour_a", "colour_b"):
        p[c] = (p[c] + 0.25 * d * _normal(gen, b, PARTS, 3)).clamp(0, 1)
    visible = (_uniform(gen, b, PARTS) >= 0.5 * d).float()
    visible[:, 0] = 1.0  # the largest cue never disappears entirely

    # -- clutter: random parts of random other templates, placed anywhere
    donor = torch.randint(0, n_templates, (b, CLUTTER), generator=gen)
    donor_part = torch.randint(0, PARTS, (b, CLUTTER), generator=gen)
    q_all = _part_params(latent[donor])  # (b, CLUTTER, PARTS, w)
    q = {k: v[torch.arange(b)[:, None], torch.arange(CLUTTER)[None], donor_part] for k, v in q_all.items()}
    q["centre"] = _uniform(gen, b, CLUTTER, 2) * 2 - 1
    q["axes"] = q["axes"] * 0.8
    clutter_on = (_uniform(gen, b, CLUTTER) < d).float()

    # -- global affine of the object (rotation, scale, anisotropy, translation, flip)
    theta = 0.8 * d * _normal(gen, b)
    scale = torch.exp(0.25 * d * _normal(gen, b))
    aniso = torch.exp(0.2 * d * _normal(gen, b))
    shift = 0.3 * d * _normal(gen, b, 2)
    flip = torch.where(_uniform(gen, b) < 0.5, -1.0, 1.0)

    axis = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    screen = torch.stack([xx, yy], -1).expand(b, size, size, 2)
    rel = screen - shift[:, None, None, :]
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    ox = (rel[..., 0] * cos + rel[..., 1] * sin) / (scale * aniso)[:, None, None] * flip[:, None, None]
    oy = (-rel[..., 0] * sin + rel[..., 1] * cos) / (scale / aniso)[:, None, None]
    object_grid = torch.stack([ox, oy], -1)

    # -- background: the class's colour, pulled toward a random one, plus low-frequency texture
    bg_class = _to_range(latent[labels, -_BACKGROUND_DIM:], 0.0, 1.0)
    bg_mix = 0.4 + 0.5 * d
    bg = (1 - bg_mix) * bg_class + bg_mix * _uniform(gen, b, 3)
    texture = torch.nn.functional.interpolate(_normal(gen, b, 3, 4, 4), size=(size, size), mode="bilinear")
    canvas = bg[:, :, None, None] + 0.6 * d * 0.5 * texture

    canvas = _composite(canvas, screen, q, clutter_on)
    canvas = _composite(canvas, object_grid, p, visible)

    # -- occluder: a flat rectangle in front, with probability `difficulty`
    occ = {
        "centre": _uniform(gen, b, 1, 2) * 1.6 - 0.8,
        "axes": 0.15 + 0.25 * _uniform(gen, b, 1, 2),
        "angle": _uniform(gen, b, 1, 1) * math.pi,
        "shape": torch.full((b, 1, 1), 2.0),
        "colour_a": _uniform(gen, b, 1, 3),
        "stripe_freq": torch.zeros(b, 1, 1),
        "stripe_angle": torch.zeros(b, 1, 1),
    }
    occ["colour_b"] = occ["colour_a"]
    canvas = _composite(canvas, screen, occ, (_uniform(gen, b, 1) < 0.6 * d).float())

    # -- photometric jitter and sensor noise
    grey = canvas.mean(1, keepdim=True)
    saturation = torch.exp(0.5 * d * _normal(gen, b))[:, None, None, None]
    canvas = grey + (canvas - grey) * saturation
    mean = canvas.mean((1, 2, 3), keepdim=True)
    contrast = torch.exp(0.3 * d * _normal(gen, b))[:, None, None, None]
    brightness = 0.25 * d * _normal(gen, b)[:, None, None, None]
    canvas = (canvas - mean) * contrast + mean + brightness
    canvas = canvas + 0.06 * d * _normal(gen, b, 3, size, size)
    return (canvas.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def generate(spec: SyntheticSpec, per_class: dict[str, int], open_per_class: int, seed: int, chunk: int = 512):
    """Images and labels of every pool.

    per_class: images per known class for each pool (e.g. train 500, test 100, val 20);
    open_per_class: images of each open-set class (pool "open", labels are the open class ids
    spec.num_classes .. spec.num_classes + open_classes - 1 here; the splits stage maps them to -1).
    Returns {"images": uint8 (N, H, W, 3), "labels": int64 (N,), "pool": list[str], "superclass": ...}.
    """
    gen = torch.Generator().manual_seed(seed)
    templates = make_templates(spec, gen)
    labels, pools = [], []
    for pool, n in per_class.items():
        labels.append(torch.arange(spec.num_classes).repeat_interleave(n))
        pools += [pool] * (n * spec.num_classes)
    if spec.open_classes and open_per_class:
        open_ids = torch.arange(spec.num_classes, spec.num_classes + spec.open_classes)
        labels.append(open_ids.repeat_interleave(open_per_class))
        pools += ["open"] * (open_per_class * spec.open_classes)
    labels = torch.cat(labels)
    images = torch.cat([render(templates, labels[i : i + chunk], spec, gen) for i in range(0, len(labels), chunk)])
    return {"images": images, "labels": labels, "pool": pools, "superclass": templates["superclass"]}
