"""DepthwiseConv2D and SeparableConv2D (Keras 3's arguments, defaults, weight names and
order), over the depthwise_conv2d kernels; and the grouped path Conv2D(groups > 1) takes
(layers/convolutional.py calls :func:`conv_groups` and :func:`grouped_plan`).

- DepthwiseConv2D (https://keras.io/api/layers/convolution_layers/depthwise_convolution2d/):
  each input channel convolved with its own ``depth_multiplier`` filters, weight ``kernel``
  (KH, KW, C, depth_multiplier), output channel c * depth_multiplier + m, then ``bias``.
- SeparableConv2D (https://keras.io/api/layers/convolution_layers/separable_convolution2d/):
  that depthwise convolution (strides and dilation apply to it, no bias), then a 1x1
  pointwise conv2d to ``filters`` channels with the bias and activation; weights
  ``depthwise_kernel`` (KH, KW, C, depth_multiplier), ``pointwise_kernel``
  (1, 1, C * depth_multiplier, filters), ``bias`` (filters,), in that order.
"""

from __future__ import annotations

from typing import Any

from .. import constraints, initializers, ops, regularizers
from ..ops._checks import as_bool, as_pair
from ..ops._plan import PlanCache
from ..ops.depthwise_conv2d import geometry
from . import _activity
from ._activations import Act
from ._limits import size
from .base import Layer
from .convolutional import _padding


def conv_groups(layer: str, groups, filters: int) -> int:
    """Conv2D's ``groups`` as an int >= 1 dividing ``filters`` (the input channels are checked at
    build). Raises ValueError naming the layer and the argument."""
    g = size(layer, "groups", groups)
    if filters % g:
        raise ValueError(f"{layer}: `groups`={g} must divide `filters`={filters}")
    return g


def grouped_plan(layer) -> PlanCache:
    """The forward plan of a grouped Conv2D (HWIO weights (KH, KW, C / groups, filters))."""
    return PlanCache(
        ops.depthwise_conv2d,
        ("x", "w", "bias", "out"),
        strides=layer.strides,
        padding=layer.padding,
        dilation_rate=layer.dilation_rate,
        groups=layer.groups,
    )


class _DepthwiseBase(Layer):
    """What DepthwiseConv2D and SeparableConv2D share: the depthwise half's arguments, weight
    and plan; the activation; the image check."""

    use_bias: bool  # set by each subclass's constructor
    _x: Any  # the forward's input, kept for the backward

    def _depthwise_setup(self, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier, activation):
        cls = type(self).__name__
        if data_format not in (None, "channels_last"):
            raise self.arg_error(
                f"`data_format` must be 'channels_last' (NHWC, the only layout supported), got {data_format!r}"
            )
        self.kernel_size = as_pair(cls, "kernel_size", kernel_size)
        self.strides = as_pair(cls, "strides", strides)
        self.dilation_rate = as_pair(cls, "dilation_rate", dilation_rate)
        self.padding = _padding(self, padding)
        self.depth_multiplier = size(cls, "depth_multiplier", depth_multiplier)
        self.act = Act(cls, activation)
        self.activation = self.act.name
        self._depthwise = PlanCache(
            ops.depthwise_conv2d,
            ("x", "w", "bias", "out"),
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )

    def _geometry(self, input_shape):
        if len(input_shape) != 3:
            raise self.error(f"expects images (batch, height, width, channels), got input shape {(None, *input_shape)}")
        try:
            return geometry(
                self.name,
                (1, *input_shape),
                (*self.kernel_size, input_shape[2], self.depth_multiplier),
                self.strides,
                self.padding,
                self.dilation_rate,
                None,
            )
        except ValueError as exc:
            raise self.error(f"input shape {(None, *input_shape)}: {exc}") from None

    def _activate(self, z, shape):
        return z if self.act.identity else self.act.forward(z, self.buffer("y", shape))

    def _depthwise_backward(self, dz, kernel, need_dx, need_db, bias=None):
        """dx of the depthwise half; its kernel's (and bias's) gradient into their arrays."""
        train = self.trainable
        out = (None, kernel.grad if train else None, bias.grad if need_db and bias is not None else None)
        dx, dw, db = ops.depthwise_conv2d_backward(
            dz,
            self._x,
            kernel.value,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            need_dx=need_dx,
            need_dw=train,
            need_db=need_db,
            out=out,
        )
        if train:
            kernel.grad = dw
            if bias is not None and need_db:
                bias.grad = db
        return dx

    def _common_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
            "dilation_rate": list(self.dilation_rate),
            "activation": self.activation,
            "use_bias": self.use_bias,
        }


