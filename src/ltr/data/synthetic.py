"""A procedural miniature of CIFAR-100: small photos of objects standing on the ground, 32x32 RGB,
classes grouped into super-classes.

A class is an object template: a few soft parts (a body, limbs, small details), each with a place,
size, angle, outline (diamond to ellipse to rectangle) and a tone (lighter or darker than the rest of
the object). Identity lives in the silhouette and the arrangement of parts and their tones, at
several scales, the way a car is a car in any colour. Colour and texture are weaker cues: a class has a
hue that its objects take in a quarter of the images (any hue in the others) and a faint stripe texture
whose frequency and phase vary per image.

Every image has a canonical "up". The object stands upright, lit from above (lighter on top, darker
below, a shadow at its foot), tilted by a few degrees at most; a third of the photos are outdoors, a
sky above a textured ground, the others close-ups against a backdrop, where up shows only in the
object. So rotation is predictable, and greyscale, colour jitter and mild blur keep most of the class
evidence: each is a variation that the photos themselves contain (desaturated scenes, colour casts,
out-of-focus shots).

Every template parameter is a standard-normal latent mapped to its range through the normal CDF, so
blending latents with variance-preserving weights makes two classes of one super-class correlate at
exactly `similarity` (shared structure: siblings look alike in shape, not only in colour).

One scalar `difficulty` in [0, 1] scales every nuisance of an instance: part dropout and jitter, the
object's place, size and tilt, clutter (parts of other classes' objects on the horizon), an occluder in
front, lighting, colour cast, defocus and sensor noise. Clutter from other classes and the instance
jitter are what make a handful of examples insufficient, so the long tail hurts as it does on
CIFAR-100-LT.

All random draws come from one seeded generator in a fixed order: the same spec gives the same bytes.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ltr.config import DataConfig
from ltr.config.datasets.synthetic import SyntheticParams
from ltr.data.filters import gaussian_blur

PARTS = 6  # object parts per class template: the first four large, the last two small details
LARGE = 4
CLUTTER = 3  # clutter slots per image, each filled with probability `difficulty`
CLASS_HUE_P = 0.25  # how often an object takes its class's hue (else any hue)
OUTDOOR_P = 0.35  # photos with a horizon; the others are close-ups against a backdrop

# latent layout of one part: name -> (first index, width, low, high)
_PART_FIELDS = {
    "centre": (0, 2, -0.55, 0.55),  # x across, y up from the object's middle (object frame, height ~2)
    "axes": (2, 2, 0.22, 0.55),  # large parts; details are scaled down (_DETAIL_SCALE)
    "angle": (4, 1, -0.7, 0.7),  # limbs lean; the object as a whole stays upright
    "shape": (5, 1, 0.0, 2.0),  # 0 diamond, 1 ellipse, 2 rectangle
    "tone": (6, 1, -0.35, 0.35),  # lightness relative to the object's colour
    "stripe_freq": (7, 1, 0.5, 3.0),  # stripes per unit of the part frame
    "stripe_angle": (8, 1, 0.0, math.pi),
    "stripe_amp": (9, 1, 0.0, 0.12),  # a faint texture: a weak cue
}
_PART_DIM = 10
_OBJECT_FIELDS = {"hue": 0, "aspect": 1}  # the class's hue; its width / height
_OBJECT_DIM = 2
_DETAIL_SCALE = 0.5


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

    dim = PARTS * _PART_DIM + _OBJECT_DIM
    base = torch.randn(spec.num_superclasses, dim, generator=gen)
    own = torch.randn(total, dim, generator=gen)
    s = spec.similarity
    latent = math.sqrt(s) * base[superclass] + math.sqrt(1 - s) * own
    return {"latent": latent, "superclass": superclass}


def _part_params(latent: torch.Tensor) -> dict[str, torch.Tensor]:
    """latent (..., dim) -> dict of (..., PARTS, width) parameters, details scaled down."""
    parts = latent[..., : PARTS * _PART_DIM].reshape(*latent.shape[:-1], PARTS, _PART_DIM)
    p = {name: _to_range(parts[..., i : i + w], low, high) for name, (i, w, low, high) in _PART_FIELDS.items()}
    size = torch.ones(PARTS)
    size[LARGE:] = _DETAIL_SCALE
    p["axes"] = p["axes"] * size[:, None]
    return p


def _normal(gen, *shape):
    return torch.randn(*shape, generator=gen)


def _uniform(gen, *shape):
    return torch.rand(*shape, generator=gen)


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Hue, saturation, value of the same shape (...) in [0, 1] -> (..., 3)."""
    k = torch.tensor([5.0, 3.0, 1.0])
    t = (k + h[..., None] * 6) % 6
    return v[..., None] - v[..., None] * s[..., None] * torch.clamp(torch.minimum(t, 4 - t), 0, 1)


