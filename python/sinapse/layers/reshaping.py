"""Image resampling layers: UpSampling2D, Cropping2D, Resizing, CenterCrop, Rescaling.

Keras 3's arguments, defaults, output shapes and ``get_config`` (keras/src/layers/reshaping/
up_sampling2d.py, cropping2d.py; keras/src/layers/preprocessing/image_preprocessing/
resizing.py, center_crop.py; keras/src/layers/preprocessing/rescaling.py), NHWC only. The
pixels come from the ``resize`` op family (``ops.resize`` / ``ops.crop``, Keras's sampling:
``keras.ops.image.resize`` with ``antialias=False``) and ``ops.axpy`` (Rescaling's
``x * scale + offset``); every layer has a backward, so each may sit inside a trained model.
Unlike Keras's preprocessing layers these run in every mode (as Keras does too: Resizing,
CenterCrop and Rescaling are not random).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import ops
from ..ops._checks import as_bool, as_pair
from ._limits import size
from .base import Layer

_INTERPOLATIONS = ("nearest", "bilinear")
_KERAS_ONLY = ("bicubic", "lanczos3", "lanczos5", "area")


def _channels_last(layer: Layer, data_format) -> None:
    if data_format not in (None, "channels_last"):
        raise layer.arg_error(
            f"`data_format` must be 'channels_last' (NHWC, the only layout supported), got {data_format!r}"
        )


def _interpolation(layer: Layer, interpolation) -> str:
    mode = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if mode not in _INTERPOLATIONS:
        raise layer.arg_error(
            f"`interpolation` must be one of {', '.join(map(repr, _INTERPOLATIONS))} (the ones sinapse "
            f"supports; Keras also has {', '.join(map(repr, _KERAS_ONLY))}), got {interpolation!r}"
        )
    return mode


def _images(layer: Layer, input_shape) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise layer.error(f"expects images (batch, height, width, channels), got {(None, *input_shape)}")
    h, w, c = (int(v) for v in input_shape)
    if h < 1 or w < 1:
        raise layer.error(f"expects images with at least one row and column, got {(None, *input_shape)}")
    return h, w, c


class _Step(NamedTuple):
    """One pass over the images: crop, pad (crop_backward with a fill) or resize."""

    kind: str  # "crop", "pad", "resize"
    src: tuple[int, int]  # (height, width) before
    dst: tuple[int, int]  # (height, width) after
    top: int = 0  # crop / pad: the window's corner (in the larger image)
    left: int = 0
    fill: float = 0.0  # pad
    interpolation: str = "bilinear"  # resize


def _run(step: _Step, x, out):
    if step.kind == "crop":
        return ops.crop(x, step.top, step.left, *step.dst, out=out)
    if step.kind == "pad":
        return ops.crop_backward(x, step.dst, step.top, step.left, fill_value=step.fill, out=out)
    return ops.resize(x, step.dst, interpolation=step.interpolation, out=out)


def _run_backward(step: _Step, dy, out):
    if step.kind == "crop":
        return ops.crop_backward(dy, step.src, step.top, step.left, out=out)
    if step.kind == "pad":
        return ops.crop(dy, step.top, step.left, *step.src, out=out)
    return ops.resize_backward(dy, step.src, interpolation=step.interpolation, out=out)


def _crop_to_aspect(h: int, w: int, height: int, width: int) -> _Step:
    """The centred window of the target's aspect ratio (keras.ops.image.resize's
    crop_to_aspect_ratio, Keras's smart_resize): its integer arithmetic, as Keras does it."""
    ch = max(min(h, int(float(w * height) / width)), 1)
    cw = max(min(w, int(float(h * width) / height)), 1)
    return _Step("crop", (h, w), (ch, cw), int(float(h - ch) / 2), int(float(w - cw) / 2))


