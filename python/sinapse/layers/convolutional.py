"""Conv2D (and Keras 1's Convolution2D), ZeroPadding2D. Images are NHWC, kernels HWIO."""

from __future__ import annotations

import numpy as np

from .. import constraints, initializers, ops, regularizers
from ..ops._checks import MAX_EXTENT, as_bool, as_pair
from ..ops._plan import PlanCache
from ..ops.conv2d import geometry
from . import _activity
from ._activations import Act
from ._conv_arguments import create_weights
from ._limits import size
from .base import Layer, Weight, keras1_arguments


def _padding(layer, padding):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise layer.error(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


class Conv2D(Layer):
    """2-D convolution over NHWC images with HWIO kernels, Keras's arguments and defaults."""

    kernel: Weight  # set by build (_conv_arguments.create_weights)
    bias: Weight | None

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        filters = size(type(self).__name__, "filters", filters)
        if data_format not in (None, "channels_last"):
            raise self.arg_error(
                f"`data_format` must be 'channels_last' (NHWC, the only layout supported), got {data_format!r}"
            )
        from .depthwise import conv_groups, grouped_plan  # (depthwise.py imports this module)

        self.groups = conv_groups(type(self).__name__, groups, filters)  # > 1: the grouped kernels
        self.activity_regularizer = _activity.get(type(self).__name__, activity_regularizer)
        self.filters = int(filters)
        cls = type(self).__name__
        self.kernel_size = as_pair(cls, "kernel_size", kernel_size)
        self.strides = as_pair(cls, "strides", strides)
        self.dilation_rate = as_pair(cls, "dilation_rate", dilation_rate)
        self.padding = _padding(self, padding)
        self.act = Act(cls, activation)
        # the forward through a plan per input shape (ops/_plan.py): at batch 1 validating
        # every argument costs as much as a small convolution
        self._conv = PlanCache(
            ops.conv2d,
            ("x", "w", "bias", "out"),
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            activation=self.act.fused,
        )
        if self.groups > 1:  # ops.depthwise_conv2d(groups=...): no fused activation
            self._conv, self.act.fused = grouped_plan(self), None
        self.activation = self.act.name
        self.output_activation = self.act.name if self.act.name == "sigmoid" else None
        self.use_bias = as_bool(type(self).__name__, "use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.for_argument(type(self).__name__, "kernel_constraint", kernel_constraint)
        self.bias_constraint = constraints.for_argument(type(self).__name__, "bias_constraint", bias_constraint)

    def _geometry(self, input_shape):
        if len(input_shape) != 3:
            raise self.error(f"expects images (batch, height, width, channels), got input shape {(None, *input_shape)}")
        if input_shape[2] % self.groups:
            raise self.error(f"`groups`={self.groups} must divide the input channels, got input shape {input_shape}")
        try:
            return geometry(
                self.name,
                (1, *input_shape),
                (*self.kernel_size, input_shape[2], self.filters),
                self.strides,
                self.padding,
                self.dilation_rate,
            )
        except ValueError as exc:
            raise self.error(f"input shape {(None, *input_shape)}: {exc}") from None

    def build(self, input_shape):
        self._geometry(input_shape)
        create_weights(self, (*self.kernel_size, input_shape[2] // self.groups, self.filters))

    def compute_output_shape(self, input_shape):
        g = self._geometry(input_shape)
        return (g.OH, g.OW, self.filters)

    def forward(self, x, training=False, mask=None):
        act, b = self.act, (self.bias.value if self.bias is not None else None)
        out_shape = (x.shape[0], *self._output_shape())
        if act.fused is not None:
            y = self._conv(x.shape, x, self.kernel.value, b, self.buffer("y", out_shape))
            z = None
        else:
            z = self._conv(x.shape, x, self.kernel.value, b, self.buffer("z", out_shape))
            y = act.forward(z, self.buffer("y", out_shape))
        self._x, self.logits, self._y = x, z, y
        return y

    def backward(self, dy, need_dx=True):
        return self.backward_logits(
            self.act.backward(dy, self.logits, self._y, self.act.dz_out(self, dy, "dz")), need_dx
        )

    def backward_logits(self, dz, need_dx=True):
        train = self.trainable
        if not (train or need_dx):
            return None
        need_db = train and self.bias is not None
        # dw, db into the weights' gradient arrays; dx freshly allocated: it is dead once the layer
        # below has used it, so a model's peak memory holds one or two of them, not one per layer.
        out = (
            None,
            self.kernel.grad if train else None,
            self.bias.grad if need_db and self.bias is not None else None,
        )
        grouped = {"groups": self.groups} if self.groups > 1 else {}
        dx, dw, db = (ops.depthwise_conv2d_backward if grouped else ops.conv2d_backward)(
            dz,
            self._x,
            self.kernel.value,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            need_dx=need_dx,
            need_dw=train,
            need_db=need_db,
            out=out,
            **grouped,
        )
        if train:
            self.kernel.grad = dw
            if self.bias is not None:
                self.bias.grad = db
            if self.kernel_regularizer is not None or self.bias_regularizer is not None:
                self.add_regularizer_gradients()
        return dx

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Convolution2D(Conv2D):
    """Keras 1's spelling: ``Convolution2D(filters, rows, cols, border_mode='valid', init=..., subsample=...)``.

    Accepted with a DeprecationWarning; it builds the same layer as ``Conv2D(filters, (rows, cols), ...)``
    (and saves as Conv2D).
    """

    def __init__(self, filters=None, nb_row=None, nb_col=None, **kwargs):
        kwargs = keras1_arguments(
            "Convolution2D",
            kwargs,
            {
                "nb_filter": "filters",
                "border_mode": "padding",
                "init": "kernel_initializer",
                "subsample": "strides",
                "W_regularizer": "kernel_regularizer",
                "b_regularizer": "bias_regularizer",
                "W_constraint": "kernel_constraint",
                "b_constraint": "bias_constraint",
                "bias": "use_bias",
            },
        )
        if kwargs.get("dim_ordering", "tf") not in ("tf", "default"):
            raise ValueError(
                f"Convolution2D: `dim_ordering` must be 'tf' (channels last, the only layout supported), "
                f"got {kwargs['dim_ordering']!r}"
            )
        kwargs.pop("dim_ordering", None)
        filters = kwargs.pop("filters", filters)
        if "kernel_size" not in kwargs and isinstance(nb_row, (tuple, list)):
            kwargs["kernel_size"] = nb_row
        elif "kernel_size" not in kwargs:
            if nb_row is None:
                raise TypeError(
                    "Convolution2D: give the kernel size as Convolution2D(filters, rows, cols) or kernel_size="
                )
            import warnings

            warnings.warn(
                "Convolution2D(filters, rows, cols) is Keras 1's spelling; use Conv2D(filters, (rows, cols))",
                DeprecationWarning,
                stacklevel=2,
            )
            kwargs["kernel_size"] = (nb_row, nb_row if nb_col is None else nb_col)
        super().__init__(filters, **kwargs)


class ZeroPadding2D(Layer):
    """Zero rows/columns around NHWC images: int, (rows, cols) or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise self.arg_error(
                f"`data_format` must be 'channels_last' (NHWC, the only layout supported), got {data_format!r}"
            )
        try:
            if isinstance(padding, (int, np.integer)):
                pads = ((padding, padding), (padding, padding))
            elif all(isinstance(p, (int, np.integer)) for p in padding):
                (r, c) = padding
                pads = ((r, r), (c, c))
            else:
                (t, b), (l, r) = padding
                pads = ((t, b), (l, r))
            pairs = tuple(tuple(int(v) for v in p) for p in pads)
        except (TypeError, ValueError):
            raise self.arg_error(
                f"`padding` must be an int, (rows, cols) or ((top, bottom), (left, right)), got {padding!r}"
            ) from None
        self.padding = tuple(tuple(size("ZeroPadding2D", "padding", v, lo=0) for v in p) for p in pairs)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.error(f"expects images (batch, height, width, channels), got {(None, *input_shape)}")
        (t, b), (l, r) = self.padding
        h, w, c = input_shape
        out = (h + t + b, w + l + r, c)
        if max(out[:2]) > MAX_EXTENT:  # checked here, before any buffer of that size is asked for
            raise ValueError(
                f"ZeroPadding2D: `padding`={self.padding} on inputs of shape {(None, *input_shape)} "
                f"gives images of {out[0]} x {out[1]}, more than {MAX_EXTENT} (2**31 - 1) per side"
            )
        return out

    def forward(self, x, training=False, mask=None):
        (t, _), (l, _) = self.padding
        out = self.buffer("y", (x.shape[0], *self._output_shape()))
        zeroed = self.__dict__.setdefault("_zeroed", {})
        if zeroed.get(out.shape) is not out:  # the border stays zero: write it once per buffer
            out[...] = 0
            zeroed[out.shape] = out
        out[:, t : t + x.shape[1], l : l + x.shape[2], :] = x  # data movement only
        return out

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        (t, _), (l, _) = self.padding
        h, w, c = self._input_shape()
        dx = self.buffer("dx", (dy.shape[0], h, w, c))
        dx[...] = dy[:, t : t + h, l : l + w, :]
        return dx

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": "channels_last"}
