"""Keras 3's image augmentation layers: RandomFlip, RandomCrop, RandomTranslation,
RandomRotation, RandomZoom, RandomContrast, RandomBrightness (NHWC, channels_last).

Each is the identity at inference (``training=False``) except RandomCrop, which then crops
the centre with the target's aspect ratio and resizes it (Keras's documented inference path;
Keras 3.15.1 itself returns the input unchanged there, which contradicts its own output shape).
In training each draws N per-image parameters in Python — from a NumPy Generator over Philox
keyed by the layer's seed, its counter the layer's step, so a run with the same seed draws the
same augmentations — and transforms the whole batch in one kernel call (sinapse.ops.augment).
The seed and step are the layer's random state (``get_rng_state``), saved in checkpoints like
Dropout's. Parameters, their ranges and the transforms are Keras 3.15.1's
(keras/src/layers/preprocessing/image_preprocessing/random_*.py); the drawn values differ
from Keras's (another generator).
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops, utils
from ._limits import size
from .base import Layer
from .core import Dropout

_MAX_SEED = 2**63 - 1
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def _factor_pair(layer: str, name: str, factor, lo_open: bool = False) -> tuple[float, float]:
    """Keras's (lower, upper) of a translation/zoom factor: a number f (-> (-|f|, |f|)) or a pair,
    each in [-1, 1] ((-1, 1] with ``lo_open``, RandomZoom)."""
    values = list(factor) if isinstance(factor, (tuple, list)) else [factor]
    bad = len(values) not in (1, 2) or (isinstance(factor, (tuple, list)) and len(values) != 2)
    for v in values:
        bad = bad or isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer))
        bad = bad or not (-1.0 < v <= 1.0 if lo_open else -1.0 <= v <= 1.0)
    if bad:
        rng = "(-1.0, 1.0]" if lo_open else "[-1.0, 1.0]"
        raise ValueError(f"{layer}: `{name}` must be a number or a pair of numbers in {rng}, got {factor!r}")
    if len(values) == 1:
        return -abs(float(values[0])), abs(float(values[0]))
    lower, upper = sorted(float(v) for v in values)
    return lower, upper


def _base_factor(layer: str, factor, bounds: tuple[float, float]) -> tuple[float, float]:
    """Keras's BaseImagePreprocessingLayer._set_factor (RandomRotation, RandomContrast,
    RandomBrightness): a number f -> (max(-|f|, low bound), |f|); a pair sorted."""
    message = f"{layer}: `factor` must be a number or a pair of numbers in [{bounds[0]}, {bounds[1]}], got {factor!r}"
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in factor):
            raise ValueError(message)
        if factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        lower, upper = sorted(float(v) for v in factor)
        return lower, upper
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not bounds[0] <= factor <= bounds[1]:
        raise ValueError(message)
    return max(-abs(float(factor)), bounds[0]), abs(float(factor))


def _value_range(layer: str, value_range) -> tuple[float, float]:
    if (
        not isinstance(value_range, (tuple, list))
        or len(value_range) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value_range)
    ):
        raise ValueError(f"{layer}: `value_range` must be a list of two finite numbers, got {value_range!r}")
    return float(value_range[0]), float(value_range[1])


class _RandomImageLayer(Layer):
    """Seeded per-batch parameters (a Philox stream per step) and the identity at inference."""

    backward_reads_output = False

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = type(self).__name__
        if data_format not in (None, "channels_last"):
            raise self.arg_error(f"`data_format` must be 'channels_last' (NHWC), got {data_format!r}")
        self.seed = None if seed is None else size(where, "seed", seed, lo=0, hi=_MAX_SEED)
        self._philox_seed = None
        self._offset = 0
        self._active = False

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.error(f"takes images (H, W, C), got input shape {(None, *input_shape)}")
        self._philox_seed = self.seed if self.seed is not None else int(utils.global_rng().integers(0, 2**63))
        self._offset = 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _generator(self) -> np.random.Generator:
        """This step's generator (Philox keyed by the seed, counter block = step), then the next step."""
        gen = np.random.Generator(np.random.Philox(key=self._philox_seed, counter=[0, 0, self._offset, 0]))
        self._offset += 1
        return gen

    def _device_array(self, values, dtype=np.float32):
        return self.device.asarray(np.asarray(values), dtype)

    def forward(self, x, training=False, mask=None):
        self._active = bool(training)
        if not self._active:
            return x
        return self._augment(x, self._generator())

    def _augment(self, x, gen: np.random.Generator):
        """The training output for batch ``x`` with parameters drawn from ``gen`` (each layer's own)."""
        raise NotImplementedError

    # The random state is Dropout's: the Philox key and the next counter (here the step), uint64
    # scalars saved in checkpoints (models/_state.py), with Dropout's checks on restore.
    get_rng_state = Dropout.get_rng_state
    set_rng_state = Dropout.set_rng_state

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "data_format": "channels_last"}