def _pad_to_aspect(h: int, w: int, height: int, width: int, fill: float) -> _Step | None:
    """keras.ops.image.resize's pad_to_aspect_ratio (JAX backend): the same number of fill rows
    above and below (or columns left and right), int((padded - size) / 2) each."""
    top = int(float(max(h, int(float(w * height) / width)) - h) / 2)
    left = int(float(max(w, int(float(h * width) / height)) - w) / 2)
    if top > 0:
        return _Step("pad", (h, w), (h + 2 * top, w), top, 0, fill)
    if left > 0:
        return _Step("pad", (h, w), (h, w + 2 * left), 0, left, fill)
    return None


class _ImageSteps(Layer):
    """A layer that runs a fixed list of crop / pad / resize passes (``_steps``) on NHWC images
    and their reverse in the backward; it reads only shapes there."""

    backward_reads_input = False
    backward_reads_output = False

    def _steps(self, h: int, w: int) -> list[_Step]:
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        h, w, c = _images(self, input_shape)
        steps = self._steps(h, w)
        return (*steps[-1].dst, c) if steps else (h, w, c)

    def forward(self, x, training=False, mask=None):
        n, h, w, c = x.shape
        self._passes = self._steps(h, w)
        self._n = n
        for i, step in enumerate(self._passes):
            last = i == len(self._passes) - 1
            x = _run(step, x, self.buffer("y" if last else f"s{i}", (n, *step.dst, c)))
        return x

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        c = dy.shape[3]
        for i, step in reversed(list(enumerate(self._passes))):
            dy = _run_backward(step, dy, self.buffer(f"d{i}", (self._n, *step.src, c)))
        return dy