def _composite(canvas, grid, p, visible, sharpness, shade):
    """Alpha-composite a batch of soft parts (B, K, ...) onto canvas (B, 3, H, W), lit from above.

    grid: (B, H, W, 2) coordinates in the parts' frame (x right, y down); p: dict of (B, K, width)
    tensors with a "colour" (B, K, 3); sharpness: (B,) how hard the outlines are (focus); shade: how
    much lighter a part is at its top than at its bottom, and how dark its rim.
    """
    for k in range(p["centre"].shape[1]):
        rel = grid - p["centre"][:, k, None, None, :]
        cos, sin = torch.cos(p["angle"][:, k]), torch.sin(p["angle"][:, k])
        u = (rel[..., 0] * cos[:, :, None] + rel[..., 1] * sin[:, :, None]) / p["axes"][:, k, None, None, 0]
        v = (-rel[..., 0] * sin[:, :, None] + rel[..., 1] * cos[:, :, None]) / p["axes"][:, k, None, None, 1]
        # shape in [0, 2]: diamond (L1 norm) -> ellipse (L2) -> rectangle (Linf), blended linearly
        au, av = u.abs(), v.abs()
        t = p["shape"][:, k, None, None, 0]
        l1, l2, linf = au + av, torch.sqrt(u * u + v * v), torch.maximum(au, av)
        dist = torch.where(t < 1, l1 + t * (l2 - l1), l2 + (t - 1) * (linf - l2))
        alpha = ((1 - dist) * sharpness[:, None, None] + 0.5).clamp(0, 1) * visible[:, k, None, None]
        # light from above: brighter where the screen y is above the part's centre, a darker rim
        height = p["axes"][:, k].max(-1).values[:, None, None]
        light = 1 - shade * (rel[..., 1] / height).clamp(-1, 1) - 0.6 * shade * (dist - 0.6).clamp(0, 0.4) / 0.4
        phase = p["stripe_angle"][:, k, None, None, 0]
        wave = p["stripe_freq"][:, k, None, None, 0] * (u * torch.cos(phase) + v * torch.sin(phase))
        stripe = torch.cos(2 * math.pi * (wave + p["stripe_phase"][:, k, None, None, 0]))
        light = light * (1 + p["stripe_amp"][:, k, None, None, 0] * stripe)
        colour = p["colour"][:, k, :, None, None] * light[:, None]
        canvas = canvas + alpha[:, None] * (colour - canvas)
    return canvas


def _object_colours(latent, labels, gen, b):
    """Each part's colour: the object's hue (the class's one in CLASS_HUE_P of the images, any in the
    others), a random saturation and value, and the part's class-given tone."""
    class_hue = _to_range(latent[labels, PARTS * _PART_DIM + _OBJECT_FIELDS["hue"]], 0.0, 1.0)
    own_hue = torch.where(_uniform(gen, b) < CLASS_HUE_P, class_hue + 0.04 * _normal(gen, b), _uniform(gen, b))
    saturation = 0.9 * _uniform(gen, b)
    value = 0.4 + 0.4 * _uniform(gen, b)
    return own_hue % 1, saturation, value