class DepthwiseConv2D(_DepthwiseBase):
    """Depthwise 2-D convolution over NHWC images: (batch, H, W, C) -> (batch, OH, OW,
    C * depth_multiplier), Keras 3's arguments and defaults (module docstring). OH, OW by
    Keras's "valid" / "same" rule. Raises ValueError for a bad argument (naming it) and, at
    build, for an input that is not images or smaller than the dilated kernel."""

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.activity_regularizer = _activity.get(cls, activity_regularizer)
        self._depthwise_setup(kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier, activation)
        self.use_bias = as_bool(cls, "use_bias", use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.for_argument(cls, "depthwise_constraint", depthwise_constraint)
        self.bias_constraint = constraints.for_argument(cls, "bias_constraint", bias_constraint)

    def build(self, input_shape):
        self._geometry(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, input_shape[2], self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self.bias = (
            self.add_weight(
                "bias",
                (input_shape[2] * self.depth_multiplier,),
                self.bias_initializer,
                self.bias_regularizer,
                constraint=self.bias_constraint,
            )
            if self.use_bias
            else None
        )

    def compute_output_shape(self, input_shape):
        g = self._geometry(input_shape)
        return (g.OH, g.OW, g.K)

    def forward(self, x, training=False, mask=None):
        shape = (x.shape[0], *self._output_shape())
        b = self.bias.value if self.bias is not None else None
        z = self._depthwise(x.shape, x, self.kernel.value, b, self.buffer("z", shape))
        self._x, self._z = x, z
        self._y = self._activate(z, shape)
        return self._y

    def backward(self, dy, need_dx=True):
        if not (self.trainable or need_dx):
            return None
        dz = self.act.backward(dy, self._z, self._y, self.act.dz_out(self, dy, "dz"))
        need_db = self.trainable and self.bias is not None
        dx = self._depthwise_backward(dz, self.kernel, need_dx, need_db, self.bias)
        if self.trainable and (self.depthwise_regularizer is not None or self.bias_regularizer is not None):
            self.add_regularizer_gradients()
        return dx

    def get_config(self):
        return {
            **self._common_config(),
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class SeparableConv2D(_DepthwiseBase):
    """Depthwise then pointwise (1x1) 2-D convolution: (batch, H, W, C) -> (batch, OH, OW,
    filters), Keras 3's arguments, defaults, weights and order (module docstring). The
    pointwise half is one ops.conv2d with the bias and a relu fused into its epilogue. Raises
    as DepthwiseConv2D, and ValueError for a bad ``filters``."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.activity_regularizer = _activity.get(cls, activity_regularizer)
        self.filters = size(cls, "filters", filters)
        self._depthwise_setup(kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier, activation)
        self._pointwise = PlanCache(ops.conv2d, ("x", "w", "bias", "out"), activation=self.act.fused)
        self.use_bias = as_bool(cls, "use_bias", use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.for_argument(cls, "depthwise_constraint", depthwise_constraint)
        self.pointwise_constraint = constraints.for_argument(cls, "pointwise_constraint", pointwise_constraint)
        self.bias_constraint = constraints.for_argument(cls, "bias_constraint", bias_constraint)

    def build(self, input_shape):
        self._geometry(input_shape)
        mid = input_shape[2] * self.depth_multiplier
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel",
            (*self.kernel_size, input_shape[2], self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            (1, 1, mid, self.filters),
            self.pointwise_initializer,
            self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
        )
        self.bias = (
            self.add_weight(
                "bias", (self.filters,), self.bias_initializer, self.bias_regularizer, constraint=self.bias_constraint
            )
            if self.use_bias
            else None
        )

    def compute_output_shape(self, input_shape):
        g = self._geometry(input_shape)
        return (g.OH, g.OW, self.filters)

    def forward(self, x, training=False, mask=None):
        g_shape = (x.shape[0], *self._output_shape()[:2], x.shape[3] * self.depth_multiplier)
        mid = self._depthwise(x.shape, x, self.depthwise_kernel.value, None, self.buffer("mid", g_shape))
        shape = (x.shape[0], *self._output_shape())
        b = self.bias.value if self.bias is not None else None
        if self.act.fused is not None:
            z, y = None, self._pointwise(mid.shape, mid, self.pointwise_kernel.value, b, self.buffer("y", shape))
        else:
            z = self._pointwise(mid.shape, mid, self.pointwise_kernel.value, b, self.buffer("z", shape))
            y = self.act.forward(z, self.buffer("y", shape))
        self._x, self._mid, self._z, self._y = x, mid, z, y
        return y

    def backward(self, dy, need_dx=True):
        train = self.trainable
        if not (train or need_dx):
            return None
        dz = self.act.backward(dy, self._z, self._y, self.act.dz_out(self, dy, "dz"))
        need_db = train and self.bias is not None
        out = (None, self.pointwise_kernel.grad if train else None, self.bias.grad if need_db else None)  # type: ignore[union-attr]
        dmid, dpw, db = ops.conv2d_backward(
            dz, self._mid, self.pointwise_kernel.value, need_dw=train, need_db=need_db, out=out
        )
        if train:
            self.pointwise_kernel.grad = dpw
            if need_db:
                self.bias.grad = db  # type: ignore[union-attr]
        dx = self._depthwise_backward(dmid, self.depthwise_kernel, need_dx, False)
        if train and any(
            r is not None for r in (self.depthwise_regularizer, self.pointwise_regularizer, self.bias_regularizer)
        ):
            self.add_regularizer_gradients()
        return dx

    def get_config(self):
        return {
            **self._common_config(),
            "filters": self.filters,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
