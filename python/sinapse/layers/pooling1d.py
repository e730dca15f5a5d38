"""MaxPooling1D / AveragePooling1D and GlobalAveragePooling1D / GlobalMaxPooling1D (with the
MaxPool1D, AvgPool1D, GlobalAvgPool1D, GlobalMaxPool1D aliases), over (batch, steps, channels).

The windows run on the 2-D pooling kernels (``ops.max_pool2d`` / ``ops.avg_pool2d``) through an
(N, 1, T, C) view of the sequence: a reshape, never a copy. Keras 3's arguments, defaults and
output shapes (keras/src/layers/pooling/base_pooling.py, global_average_pooling1d.py): with
padding "valid" the output has ``(T - pool_size) // strides + 1`` steps, with "same"
``ceil(T / strides)``; an average divides by the real steps of its window.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import ops
from ..ops._checks import as_int
from ..ops._plan import PlanCache
from ..ops.pooling import geometry
from .base import Layer
from .convolutional import _padding
from .pooling import _GlobalPooling2D


def _data_format(layer: Layer, data_format) -> None:
    if data_format not in (None, "channels_last"):
        raise layer.arg_error(
            f"`data_format` must be 'channels_last' (batch, steps, channels: the only layout supported), "
            f"got {data_format!r}"
        )


def _one(cls: str, name: str, value) -> int:
    """Keras's 1-D pool_size / strides: an int or a 1-tuple."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"{cls}: `{name}` must be an int or a tuple of 1 int, got {value!r}")
        value = value[0]
    return as_int(cls, name, value, lo=1, hi=2**31 - 1, what="an int")


def _as_images(x):
    """The (N, 1, T, C) view of an (N, T, C) sequence (no copy)."""
    return x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])


class _Pooling1D(Layer):
    _kind = ""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _data_format(self, data_format)
        cls = type(self).__name__
        self.pool_size = _one(cls, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _one(cls, "strides", strides)
        self.padding = _padding(self, padding)
        window = dict(pool_size=(1, self.pool_size), strides=(1, self.strides), padding=self.padding)
        self._fwd = PlanCache(getattr(ops, f"{self._kind}_pool2d"), ("x", "out"), **window)
        self._bwd = PlanCache(getattr(ops, f"{self._kind}_pool2d_backward"), ("dy", "x", "out"), **window)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise self.error(f"expects sequences (batch, steps, channels), got {(None, *input_shape)}")
        t, c = input_shape
        try:
            g = geometry(self.name, (1, 1, t, c), (1, self.pool_size), (1, self.strides), self.padding)
        except ValueError as exc:
            raise self.error(f"input shape {(None, *input_shape)}: {exc}") from None
        return (g.OW, c)

    def forward(self, x, training=False, mask=None):
        self._x = x4 = _as_images(x)
        n, (steps, c) = x.shape[0], self._output_shape()
        y = self._fwd(x4.shape, x4, self.buffer("y", (n, 1, steps, c)))
        return y.reshape(n, steps, c)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        x4 = self._x
        dx = self._bwd(x4.shape, _as_images(dy), x4, self.buffer("dx", x4.shape))
        return dx.reshape(x4.shape[0], x4.shape[2], x4.shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": [self.pool_size],
            "padding": self.padding,
            "strides": [self.strides],
            "data_format": "channels_last",
        }


class MaxPooling1D(_Pooling1D):
    """Max over windows of steps: (N, T, C) -> (N, T', C) (Keras's MaxPooling1D; ties go to the
    first step of the window)."""

    _kind = "max"


class AveragePooling1D(_Pooling1D):
    """Mean over windows of steps: (N, T, C) -> (N, T', C) (with padding='same', over each
    window's real steps, as Keras's AveragePooling1D)."""

    _kind = "avg"


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D


class _GlobalPooling1D(_GlobalPooling2D):
    """The 2-D global pooling's arguments and config (data_format, keepdims) over sequences."""

    _weights_t = None  # the masked mean's per-step weights (N, T), else None

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise self.error(f"expects sequences (batch, steps, channels), got {(None, *input_shape)}")
        if input_shape[0] == 0:  # nothing to pool over (the op would blame its pool_size)
            raise ValueError(
                f"{type(self).__name__}: inputs of shape {(None, *input_shape)} have no steps; "
                f"the layer needs sequences of at least 1 step"
            )
        return (1, input_shape[1]) if self.keepdims else (input_shape[1],)

    def compute_mask(self, x, mask):
        return None  # the steps are gone (Keras: compute_mask returns None)

    def forward(self, x, training=False, mask=None):
        self._x = x
        n, t, c = x.shape
        y = self._fwd(_as_images(x), (1, t), (1, t), "valid", out=self.buffer("y", (n, 1, 1, c)))
        return y.reshape(n, 1, c) if self.keepdims else y.reshape(n, c)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, t, c = self._x.shape
        dx = self._bwd(
            dy.reshape(n, 1, 1, c), _as_images(self._x), (1, t), (1, t), "valid", out=self.buffer("dx", (n, 1, t, c))
        )
        return dx.reshape(n, t, c)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean over the steps: (N, T, C) -> (N, C) ((N, 1, C) with keepdims).

    With a mask (N, T) from the layer below (Embedding(mask_zero=True), Masking), the mean of each
    sequence's unmasked steps, as Keras 3's GlobalAveragePooling1D (sum of the kept steps / their
    count; a sequence with no kept step gives NaN there, 0 / 0, as Keras). The masked mean is a
    batched (1, T) x (T, C) product with the weights mask / count (the device's own matmul, as
    the Masking layer uses the device's multiply)."""

    _kind = "avg"
    supports_masking = True

    def forward(self, x, training=False, mask=None):
        if mask is None:
            self._weights_t = None
            return super().forward(x, training)
        xp = self.device.xp
        keep = xp.asarray(mask, dtype=xp.float32)
        with _quiet(xp):  # 0 / 0 is Keras's NaN for an all-masked sequence
            self._weights_t = w = keep / keep.sum(axis=1, keepdims=True)
        n, t, c = x.shape
        y = xp.matmul(w[:, None, :], x, out=self.buffer("y", (n, 1, c)))
        return y if self.keepdims else y.reshape(n, c)

    def backward(self, dy, need_dx=True):
        if self._weights_t is None or not need_dx:
            return super().backward(dy, need_dx)
        w = self._weights_t
        n, t = w.shape
        c = dy.shape[-1]
        return self.device.xp.matmul(w[:, :, None], dy.reshape(n, 1, c), out=self.buffer("dx", (n, t, c)))


def _quiet(xp):
    """NumPy's errstate (no division warning for an all-masked row); CuPy warns of nothing."""
    return np.errstate(invalid="ignore", divide="ignore") if xp is np else contextlib.nullcontext()


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Max over the steps: (N, T, C) -> (N, C) ((N, 1, C) with keepdims); Keras's
    GlobalMaxPooling1D (which ignores masks: a mask from below is dropped)."""

    _kind = "max"


GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
