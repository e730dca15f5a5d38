"""Conv1D: 1-D convolution over (batch, steps, channels) sequences, Keras 3's layer, on
conv2d's kernels: the sequence is viewed as one-row images (N, 1, T, C) and the kernel
(K, C, filters) as (1, K, C, filters) (reshapes of contiguous arrays: no copies).

Padding (Keras): "valid", "same", or "causal" (WaveNet, https://arxiv.org/abs/1609.03499:
``dilation_rate * (kernel_size - 1)`` zeros before the first step, none after, so output t
reads no input after t; Keras's ``Conv1D._compute_causal_padding``)."""

from __future__ import annotations

from .. import ops
from ..ops._plan import PlanCache
from ..ops.conv2d import geometry
from ._conv_arguments import (
    ConvLayer,
    check_strides_dilation,
    create_weights,
    gradient_outputs,
    set_arguments,
    store_gradients,
    weights_config,
)
from ._limits import size


def _one(layer, name, value) -> int:
    """Keras's int or 1-tuple (``kernel_size=[3]`` in its configs) as a positive int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise layer.arg_error(f"`{name}` must be an int or a tuple of one int, got {value!r}")
        value = value[0]
    return size(type(layer).__name__, name, value)


class Conv1D(ConvLayer):
    """1-D convolution, Keras 3's arguments and defaults (channels_last, groups=1 only).

    Input (batch, steps, channels); output (batch, new_steps, filters) with new_steps
    ``floor((steps - e) / s) + 1`` ("valid"), ``ceil(steps / s)`` ("same") or
    ``floor((steps - 1) / s) + 1`` ("causal"), e the dilated kernel extent. Weights: kernel
    (kernel_size, channels, filters), bias (filters,).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
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
        set_arguments(
            self,
            filters,
            data_format,
            activation,
            use_bias,
            kernel_initializer,
            bias_initializer,
            kernel_regularizer,
            bias_regularizer,
            activity_regularizer,
            kernel_constraint,
            bias_constraint,
        )
        if isinstance(groups, bool) or groups != 1:
            raise self.arg_error(f"`groups` must be 1 (grouped convolutions are not supported), got {groups!r}")
        self.kernel_size = _one(self, "kernel_size", kernel_size)
        self.strides = _one(self, "strides", strides)
        self.dilation_rate = _one(self, "dilation_rate", dilation_rate)
        check_strides_dilation(self, (self.strides,), (self.dilation_rate,))
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same", "causal"):
            raise self.arg_error(f"`padding` must be 'valid', 'same' or 'causal', got {padding!r}")
        self.padding = padding.lower()
        left = self.dilation_rate * (self.kernel_size - 1)
        self._geo = dict(
            strides=(1, self.strides),
            padding=(0, 0, left, 0) if self.padding == "causal" else self.padding,
            dilation_rate=(1, self.dilation_rate),
        )
        self._conv = PlanCache(ops.conv2d, ("x", "w", "bias", "out"), activation=self.act.fused, **self._geo)

    def _geometry(self, input_shape):
        if len(input_shape) != 2:
            raise self.error(f"expects sequences (batch, steps, channels), got input shape {(None, *input_shape)}")
        steps, channels = input_shape
        try:
            return geometry(
                self.name, (1, 1, steps, channels), (1, self.kernel_size, channels, self.filters), **self._geo
            )
        except ValueError as exc:
            raise self.error(f"input shape {(None, *input_shape)}: {exc}") from None

    def build(self, input_shape):
        self._geometry(input_shape)
        create_weights(self, (self.kernel_size, input_shape[1], self.filters))

    def compute_output_shape(self, input_shape):
        return (self._geometry(input_shape).OW, self.filters)

    def _image_kernel(self, w):
        return w.reshape(1, *w.shape)  # (K, C, F) -> (1, K, C, F): a view

    def forward(self, x, training=False, mask=None):
        act, b = self.act, (self.bias.value if self.bias is not None else None)
        n, steps, channels = x.shape
        out_shape = (n, *self._output_shape())
        x4, w4 = x.reshape(n, 1, steps, channels), self._image_kernel(self.kernel.value)
        if act.fused is not None:
            y = self.buffer("y", out_shape)
            self._conv(x4.shape, x4, w4, b, y.reshape(n, 1, *out_shape[1:]))
            z = None
        else:
            z = self.buffer("z", out_shape)
            self._conv(x4.shape, x4, w4, b, z.reshape(n, 1, *out_shape[1:]))
            y = act.forward(z, self.buffer("y", out_shape))
        self._x, self.logits, self._y = x, z, y
        return y

    def backward(self, dy, need_dx=True):
        return self.backward_logits(
            self.act.backward(dy, self.logits, self._y, self.act.dz_out(self, dy, "dz")), need_dx
        )

    def backward_logits(self, dz, need_dx=True):
        need_dw, need_db, out = gradient_outputs(self, self._image_kernel)
        if not (need_dw or need_dx):
            return None
        x = self._x
        dx, dw, db = ops.conv2d_backward(
            dz.reshape(dz.shape[0], 1, *dz.shape[1:]),
            x.reshape(x.shape[0], 1, *x.shape[1:]),
            self._image_kernel(self.kernel.value),
            need_dx=need_dx,
            need_dw=need_dw,
            need_db=need_db,
            out=out,
            **self._geo,
        )
        store_gradients(self, dw, db, self.kernel.value.shape)
        return dx.reshape(x.shape) if dx is not None else None

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": [self.kernel_size],
            "strides": [self.strides],
            "padding": self.padding,
            "dilation_rate": [self.dilation_rate],
            "groups": 1,
            **weights_config(self),
        }