class _AffineLayer(_RandomImageLayer):
    """A layer whose training forward is one or more affine_transform calls; the backward
    runs their adjoints in reverse (``self._stages``)."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", fill_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if fill_mode not in _FILL_MODES:
            raise self.arg_error(f"`fill_mode` must be one of {_FILL_MODES}, got {fill_mode!r}")
        if interpolation not in _INTERPOLATIONS:
            raise self.arg_error(f"`interpolation` must be one of {_INTERPOLATIONS}, got {interpolation!r}")
        if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float)) or not math.isfinite(fill_value):
            raise self.arg_error(f"`fill_value` must be a finite number, got {fill_value!r}")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)
        self._stages: list = []

    def _apply(self, x, transforms, output_shape=None, interpolation=None, fill_mode=None, key="y"):
        """One affine stage of the forward, recorded for the backward."""
        interpolation, fill_mode = interpolation or self.interpolation, fill_mode or self.fill_mode
        t = self._device_array(transforms)
        oh, ow = output_shape or x.shape[1:3]
        out = self.buffer(key, (x.shape[0], oh, ow, x.shape[3]))
        ops.affine_transform(
            x,
            t,
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=self.fill_value,
            output_shape=(oh, ow),
            out=out,
        )
        self._stages.append((t, tuple(x.shape), interpolation, fill_mode))
        return out

    def forward(self, x, training=False, mask=None):
        self._stages = []
        return super().forward(x, training, mask)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        if not self._stages:
            return dy
        for i, (t, shape, interpolation, fill_mode) in enumerate(reversed(self._stages)):
            out = self.buffer(f"dx{i}", shape)
            dy = ops.affine_transform_backward(dy, t, shape, interpolation=interpolation, fill_mode=fill_mode, out=out)
        return dy

    def get_config(self):
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its height and width (Keras 3's RandomTranslation).

    height_factor / width_factor: a number f (shift in [-f, f] of the size) or a pair (lower,
    upper), in [-1, 1]. Image n moves by (dx, dy) = (u_w W, u_h H) with u drawn uniformly; the
    transform is [1, 0, -dx, 0, 1, -dy, 0, 0]. Input (N, H, W, C) float32; output the same shape.
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(
            fill_mode=fill_mode,
            interpolation=interpolation,
            fill_value=fill_value,
            seed=seed,
            data_format=data_format,
            **kwargs,
        )
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height = _factor_pair("RandomTranslation", "height_factor", height_factor)
        self._width = _factor_pair("RandomTranslation", "width_factor", width_factor)

    def _augment(self, x, gen):
        n, h, w = x.shape[:3]
        dy = gen.uniform(*self._height, size=n) * h
        dx = gen.uniform(*self._width, size=n) * w
        t = np.zeros((n, 8))
        t[:, 0], t[:, 2], t[:, 4], t[:, 5] = 1, -dx, 1, -dy
        return self._apply(x, t)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


def rotation_transforms(angles_deg, height: int, width: int) -> np.ndarray:
    """Keras 3's _compute_affine_matrix for rotations about the image centre ((W - 1) / 2, (H - 1) / 2):
    (N, 8) float32 transforms for angles in degrees (computed in float32, as Keras)."""
    a = np.asarray(angles_deg, np.float32) * np.float32(math.pi / 180.0)
    cos, sin = np.cos(a), np.sin(a)
    cx, cy = np.float32(0.5 * (width - 1)), np.float32(0.5 * (height - 1))
    t = np.zeros((len(a), 8), np.float32)
    t[:, 0], t[:, 1] = cos, -sin
    t[:, 2] = cx - cx * t[:, 0] - cy * t[:, 1]
    t[:, 3], t[:, 4] = sin, cos
    t[:, 5] = cy - cx * t[:, 3] - cy * t[:, 4]
    return t


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle about its centre (Keras 3's RandomRotation).

    factor: a number f (angles in [-f, f] turns, i.e. f * 360 degrees) or a pair (lower, upper),
    as Keras. Input (N, H, W, C) float32; output the same shape.
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(
            fill_mode=fill_mode,
            interpolation=interpolation,
            fill_value=fill_value,
            seed=seed,
            data_format=data_format,
            **kwargs,
        )
        self.factor = _base_factor("RandomRotation", factor, (-1.0, 1.0))

    def _augment(self, x, gen):
        n, h, w = x.shape[:3]
        angles = gen.uniform(self.factor[0] * 360.0, self.factor[1] * 360.0, size=n)
        return self._apply(x, rotation_transforms(angles, h, w))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


def zoom_transforms(zooms, height: int, width: int) -> np.ndarray:
    """Keras 3's RandomZoom._get_zoom_matrix: (N, 8) float32 transforms for (N, 2) (width, height) zooms."""
    z = np.asarray(zooms, np.float32)
    t = np.zeros((len(z), 8), np.float32)
    t[:, 0], t[:, 4] = z[:, 0], z[:, 1]
    t[:, 2] = (np.float32(width) - 1) / 2 * (1 - z[:, 0])
    t[:, 5] = (np.float32(height) - 1) / 2 * (1 - z[:, 1])
    return t