def render(templates: dict, labels: torch.Tensor, spec: SyntheticSpec, gen: torch.Generator) -> torch.Tensor:
    """Render one image per label; returns uint8 (B, H, W, 3), the layout of CIFAR's arrays."""
    d = spec.difficulty
    b, size = len(labels), spec.image_size
    latent = templates["latent"]
    n_templates = latent.shape[0]

    # -- object parts: the class template jittered per instance
    p = _part_params(latent[labels])
    p["centre"] = p["centre"] + 0.2 * d * _normal(gen, b, PARTS, 2)
    p["axes"] = p["axes"] * torch.exp(0.3 * d * _normal(gen, b, PARTS, 2))
    p["angle"] = p["angle"] + 0.5 * d * _normal(gen, b, PARTS, 1)
    p["stripe_freq"] = p["stripe_freq"] * torch.exp(0.3 * _normal(gen, b, PARTS, 1))
    p["stripe_phase"] = _uniform(gen, b, PARTS, 1)
    visible = (_uniform(gen, b, PARTS) >= 0.4 * d).float()
    visible[:, 0] = 1.0  # the body never disappears
    hue, sat, val = _object_colours(latent, labels, gen, b)
    part_hue = hue[:, None] + 0.03 * _normal(gen, b, PARTS)
    part_val = (val[:, None] + p["tone"][..., 0]).clamp(0.05, 1.0)
    p["colour"] = _hsv_to_rgb(part_hue % 1, sat[:, None].expand(b, PARTS), part_val)

    # the object stands on the ground: its lowest point (an upright part frame's extent) at its foot
    aspect = _to_range(latent[labels, PARTS * _PART_DIM + _OBJECT_FIELDS["aspect"]], 0.7, 1.3)
    p["centre"] = p["centre"] * torch.stack([aspect, 1 / aspect], -1)[:, None, :]
    p["centre"][..., 1] = -p["centre"][..., 1]  # latent y up -> frame y down
    reach = p["axes"].max(-1).values * visible + (1 - visible) * -9
    bottom = (p["centre"][..., 1] + reach).max(1).values
    top = (p["centre"][..., 1] - p["axes"].max(-1).values).min(1).values
    p["centre"][..., 1] = p["centre"][..., 1] - bottom[:, None]  # the foot at frame y = 0

    # -- camera: where the ground is, where the object stands, how large it is, a slight tilt
    foot = 0.55 + 0.3 * _uniform(gen, b)  # screen y of the object's foot
    horizon = foot - 0.3 - 0.5 * _uniform(gen, b)
    scale = 1.3 / (bottom - top).clamp(min=0.5) * torch.exp(0.2 * d * _normal(gen, b))
    centre_x = 0.25 * d * _normal(gen, b)
    tilt = 0.1 * d * _normal(gen, b)
    flip = torch.where(_uniform(gen, b) < 0.5, -1.0, 1.0)

    axis = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    screen = torch.stack([xx, yy], -1).expand(b, size, size, 2)
    rel = screen - torch.stack([centre_x, foot], -1)[:, None, None, :]
    cos, sin = torch.cos(tilt)[:, None, None], torch.sin(tilt)[:, None, None]
    ox = (rel[..., 0] * cos + rel[..., 1] * sin) / scale[:, None, None] * flip[:, None, None]
    oy = (-rel[..., 0] * sin + rel[..., 1] * cos) / scale[:, None, None]
    object_grid = torch.stack([ox, oy], -1)

    # -- scene: outdoors, a sky lighter toward the horizon above a textured ground; otherwise a close-up
    # against a backdrop (a wall, foliage) with no horizon, where up shows only in the object itself:
    # its structure, its light from above, its shadow
    outdoor = (_uniform(gen, b) < OUTDOOR_P).float()[:, None, None, None]
    sky_top = _hsv_to_rgb(0.5 + 0.15 * _uniform(gen, b), 0.5 * _uniform(gen, b), 0.45 + 0.5 * _uniform(gen, b))
    sky_low = sky_top * 0.7 + 0.3 * (0.75 + 0.2 * _uniform(gen, b, 1))
    ground = _hsv_to_rgb(0.05 + 0.3 * _uniform(gen, b), 0.15 + 0.45 * _uniform(gen, b), 0.2 + 0.4 * _uniform(gen, b))
    backdrop = _hsv_to_rgb(_uniform(gen, b), 0.6 * _uniform(gen, b), 0.25 + 0.6 * _uniform(gen, b))
    y = yy.expand(b, size, size)
    above = ((y + 1) / (horizon[:, None, None] + 1)).clamp(0, 1)
    sky = sky_top[:, :, None, None] * (1 - above[:, None]) + sky_low[:, :, None, None] * above[:, None]
    depth = ((y - horizon[:, None, None]) / (1 - horizon[:, None, None])).clamp(0, 1)
    texture = F.interpolate(_normal(gen, b, 1, 6, 6), size=(size, size), mode="bilinear")
    floor = ground[:, :, None, None] * (0.8 + 0.35 * depth[:, None] + (0.1 + 0.15 * d) * texture)
    is_ground = ((y - horizon[:, None, None]) * size / 2 + 0.5).clamp(0, 1)[:, None]
    wall = backdrop[:, :, None, None] * (1 + (0.1 + 0.15 * d) * texture)
    canvas = outdoor * (sky * (1 - is_ground) + floor * is_ground) + (1 - outdoor) * wall
    sharpness = 4.0 + 6.0 * _uniform(gen, b) * (1 - 0.5 * d)  # outlines from sharp to out of focus

    # -- clutter: parts of other templates
    donor = torch.randint(0, n_templates, (b, CLUTTER), generator=gen)
    donor_part = torch.randint(0, LARGE, (b, CLUTTER), generator=gen)
    q_all = _part_params(latent[donor])  # (b, CLUTTER, PARTS, w)
    q = {k: v[torch.arange(b)[:, None], torch.arange(CLUTTER)[None], donor_part] for k, v in q_all.items()}
    q["axes"] = q["axes"] * (0.4 + 0.4 * _uniform(gen, b, CLUTTER, 1))
    on_horizon = horizon[:, None] + 0.1 - q["axes"][..., 1]  # outdoors, farther away on the horizon
    anywhere = _uniform(gen, b, CLUTTER) * 2 - 1  # in a close-up, on the backdrop behind the object
    q["centre"] = torch.stack(
        [_uniform(gen, b, CLUTTER) * 2 - 1, torch.where(outdoor[:, :, 0, 0] > 0, on_horizon, anywhere)], -1
    )
    q["angle"] = q["angle"] * 0.5
    q["stripe_phase"] = _uniform(gen, b, CLUTTER, 1)
    q["colour"] = _hsv_to_rgb(
        _uniform(gen, b, CLUTTER), _uniform(gen, b, CLUTTER), 0.3 + 0.5 * _uniform(gen, b, CLUTTER)
    )
    canvas = _composite(canvas, screen, q, (_uniform(gen, b, CLUTTER) < d).float(), sharpness * 0.6, 0.2)

    # -- the shadow at the object's foot, then the object
    width = (p["centre"][..., 0].abs() + p["axes"].max(-1).values).max(1).values * scale
    shadow_d = ((screen[..., 0] - centre_x[:, None, None]) / width[:, None, None]) ** 2 + (
        (screen[..., 1] - foot[:, None, None]) / 0.08
    ) ** 2
    canvas = canvas * (1 - 0.45 * (1 - shadow_d.sqrt()).clamp(0, 1)[:, None])
    canvas = _composite(canvas, object_grid, p, visible, sharpness, 0.3)

    # -- an occluder in front, rising from the bottom edge, with probability 0.6 x difficulty
    occ = {
        "centre": torch.stack([_uniform(gen, b, 1) * 1.6 - 0.8, 1.0 + 0.1 * _uniform(gen, b, 1)], -1),
        "axes": 0.15 + 0.3 * _uniform(gen, b, 1, 2),
        "angle": 0.3 * _normal(gen, b, 1, 1),
        "shape": 2 * _uniform(gen, b, 1, 1),
        "stripe_freq": torch.zeros(b, 1, 1),
        "stripe_angle": torch.zeros(b, 1, 1),
        "stripe_amp": torch.zeros(b, 1, 1),
        "stripe_phase": torch.zeros(b, 1, 1),
        "colour": _hsv_to_rgb(_uniform(gen, b, 1), _uniform(gen, b, 1), 0.2 + 0.5 * _uniform(gen, b, 1)),
    }
    canvas = _composite(canvas, screen, occ, (_uniform(gen, b, 1) < 0.6 * d).float(), sharpness, 0.25)

    # -- the photo: exposure, contrast, saturation, colour cast, defocus, sensor noise
    grey = canvas.mean(1, keepdim=True)
    saturation = torch.exp(0.4 * d * _normal(gen, b))[:, None, None, None]
    canvas = grey + (canvas - grey) * saturation
    mean = canvas.mean((1, 2, 3), keepdim=True)
    contrast = torch.exp(0.25 * d * _normal(gen, b))[:, None, None, None]
    brightness = 0.15 * d * _normal(gen, b)[:, None, None, None]
    cast = torch.exp(0.1 * d * _normal(gen, b, 3))[:, :, None, None]
    canvas = ((canvas - mean) * contrast + mean + brightness) * cast
    defocus = (1.0 + d) * _uniform(gen, b)  # blur sigma in pixels, sharp to soft: blur sigma 1 keeps the class
    canvas = gaussian_blur(canvas, defocus, radius=3)
    canvas = canvas + 0.04 * d * _normal(gen, b, 3, size, size)
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


def prepare_synthetic(s: SyntheticParams, seed: int) -> dict:
    """The data set of data.synthetic as write_prepared takes it: the extra classes' test images are
    the open set (label -1), and the class names say each class's super-class."""
    spec = SyntheticSpec(s.num_classes, s.num_superclasses, s.open_classes, s.similarity, s.difficulty, s.image_size)
    pools = {"train": s.train_per_class, "val": s.val_per_class, "test": s.test_per_class}
    out = generate(spec, pools, open_per_class=s.test_per_class, seed=seed)
    labels = out["labels"].numpy()
    labels[labels >= s.num_classes] = -1
    superclass = out["superclass"][: s.num_classes].tolist()
    names = [f"super{sc:02d}_class{c:03d}" for c, sc in enumerate(superclass)]
    info = {"name": "synthetic", "num_classes": s.num_classes, "class_names": names, "superclass": superclass}
    return {"images": out["images"].numpy(), "labels": labels, "pools": out["pool"], "info": info}


def prepare(data: DataConfig) -> dict:
    """The entry that ltr.data.prepared.read_dataset calls for the data sets this module reads."""
    return prepare_synthetic(data.synthetic, data.seed)