class UpSampling2D(_ImageSteps):
    """Each image ``size`` = (rows, cols) times larger: nearest repeats every pixel (Keras's
    ``ops.repeat``), bilinear interpolates with half-pixel centres (Keras's
    ``ops.image.resize``). (N, H, W, C) -> (N, H * size[0], W * size[1], C)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        _channels_last(self, data_format)
        self.size = as_pair("UpSampling2D", "size", size)
        self.interpolation = _interpolation(self, interpolation)

    def _steps(self, h, w):
        return [_Step("resize", (h, w), (h * self.size[0], w * self.size[1]), interpolation=self.interpolation)]

    def get_config(self):
        return {
            **super().get_config(),
            "size": list(self.size),
            "data_format": "channels_last",
            "interpolation": self.interpolation,
        }


def _cropping(layer: Layer, cropping) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's forms: int, (symmetric rows, symmetric cols) or ((top, bottom), (left, right))."""

    def is_int(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    pairs: tuple = ()
    if is_int(cropping):
        pairs = ((cropping, cropping), (cropping, cropping))
    elif isinstance(cropping, (tuple, list)) and len(cropping) == 2:
        pairs = tuple((p, p) if is_int(p) else p for p in cropping)
    if len(pairs) != 2 or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
        raise layer.arg_error(
            f"`cropping` must be an int, (rows, cols) or ((top, bottom), (left, right)) of non-negative ints, "
            f"got {cropping!r}"
        )
    (t, b), (lf, r) = ((size("Cropping2D", "cropping", v, lo=0) for v in p) for p in pairs)
    return (t, b), (lf, r)


class Cropping2D(_ImageSteps):
    """Rows and columns removed at the borders: ``cropping`` an int, (rows, cols) (each side) or
    ((top, bottom), (left, right)). (N, H, W, C) -> (N, H - top - bottom, W - left - right, C);
    the backward puts dy back in zeros."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(self, data_format)
        self.cropping = _cropping(self, cropping)

    def _steps(self, h, w):
        (t, b), (lf, r) = self.cropping
        if t + b >= h or lf + r >= w:
            raise self.error(
                f"`cropping`={self.cropping} must leave at least one row and column of the input "
                f"{(None, h, w)} (Keras: values in `cropping` should be smaller than the spatial dimension)"
            )
        return [_Step("crop", (h, w), (h - t - b, w - lf - r), t, lf)]

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping], "data_format": "channels_last"}


class Resizing(_ImageSteps):
    """Images resized to (height, width) (keras.layers.Resizing): ``interpolation`` nearest or
    bilinear (antialias=False, Keras's default); ``crop_to_aspect_ratio`` first crops the
    largest centred window of the target's aspect ratio, ``pad_to_aspect_ratio`` first pads
    with ``fill_value`` to it (fill_mode "constant", the only one Keras has)."""

    def __init__(
        self,
        height,
        width,
        interpolation="bilinear",
        crop_to_aspect_ratio=False,
        pad_to_aspect_ratio=False,
        fill_mode="constant",
        fill_value=0.0,
        antialias=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _channels_last(self, data_format)
        self.height = size("Resizing", "height", height)
        self.width = size("Resizing", "width", width)
        self.interpolation = _interpolation(self, interpolation)
        self.crop_to_aspect_ratio = as_bool("Resizing", "crop_to_aspect_ratio", crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = as_bool("Resizing", "pad_to_aspect_ratio", pad_to_aspect_ratio)
        if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
            raise self.arg_error("only one of `pad_to_aspect_ratio` and `crop_to_aspect_ratio` can be True")
        if fill_mode != "constant":
            raise self.arg_error(f"`fill_mode` must be 'constant' (the only one Keras has), got {fill_mode!r}")
        self.fill_mode = fill_mode
        if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float)) or not math.isfinite(fill_value):
            raise self.arg_error(f"`fill_value` must be a finite number, got {fill_value!r}")
        self.fill_value = float(fill_value)
        if as_bool("Resizing", "antialias", antialias):
            raise self.arg_error("`antialias`=True is not supported (sinapse resizes as Keras's default, False)")
        self.antialias = False

    def _steps(self, h, w):
        steps: list[_Step] = []
        if self.crop_to_aspect_ratio:
            steps.append(_crop_to_aspect(h, w, self.height, self.width))
        elif self.pad_to_aspect_ratio:
            pad = _pad_to_aspect(h, w, self.height, self.width, self.fill_value)
            steps += [pad] if pad is not None else []
        src = steps[-1].dst if steps else (h, w)
        return [*steps, _Step("resize", src, (self.height, self.width), interpolation=self.interpolation)]

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
            "data_format": "channels_last",
        }


class CenterCrop(_ImageSteps):
    """The centred (height, width) window of each image (keras.layers.CenterCrop); an image
    smaller than the target on either side is, as in Keras, cropped to the target's aspect
    ratio and resized to it bilinearly instead (keras.utils.smart_resize)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(self, data_format)
        self.height = size("CenterCrop", "height", height)
        self.width = size("CenterCrop", "width", width)

    def _steps(self, h, w):
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return [_Step("crop", (h, w), (self.height, self.width), top, left)]
        crop = _crop_to_aspect(h, w, self.height, self.width)
        return [crop, _Step("resize", crop.dst, (self.height, self.width))]

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": "channels_last"}


def _scalar(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(
            f"Rescaling: `{name}` must be a number (sinapse supports scalar scale and offset), got {value!r}"
        )
    if not math.isfinite(value):
        raise ValueError(f"Rescaling: `{name}` must be finite, got {value!r}")
    return float(value)


class Rescaling(Layer):
    """``x * scale + offset`` on any shape (keras.layers.Rescaling: scale=1/255 maps [0, 255] to
    [0, 1]; scale=1/127.5, offset=-1 to [-1, 1]). One ``ops.axpy`` over an array holding the
    offset; the backward is ``scale * dy``."""

    supports_masking = True
    backward_reads_input = False
    backward_reads_output = False

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _scalar("scale", scale)
        self.offset = _scalar("offset", offset)

    def forward(self, x, training=False, mask=None):
        y = self.buffer("y", x.shape)
        y.fill(self.offset)
        return ops.axpy(self.scale, x, y, out=y)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        dx = self.buffer("dx", dy.shape)
        dx.fill(0.0)
        return ops.axpy(self.scale, dy, dx, out=dx)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