class RandomZoom(_AffineLayer):
    """Zooms each image in or out about its centre (Keras 3's RandomZoom).

    height_factor: a number f (zoom 1 + u, u in [-f, f]; positive zooms out) or a pair, in
    (-1, 1]; width_factor likewise, or None to keep the aspect ratio (the height's zoom).
    Input (N, H, W, C) float32; output the same shape.
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(
            fill_mode=fill_mode,
            interpolation=interpolation,
            fill_value=fill_value,
            seed=seed,
            data_format=data_format,
            **kwargs,
        )
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height = _factor_pair("RandomZoom", "height_factor", height_factor, lo_open=True)
        self._width = None if width_factor is None else _factor_pair("RandomZoom", "width_factor", width_factor, True)

    def _augment(self, x, gen):
        n, h, w = x.shape[:3]
        hz = gen.uniform(1 + self._height[0], 1 + self._height[1], size=n)
        wz = hz if self._width is None else gen.uniform(1 + self._width[0], 1 + self._width[1], size=n)
        return self._apply(x, zoom_transforms(np.stack([wz, hz], 1), h, w))

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomCrop(_AffineLayer):
    """Crops a random (height, width) window (Keras 3's RandomCrop; one window per batch, as Keras).

    Training with an input larger than the crop on both axes: the window's corner is drawn
    uniformly. At inference the centre region with the target's aspect ratio is cropped and
    resized to (height, width) bilinearly (half-pixel centres, edge pixels repeated): Keras's
    documented path, equal to Keras 3.15.1's Resizing(height, width, crop_to_aspect_ratio=True)
    within 1e-6. In training with an input not larger than the crop, Keras's own fallback
    (the target's size sliced from that centred corner, then resized; bit-equal to Keras 3.15.1).
    Input (N, H, W, C) float32; output (N, height, width, C).
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, name=name, **kwargs)
        self.height = size("RandomCrop", "height", height)
        self.width = size("RandomCrop", "width", width)

    def compute_output_shape(self, input_shape):
        return (self.height, self.width, input_shape[2])

    def forward(self, x, training=False, mask=None):
        self._stages = []
        _, h, w = x.shape[:3]
        if training and h > self.height and w > self.width:
            gen = self._generator()
            top = int(gen.uniform(0, h - self.height + 1))
            left = int(gen.uniform(0, w - self.width + 1))
            return self._crop(x, top, left, self.height, self.width, "y")
        ch = max(min(h, int(w * self.height / self.width)), 1)
        cw = max(min(w, int(h * self.width / self.height)), 1)
        top, left = int((h - ch) / 2), int((w - cw) / 2)
        if training:  # Keras slices the target's size from the centred corner (what is left of it)
            ch, cw = min(h - top, self.height), min(w - left, self.width)
        crop = self._crop(x, top, left, ch, cw, "crop")
        if (ch, cw) == (self.height, self.width):
            return crop
        sy, sx = ch / self.height, cw / self.width
        t = np.tile([sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5, 0, 0], (x.shape[0], 1))
        return self._apply(crop, t, (self.height, self.width), "bilinear", "nearest", key="y")

    def _crop(self, x, top, left, height, width, key):
        t = np.tile([1, 0, left, 0, 1, top, 0, 0], (x.shape[0], 1))
        return self._apply(x, t, (height, width), "nearest", "constant", key=key)

    def get_config(self):
        config = super().get_config()
        for key in ("fill_mode", "interpolation", "fill_value"):
            config.pop(key)
        return {**config, "height": self.height, "width": self.width}


class RandomFlip(_RandomImageLayer):
    """Flips each image with probability 1/2 (Keras 3's RandomFlip).

    mode: "horizontal", "vertical" or "horizontal_and_vertical" (one draw flips both axes, as
    Keras). Input (N, H, W, C) float32; output the same shape.
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in _FLIP_MODES:
            raise self.arg_error(f"`mode` must be one of {_FLIP_MODES}, got {mode!r}")
        self.mode = mode

    def _augment(self, x, gen):
        flips = gen.uniform(size=x.shape[0]) <= 0.5
        none = np.zeros_like(flips)
        h = flips if self.mode != "vertical" else none
        v = flips if self.mode != "horizontal" else none
        self._flags = (self._device_array(h, bool), self._device_array(v, bool))
        return ops.flip(x, *self._flags, out=self.buffer("y", x.shape))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        if not self._active:
            return dy
        return ops.flip_backward(dy, *self._flags, out=self.buffer("dx", dy.shape))

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _ColorLayer(_RandomImageLayer):
    """RandomContrast / RandomBrightness: one value per image, then a clip to value_range."""

    backward_reads_input = True

    def forward(self, x, training=False, mask=None):
        self._x = x
        return super().forward(x, training, mask)


class RandomContrast(_ColorLayer):
    """Scales each image's deviation from its per-channel mean by a random factor, then clips
    to value_range (Keras 3's RandomContrast).

    factor: a number f in [0, 1] or a pair; as Keras 3.15.1 sets it, the factor is drawn in
    [1 - lower, 1 + upper] with (lower, upper) = (0, f) for a number. Input (N, H, W, C) float32;
    output the same shape.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _base_factor("RandomContrast", factor, (0.0, 1.0))
        self.value_range = value_range
        self._range = _value_range("RandomContrast", value_range)

    def _augment(self, x, gen):
        self._params = self._device_array(gen.uniform(1 - self.factor[0], 1 + self.factor[1], size=x.shape[0]))
        return ops.adjust_contrast(x, self._params, self._range, out=self.buffer("y", x.shape))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        if not self._active:
            return dy
        out = self.buffer("dx", dy.shape)
        return ops.adjust_contrast_backward(dy, self._x, self._params, self._range, out=out)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomBrightness(_ColorLayer):
    """Adds a random delta to each image, then clips to value_range (Keras 3's RandomBrightness).

    factor: a number f in [-1, 1] (deltas in [-|f|, |f|]) or a pair, in units of the value
    range: delta = u * (high - low). value_range is sorted, as Keras. Input (N, H, W, C)
    float32; output the same shape.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _base_factor("RandomBrightness", factor, (-1.0, 1.0))
        lo, hi = sorted(_value_range("RandomBrightness", value_range))
        self.value_range = sorted(value_range)  # as Keras
        self._range = (lo, hi)

    def _augment(self, x, gen):
        deltas = gen.uniform(self.factor[0], self.factor[1], size=x.shape[0]) * (self._range[1] - self._range[0])
        self._params = self._device_array(deltas)
        return ops.adjust_brightness(x, self._params, self._range, out=self.buffer("y", x.shape))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        if not self._active:
            return dy
        out = self.buffer("dx", dy.shape)
        return ops.adjust_brightness_backward(dy, self._x, self._params, self._range, out=out)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
