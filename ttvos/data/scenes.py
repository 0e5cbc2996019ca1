"""Procedural training videos for VOS: textured shapes that move, turn, scale, deform and occlude
each other over a textured background filmed by a moving camera.

A seed first draws a whole scene (every object's outline, texture and pose in every frame, the
camera path, the lighting), then the frames are rendered one by one with vectorised numpy, each
object only inside its bounding box, so a 64x96 video takes milliseconds. Lengths are fractions of
the frame's shorter side and times are frames, so a seed gives the same video at any resolution (up
to pixel sampling). Object trajectories are relative to the camera; the background and its unlabelled
clutter shapes move with the camera.

A mask is exact: an object's id marks the pixels whose centre lies inside its outline and inside no
object in front of it. Edges are anti-aliased over about one pixel in the frames only, so a pixel is
labelled with the object that covers more than half of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from ttvos.data.synthetic import SyntheticVideo
from ttvos.errors import UserError

ShapeKind = Literal["ellipse", "blob", "star", "rounded_rect", "ring", "crescent", "cross"]
TextureKind = Literal["flat", "stripes", "checker", "dots", "noise", "gradient"]
SHAPES: tuple[ShapeKind, ...] = get_args(ShapeKind)
TEXTURES: tuple[TextureKind, ...] = get_args(TextureKind)
MAX_ATTEMPTS = 30  # redraws of the objects until each one shows enough of itself in frame 0


@dataclass(frozen=True)
class SceneParams:
    """How scenes are drawn. Lengths are fractions of the frame's shorter side; times are frames."""

    num_objects: tuple[int, int] = (1, 3)  # range of the object count when none is given (inclusive)
    shapes: tuple[ShapeKind, ...] = SHAPES  # object outlines, drawn uniformly
    textures: tuple[TextureKind, ...] = TEXTURES  # object textures, drawn uniformly
    background_textures: tuple[TextureKind, ...] = ("stripes", "checker", "dots", "noise", "gradient")
    object_size: tuple[float, float] = (0.15, 0.4)  # object radius at rest
    aspect: tuple[float, float] = (0.55, 1.0)  # short / long axis ratio of an object
    speed: tuple[float, float] = (0.0, 0.025)  # drift speed, per frame
    wobble: float = 0.06  # largest amplitude of the sinusoidal swerve around the drift path
    rotation: float = 0.05  # largest turning speed, radians per frame
    scale_change: float = 0.25  # largest swing of the log size (radius within exp(+-this))
    deform: float = 0.5  # strength of outline changes over time (profile, thickness, squash); 0: rigid
    depth_swap_prob: float = 0.3  # chance per video that two objects swap depth order mid-video
    leave_prob: float = 0.3  # chance per object to leave the frame entirely and come back
    leave_speed: float = 0.1  # peak speed while leaving and re-entering, per frame
    margin: float = 0.1  # how far beyond the borders a drifting centre may go (partial exits)
    camera_pan: float = 0.015  # largest camera pan speed, per frame
    camera_zoom: float = 0.01  # largest camera zoom speed, log scale per frame
    camera_rotation: float = 0.004  # largest camera rotation speed, radians per frame
    clutter: tuple[int, int] = (0, 2)  # range of unlabelled shapes painted on the background
    shading: float = 0.5  # largest strength of the directional shading of an object
    lighting: float = 0.12  # largest swing of the global brightness over time (the light also turns)
    noise: float = 0.01  # standard deviation of the per-pixel sensor noise (1 = full range)
    antialias: bool = True  # soften edges over about one pixel (masks stay the hard outlines)
    min_visible: float = 0.004  # smallest fraction of frame 0 each object must cover

    def __post_init__(self) -> None:
        for name in ("num_objects", "object_size", "aspect", "speed", "clutter"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise UserError(f"scene parameter {name}: need 0 <= low <= high, got ({low}, {high})")
        if not 1 <= self.num_objects[0] or self.num_objects[1] > 255:
            raise UserError(f"scene parameter num_objects: need 1..255, got {self.num_objects}")
        for name, allowed in (("shapes", SHAPES), ("textures", TEXTURES), ("background_textures", TEXTURES)):
            kinds = getattr(self, name)
            if not kinds or set(kinds) - set(allowed):
                raise UserError(f"scene parameter {name}: choose among {', '.join(allowed)}")


@dataclass(frozen=True)
class _Texture:
    """A two-colour pattern in some 2-D coordinates (an object's own, or the world's)."""

    kind: TextureKind
    colours: np.ndarray  # 2*3 in [0, 1]: the pattern goes from colours[0] to colours[1]
    frequency: float  # radians per coordinate unit
    angle: float  # orientation of the pattern
    phase: np.ndarray  # 2 phases (one per pattern axis)
    sharpness: float  # 0.3: soft waves, 6: nearly hard edges
    grid: np.ndarray  # n*n random values, the lattice of the value noise


@dataclass(frozen=True)
class _Shape:
    """An outline in local units (radius about 1) whose parameters oscillate over time."""

    kind: ShapeKind
    base: np.ndarray  # P outline parameters at rest
    amp: np.ndarray  # P amplitudes of their oscillation (the deformation)
    omega: np.ndarray  # P angular frequencies, radians per frame
    phase: np.ndarray  # P phases
    extent: float  # no point of the outline is farther than this from the centre

    def at(self, t: int) -> list[float]:
        return (self.base + self.amp * np.sin(self.omega * t + self.phase)).tolist()


@dataclass(frozen=True)
class _Layer:
    """A textured shape and its pose in each frame (objects: screen; clutter: world, one pose)."""

    shape: _Shape
    texture: _Texture
    centre: np.ndarray  # T*2 (x, y)
    angle: np.ndarray  # T, radians
    scale: np.ndarray  # T, radius
    squash: np.ndarray  # T, the local y axis is this times shorter (aspect ratio)
    shading: float  # 0: flat colour, 1: strong directional shading


@dataclass(frozen=True)
class _Scene:
    objects: list[_Layer]  # labelled 1..K in this order
    order: np.ndarray  # T*K object indices, back to front
    background: tuple[_Texture, _Texture, _Texture]  # two textures and the noise that blends them
    clutter: list[_Layer]
    camera: np.ndarray  # T*2*3 affine: screen coordinates -> world coordinates
    light: np.ndarray  # T*3 unit light direction (x, y towards the viewer's right, down; z out)
    gain: np.ndarray  # T global brightness


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + h * 6) % 6
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)


