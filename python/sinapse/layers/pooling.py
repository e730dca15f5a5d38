"""MaxPooling2D / AveragePooling2D (and the MaxPool2D / AvgPool2D aliases), global pooling."""

from __future__ import annotations

from .. import ops
from ..ops._checks import as_bool, as_pair
from ..ops._plan import PlanCache
from ..ops.pooling import geometry
from .base import Layer, keras1_arguments
from .convolutional import _padding


class _Pooling2D(Layer):
    _kind = ""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        kwargs = keras1_arguments(type(self).__name__, kwargs, {"border_mode": "padding"})
        padding = kwargs.pop("padding", padding)
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise self.arg_error(
                f"`data_format` must be 'channels_last' (NHWC, the only layout supported), got {data_format!r}"
            )
        cls = type(self).__name__
        self.pool_size = as_pair(cls, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else as_pair(cls, "strides", strides)
        self.padding = _padding(self, padding)
        # forward and backward through a plan per input shape (ops/_plan.py)
        window = dict(pool_size=self.pool_size, strides=self.strides, padding=self.padding)
        self._fwd = PlanCache(getattr(ops, f"{self._kind}_pool2d"), ("x", "out"), **window)
        self._bwd = PlanCache(getattr(ops, f"{self._kind}_pool2d_backward"), ("dy", "x", "out"), **window)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.error(f"expects images (batch, height, width, channels), got {(None, *input_shape)}")
        try:
            g = geometry(self.name, (1, *input_shape), self.pool_size, self.strides, self.padding)
        except ValueError as exc:
            raise self.error(f"input shape {(None, *input_shape)}: {exc}") from None
        return (g.OH, g.OW, input_shape[2])

    def forward(self, x, training=False, mask=None):
        self._x = x
        return self._fwd(x.shape, x, self.buffer("y", (x.shape[0], *self._output_shape())))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return self._bwd(self._x.shape, dy, self._x, self.buffer("dx", self._x.shape))

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
        }


class MaxPooling2D(_Pooling2D):
    """Max over windows (Keras's MaxPooling2D; ties go to the first pixel in the window)."""

    _kind = "max"


class AveragePooling2D(_Pooling2D):
    """Mean over windows (with padding='same', over each window's real pixels, as Keras)."""

    _kind = "avg"


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


class _GlobalPooling2D(Layer):
    _kind = ""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise self.arg_error(
                f"`data_format` must be 'channels_last' (NHWC, the only layout supported), got {data_format!r}"
            )
        self.keepdims = as_bool(type(self).__name__, "keepdims", keepdims)
        self._fwd = getattr(ops, f"{self._kind}_pool2d")
        self._bwd = getattr(ops, f"{self._kind}_pool2d_backward")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.error(f"expects images (batch, height, width, channels), got {(None, *input_shape)}")
        if 0 in input_shape[:2]:  # there is nothing to pool over (the op would blame its pool_size)
            raise ValueError(
                f"{type(self).__name__}: inputs of shape {(None, *input_shape)} have no pixels "
                f"(height or width 0); the layer needs images at least 1 x 1"
            )
        return (1, 1, input_shape[2]) if self.keepdims else (input_shape[2],)

    def forward(self, x, training=False, mask=None):
        self._x = x
        n, h, w, c = x.shape
        y = self._fwd(x, (h, w), (h, w), "valid", out=self.buffer("y", (n, 1, 1, c)))
        return y if self.keepdims else y.reshape(n, c)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, h, w, c = self._x.shape
        return self._bwd(dy.reshape(n, 1, 1, c), self._x, (h, w), (h, w), "valid", out=self.buffer("dx", self._x.shape))

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Mean over height and width: (N, H, W, C) -> (N, C)."""

    _kind = "avg"


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Max over height and width: (N, H, W, C) -> (N, C)."""

    _kind = "max"


GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