def _draw_texture(rng: np.random.Generator, kinds: tuple[TextureKind, ...], *, world: bool) -> _Texture:
    """World textures are finer (coordinates span the frame) and less saturated than object ones."""
    hue = rng.uniform()
    saturation = rng.uniform(0.1, 0.6) if world else rng.uniform(0.3, 1.0)
    first = _hsv_to_rgb(hue, saturation, rng.uniform(0.25, 0.9))
    other_hue = hue + rng.uniform(-0.08, 0.08) if rng.uniform() < 0.5 else rng.uniform()
    second = _hsv_to_rgb(other_hue % 1, saturation * rng.uniform(0.5, 1.2), rng.uniform(0.15, 0.95))
    return _Texture(
        kind=kinds[rng.integers(len(kinds))],
        colours=np.stack([first, second]).astype(np.float32),
        frequency=float(rng.uniform(8, 40) if world else rng.uniform(3, 10)),
        angle=float(rng.uniform(0, np.pi)),
        phase=rng.uniform(0, 2 * np.pi, size=2),
        sharpness=float(rng.uniform(0.3, 6)),
        grid=rng.uniform(size=(16, 16)).astype(np.float32),
    )


def _value_noise(grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smoothly interpolated lattice noise in [0, 1], periodic over the n*n grid (n a power of 2)."""
    n = grid.shape[0]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    ix, iy = x0.astype(np.int32) & (n - 1), (y0.astype(np.int32) & (n - 1)) * n
    ix1, iy1 = (ix + 1) & (n - 1), (iy + n) & (n * n - 1)
    flat = grid.ravel()
    top = flat.take(iy + ix)
    top += (flat.take(iy + ix1) - top) * fx
    bottom = flat.take(iy1 + ix)
    bottom += (flat.take(iy1 + ix1) - bottom) * fx
    return top + (bottom - top) * fy


def _pattern(texture: _Texture, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The texture's mixing weight in [0, 1] at coordinates (u, v)."""
    c, s = float(np.cos(texture.angle)), float(np.sin(texture.angle))
    a, b = u * c + v * s, v * c - u * s
    f, k, (p0, p1) = texture.frequency, texture.sharpness, texture.phase.tolist()
    if texture.kind == "flat":
        return 0.2 * _value_noise(texture.grid, a * f / 3, b * f / 3)
    if texture.kind == "stripes":
        return 0.5 + 0.5 * np.tanh(k * np.sin(f * a + p0))
    if texture.kind == "checker":
        return 0.5 + 0.5 * np.tanh(2 * k * np.sin(f * a + p0) * np.sin(f * b + p1))
    if texture.kind == "dots":
        return 0.5 + 0.5 * np.tanh(k * (np.cos(f * a + p0) + np.cos(f * b + p1) - 0.8))
    if texture.kind == "noise":
        fine = _value_noise(texture.grid, a * f / 1.5 + 5.3, b * f / 1.5 + 2.1)
        return 0.65 * _value_noise(texture.grid, a * f / 3, b * f / 3) + 0.35 * fine
    return 0.5 + 0.5 * np.sin(f / 4 * a + p0)  # gradient: one slow wave


def _paint(texture: _Texture, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``3*h*w`` colours of the texture at (u, v) (channels first: numpy's loops run along rows)."""
    first, second = texture.colours[:, :, None, None]
    return first + (second - first) * _pattern(texture, u, v)


# --- outlines: signed distances in local units (negative inside) --------------------------------


def _polar_distance(r: np.ndarray, radius: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Distance to a star-shaped outline ``r = radius(theta)``, to first order."""
    return (r - radius) / np.sqrt(1 + (slope / np.maximum(r, 1e-3)) ** 2)


def _box(u: np.ndarray, v: np.ndarray, half_u: float, half_v: float, corner: float) -> np.ndarray:
    qu, qv = np.abs(u) - half_u + corner, np.abs(v) - half_v + corner
    outside = np.hypot(np.maximum(qu, 0), np.maximum(qv, 0))
    return outside + np.minimum(np.maximum(qu, qv), 0) - corner


def _harmonics(
    theta: np.ndarray, amps: list[float], orders: list[float], phases: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """``1 + sum a_k cos(k theta + p_k)`` and its derivative."""
    radius, slope = np.ones_like(theta), np.zeros_like(theta)
    for a, k, p in zip(amps, orders, phases, strict=True):
        radius += a * np.cos(k * theta + p)
        slope -= a * k * np.sin(k * theta + p)
    return radius, slope


def _distance(kind: ShapeKind, q: list[float], u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if kind in ("ellipse", "crescent"):
        d = np.hypot(u, v) - 1
        return d if kind == "ellipse" else np.maximum(d, q[0] - np.hypot(u - q[1], v))
    if kind == "rounded_rect":
        return _box(u, v, 1.0, q[0], q[1] * q[0])
    if kind == "cross":
        return np.minimum(_box(u, v, 1.0, q[0], 0.3 * q[0]), _box(u, v, q[0], q[1], 0.3 * q[0]))
    r, theta = np.hypot(u, v), np.arctan2(v, u)
    if kind == "blob":
        return _polar_distance(r, *_harmonics(theta, q[:4], [2, 3, 4, 5], q[4:]))
    if kind == "ring":
        outer = _polar_distance(r, *_harmonics(theta, q[:1], [round(q[1])], q[2:3]))
        return np.maximum(outer, q[3] - np.hypot(u - q[4], v))
    # star: radius (1 - depth) + depth * h^gamma, h = (1 + cos(n theta)) / 2
    points, depth, gamma = q
    h = np.maximum((1 + np.cos(points * theta)) / 2, 1e-6)
    radius = 1 - depth + depth * h**gamma
    slope = -depth * gamma * h ** (gamma - 1) * points * np.sin(points * theta) / 2
    return _polar_distance(r, radius, slope)


def _draw_shape(rng: np.random.Generator, kind: ShapeKind, deform: float) -> _Shape:
    """Outline parameters, how far each may swing (times ``deform``), and the outline's extent."""
    if kind == "blob":
        amps = rng.uniform(0, 0.14, size=4) / np.sqrt(np.arange(1, 5))
        base, swing = np.concatenate([amps, rng.uniform(0, 2 * np.pi, 4)]), np.r_[amps * 0.6, [1.2] * 4]
        extent = 1 + amps.sum() * (1 + 0.6 * deform)
    elif kind == "star":
        base = np.array([rng.integers(3, 8), rng.uniform(0.25, 0.55), rng.uniform(1, 2.5)])
        swing, extent = np.array([0, 0.15, 0.5]), 1.0
    elif kind == "rounded_rect":
        half = rng.uniform(0.4, 0.9)
        base, swing = np.array([half, rng.uniform(0.1, 0.9)]), np.array([0.1, 0.1])
        extent = np.hypot(1, half + 0.1 * deform)
    elif kind == "ring":
        outer, hole = rng.uniform(0, 0.1), rng.uniform(0.3, 0.55)
        offset = rng.uniform(-1, 1) * (0.85 - outer - hole - 0.1 * deform)
        base = np.array([outer, rng.integers(2, 5), rng.uniform(0, 2 * np.pi), hole, offset])
        swing, extent = np.array([0, 0, 1.5, 0.1, 0]), 1 + outer
    elif kind == "crescent":
        base, swing, extent = np.array([rng.uniform(0.6, 0.9), rng.uniform(0.35, 0.6)]), np.r_[0.05, 0.2], 1.0
    elif kind == "cross":
        width = rng.uniform(0.2, 0.4)
        base, swing = np.array([width, rng.uniform(0.6, 1.0)]), np.array([0.08, 0.15])
        extent = np.hypot(1, width + 0.08 * deform)
    else:  # ellipse (its aspect ratio comes from the layer's squash)
        base, swing, extent = np.zeros(0), np.zeros(0), 1.0
    size = len(base)
    return _Shape(
        kind=kind,
        base=base,
        amp=swing * deform * rng.uniform(0.3, 1, size),
        omega=rng.uniform(0.05, 0.3, size),
        phase=rng.uniform(0, 2 * np.pi, size),
        extent=float(extent),
    )


# --- drawing a scene ---------------------------------------------------------------------------


def _swing(rng: np.random.Generator, amplitude: float, times: np.ndarray) -> np.ndarray:
    """A sinusoid of random amplitude (up to ``amplitude``), frequency and phase, 0 at t = 0."""
    size, omega, phase = rng.uniform(0, amplitude), rng.uniform(0.05, 0.3), rng.uniform(0, 2 * np.pi)
    return size * (np.sin(omega * times + phase) - np.sin(phase))


def _reflect(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fold positions into [low, high] as if bouncing off its ends."""
    span = high - low
    return low + span - np.abs((x - low) % (2 * span) - span)


def _draw_object(rng: np.random.Generator, p: SceneParams, frames: int, size: np.ndarray) -> _Layer:
    """An object's look and its pose in each frame, in screen units (``size`` = (width, height))."""
    t = np.arange(frames, dtype=np.float64)
    shape = _draw_shape(rng, p.shapes[rng.integers(len(p.shapes))], p.deform)
    radius = rng.uniform(*p.object_size)
    direction = rng.uniform(0, 2 * np.pi)
    velocity = rng.uniform(*p.speed) * np.array([np.cos(direction), np.sin(direction)])
    start = rng.uniform(0.1, size - 0.1)
    path = start + velocity * t[:, None] + np.stack([_swing(rng, p.wobble, t) for _ in range(2)], axis=1)
    centre = np.stack([_reflect(path[:, i], -p.margin, size[i] + p.margin) for i in range(2)], axis=1)
    scale = radius * np.exp(_swing(rng, p.scale_change, t))
    squash = rng.uniform(*p.aspect) * np.exp(_swing(rng, 0.15 * p.deform, t))
    angle = rng.uniform(0, 2 * np.pi) + rng.uniform(-p.rotation, p.rotation) * t
    if rng.uniform() < p.leave_prob:
        reach = shape.extent * scale.max() * max(1.0, squash.max()) + 0.1
        centre = centre + _excursion(rng, centre, reach, p.leave_speed, size)
    texture = _draw_texture(rng, p.textures, world=False)
    return _Layer(shape, texture, centre, angle, scale, squash, float(rng.uniform(0, p.shading)))


def _excursion(
    rng: np.random.Generator, centre: np.ndarray, reach: float, speed: float, size: np.ndarray
) -> np.ndarray:
    """T*2 offsets that take an object out through the nearest border and back, smoothly.

    The offset rises as sin^2 over ``ramp`` frames (peak speed ``speed``), holds for a few frames
    and falls back. The middle of the trip is drawn among the frames from which the whole trip
    fits inside the video (after frame 0, with two frames to spare); none fits: no excursion.
    """
    frames = len(centre)
    hold = int(rng.integers(1, 5))
    gaps = np.stack([centre[:, 0], size[0] - centre[:, 0], centre[:, 1], size[1] - centre[:, 1]], axis=1)
    side = gaps.argmin(axis=1)
    distance = np.maximum(gaps.min(axis=1), 0) + reach
    ramp = np.ceil(np.pi * distance / (2 * speed)).astype(int)
    start = np.arange(frames) - ramp - hold // 2
    fits = np.flatnonzero((start >= 1) & (start + 2 * ramp + hold <= frames - 2))
    if not len(fits):
        return np.zeros_like(centre)
    middle = int(rng.choice(fits))
    first, ramp = start[middle], ramp[middle]
    t = np.arange(frames, dtype=np.float64)
    up = np.sin(np.pi / 2 * np.clip((t - first) / ramp, 0, 1)) ** 2
    down = np.sin(np.pi / 2 * np.clip((first + 2 * ramp + hold - t) / ramp, 0, 1)) ** 2
    direction = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]][side[middle]], dtype=np.float64)
    return distance[middle] * np.minimum(up, down)[:, None] * direction


def _draw_order(rng: np.random.Generator, p: SceneParams, frames: int, count: int) -> np.ndarray:
    order = np.tile(rng.permutation(count), (frames, 1))
    if count > 1 and frames > 1 and rng.uniform() < p.depth_swap_prob:
        a, b = rng.choice(count, size=2, replace=False)
        after = order[int(rng.integers(1, frames)) :]
        after[:] = np.where(after == a, b, np.where(after == b, a, after))
    return order


def _draw_camera(rng: np.random.Generator, p: SceneParams, frames: int, size: np.ndarray) -> np.ndarray:
    """T*2*3 affine from screen to world: pan, zoom and turn about the frame's centre."""
    t = np.arange(frames, dtype=np.float64)
    direction = rng.uniform(0, 2 * np.pi)
    pan = rng.uniform(0, p.camera_pan) * t[:, None] * np.array([np.cos(direction), np.sin(direction)])
    zoom = np.exp(rng.uniform(-p.camera_zoom, p.camera_zoom) * t)
    turn = rng.uniform(-p.camera_rotation, p.camera_rotation) * t
    cos, sin = zoom * np.cos(turn), zoom * np.sin(turn)
    linear = np.stack([np.stack([cos, -sin], axis=1), np.stack([sin, cos], axis=1)], axis=1)  # T*2*2
    return np.concatenate([linear, (size / 2 + pan - linear @ (size / 2))[..., None]], axis=2)


def _draw_clutter(rng: np.random.Generator, p: SceneParams, size: np.ndarray) -> list[_Layer]:
    """Rigid unlabelled shapes fixed in the world: distractors that look like objects."""
    layers = []
    for _ in range(int(rng.integers(p.clutter[0], p.clutter[1] + 1))):
        shape = _draw_shape(rng, p.shapes[rng.integers(len(p.shapes))], 0.0)
        texture = _draw_texture(rng, p.textures, world=False)
        pose = (rng.uniform(-0.1, size + 0.1)[None], rng.uniform(0, 2 * np.pi, 1))
        scale, squash = rng.uniform(0.5, 1, 1) * rng.uniform(*p.object_size), rng.uniform(*p.aspect, 1)
        layers.append(_Layer(shape, texture, *pose, scale, squash, float(rng.uniform(0, p.shading))))
    return layers


def _draw_lighting(rng: np.random.Generator, p: SceneParams, frames: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(frames, dtype=np.float64)
    heading = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.4, 0.4) * p.lighting * t  # the light turns
    light = np.stack([0.6 * np.cos(heading), 0.6 * np.sin(heading), np.full(frames, 0.8)], axis=1)
    return light, 1 + _swing(rng, p.lighting, t)


# --- rendering ---------------------------------------------------------------------------------


def _local_affine(layer: _Layer, t: int, outer: np.ndarray) -> np.ndarray:
    """2*3 affine from pixel centres to the layer's local units, ``outer`` (3*3) taking pixels to
    the layer's coordinate frame (screen or world)."""
    c, s = np.cos(layer.angle[t]), np.sin(layer.angle[t])
    su, sv = 1 / layer.scale[t], 1 / (layer.scale[t] * layer.squash[t])
    cx, cy = layer.centre[t]
    local = np.array([[su * c, su * s, -su * (c * cx + s * cy)], [-sv * s, sv * c, sv * (s * cx - c * cy)]])
    return local[:, :2] @ outer[:2] + np.array([[0, 0, local[0, 2]], [0, 0, local[1, 2]]])


def _grid(affine: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
    """The 2*3 ``affine`` applied to the centres of pixels [y0, y1) x [x0, x1): two ``h*w`` float32."""
    xs = np.arange(x0, x1, dtype=np.float32)[None] + np.float32(0.5)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + np.float32(0.5)
    a = affine.astype(np.float32)
    return a[0, 0] * xs + a[0, 1] * ys + a[0, 2], a[1, 0] * xs + a[1, 1] * ys + a[1, 2]


def _draw_layer(
    image: np.ndarray | None,
    mask: np.ndarray | None,
    label: int,
    layer: _Layer,
    t: int,
    affine: np.ndarray,
    light: np.ndarray | None,
    *,
    antialias: bool,
) -> None:
    """Paint one layer in place (into the image, the mask or both); ``affine`` maps pixel centres
    (x, y) to the layer's local units."""
    height, width = (mask if mask is not None else image).shape[-2:]  # type: ignore[union-attr]
    (a, b, e), (c, d, f) = affine.tolist()
    det = a * d - b * c
    centre = np.array([b * f - d * e, c * e - a * f]) / det  # the pixel at the local origin
    half = layer.shape.extent / abs(det) * np.hypot([d, c], [b, a]) + 1.5  # rows of the inverse
    x0, y0 = np.maximum(centre - half, 0).astype(int)
    x1, y1 = np.minimum(np.ceil(centre + half), (width, height)).astype(int)
    if x0 >= x1 or y0 >= y1:
        return
    u, v = _grid(affine, x0, x1, y0, y1)
    distance = _distance(layer.shape.kind, layer.shape.at(t), u, v) / np.sqrt(abs(det))  # pixels
    inside = distance < 0
    if mask is not None:
        mask[y0:y1, x0:x1][inside] = label
    if image is None or light is None:
        return
    alpha = np.clip(0.5 - distance, 0, 1) if antialias else inside.astype(np.float32)
    colour = _paint(layer.texture, u, v)
    if layer.shading > 0:
        lx, ly = affine[:, :2] @ light[:2]  # the light's direction in local units
        lx, ly = (np.array([lx, ly]) / max(np.hypot(lx, ly), 1e-9) * np.hypot(*light[:2])).tolist()
        lz = float(light[2])
        nu, nv = u / layer.shape.extent, v / layer.shape.extent
        facing = lx * nu + ly * nv + lz * np.sqrt(np.clip(1 - nu * nu - nv * nv, 0, 1))
        colour *= 1 + layer.shading * (1.25 * np.clip(facing, 0, 1) - 1)
    window = image[:, y0:y1, x0:x1]
    window += alpha * (colour - window)


def _to_screen(height: int, width: int) -> np.ndarray:
    """3*3 affine from pixel coordinates to screen units (the shorter side is 1)."""
    return np.diag([1 / min(height, width), 1 / min(height, width), 1])


def _render(scene: _Scene, t: int, height: int, width: int, p: SceneParams) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``t``: ``3*H*W`` float32 (about [0, 1]) and its ``H*W`` uint8 mask."""
    to_screen = _to_screen(height, width)
    world = np.vstack([scene.camera[t], [0, 0, 1]]) @ to_screen  # pixels -> world units
    wx, wy = _grid(world[:2], 0, width, 0, height)
    first, second, blend = scene.background
    weight = np.clip(3 * (_value_noise(blend.grid, 4 * wx, 4 * wy) - 0.5) + 0.5, 0, 1)
    image = _paint(first, wx, wy)
    image += (_paint(second, wx, wy) - image) * weight
    for layer in scene.clutter:
        _draw_layer(
            image, None, 0, layer, 0, _local_affine(layer, 0, world), scene.light[t], antialias=p.antialias
        )
    mask = np.zeros((height, width), dtype=np.uint8)
    for index in scene.order[t]:
        layer = scene.objects[index]
        affine = _local_affine(layer, t, to_screen)
        _draw_layer(image, mask, index + 1, layer, t, affine, scene.light[t], antialias=p.antialias)
    return image, mask


def _draw_objects(
    rng: np.random.Generator, p: SceneParams, frames: int, height: int, width: int, count: int
) -> tuple[list[_Layer], np.ndarray]:
    """Objects and depth order, redrawn until each object covers ``min_visible`` of frame 0."""
    size = np.array([width, height]) / min(height, width)
    for _ in range(MAX_ATTEMPTS):
        objects = [_draw_object(rng, p, frames, size) for _ in range(count)]
        order = _draw_order(rng, p, frames, count)
        mask = np.zeros((height, width), dtype=np.uint8)
        for index in order[0]:
            affine = _local_affine(objects[index], 0, _to_screen(height, width))
            _draw_layer(None, mask, index + 1, objects[index], 0, affine, None, antialias=False)
        if np.bincount(mask.ravel(), minlength=count + 1)[1:].min() >= max(1, p.min_visible * mask.size):
            return objects, order
    raise UserError(
        f"could not show {count} objects in a {height}x{width} first frame; "
        "use fewer objects, a larger frame or a smaller min_visible"
    )


def make_scene_video(
    seed: int,
    *,
    num_frames: int,
    height: int,
    width: int,
    num_objects: int | None = None,
    params: SceneParams | None = None,
) -> SyntheticVideo:
    """A reproducible scene video (same seed and arguments -> same pixels).

    Objects are drawn from independent random streams for objects, background, camera and noise,
    so changing how the background looks leaves the objects, and so the masks, unchanged.
    """
    p = params or SceneParams()
    if num_frames < 1 or height < 1 or width < 1:
        raise UserError(f"need at least one frame of one pixel, got {num_frames} frames of {height}x{width}")
    if num_objects is not None and not 1 <= num_objects <= 255:
        raise UserError(f"num_objects must be 1..255, got {num_objects}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    object_rng, background_rng, camera_rng, noise_rng = streams
    count = num_objects or int(object_rng.integers(p.num_objects[0], p.num_objects[1] + 1))
    objects, order = _draw_objects(object_rng, p, num_frames, height, width, count)
    size = np.array([width, height]) / min(height, width)
    background = tuple(_draw_texture(background_rng, p.background_textures, world=True) for _ in range(3))
    clutter = _draw_clutter(background_rng, p, size)
    camera = _draw_camera(camera_rng, p, num_frames, size)
    light, gain = _draw_lighting(camera_rng, p, num_frames)
    scene = _Scene(objects, order, background, clutter, camera, light, gain)  # type: ignore[arg-type]
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    masks = np.empty((num_frames, height, width), dtype=np.uint8)
    for t in range(num_frames):
        image, masks[t] = _render(scene, t, height, width, p)
        image *= scene.gain[t]
        if p.noise > 0:
            image += p.noise * noise_rng.standard_normal(image.shape, dtype=np.float32)
        frames[t] = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return SyntheticVideo(frames, masks)
