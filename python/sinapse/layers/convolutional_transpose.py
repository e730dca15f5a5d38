"""Conv2DTranspose: the transposed convolution (Keras 3's layer; a decoder's upsampling
convolution), NHWC images, kernel (KH, KW, filters, in_channels) as Keras stores it. It runs
conv2d's kernels through ops.conv2d_transpose (the convolution's input gradient)."""

from __future__ import annotations

from .. import ops
from ..ops._checks import as_pair
from ..ops._conv2d_transpose import transpose_geometry
from ..ops._plan import PlanCache
from ..ops.conv2d import _is_int
from ._conv_arguments import (
    ConvLayer,
    check_strides_dilation,
    create_weights,
    gradient_outputs,
    set_arguments,
    store_gradients,
    weights_config,
)


def _output_padding(layer, value, strides):
    """None, or a pair of ints each in [0, stride) (Keras: an int or a tuple of 2)."""
    if value is None:
        return None
    pair = (value, value) if _is_int(value) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(_is_int(p) and 0 <= p < s for p, s in zip(pair, strides))
    ):
        raise layer.arg_error(
            f"`output_padding` must be None or an int or pair of ints from 0 to `strides` - 1 "
            f"(strides={strides}), got {value!r}"
        )
    return (int(pair[0]), int(pair[1]))


class Conv2DTranspose(ConvLayer):
    """Transposed 2-D convolution, Keras 3's arguments and defaults (channels_last only).

    Output shape (Keras's ``deconv_output_length``, per spatial axis of input size n, stride s,
    dilated kernel extent e, output_padding p): "valid" ``n * s + max(e - s, 0)`` (p None) or
    ``(n - 1) * s + e + p``; "same" ``n * s`` (p None) or ``(n - 1) * s + e % 2 + p``.
    Weights: kernel (KH, KW, filters, in_channels), bias (filters,).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=(1, 1),
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
        cls = type(self).__name__
        self.kernel_size = as_pair(cls, "kernel_size", kernel_size)
        self.strides = as_pair(cls, "strides", strides)
        self.dilation_rate = as_pair(cls, "dilation_rate", dilation_rate)
        check_strides_dilation(self, self.strides, self.dilation_rate)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise self.arg_error(f"`padding` must be 'valid' or 'same', got {padding!r}")
        self.padding = padding.lower()
        self.output_padding = _output_padding(self, output_padding, self.strides)
        self._geo = dict(
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
        )
        # the forward through a plan per input shape (ops/_plan.py), as Conv2D
        self._tconv = PlanCache(ops.conv2d_transpose, ("x", "w", "bias", "out"), **self._geo)

    def _geometry(self, input_shape):
        if len(input_shape) != 3:
            raise self.error(f"expects images (batch, height, width, channels), got input shape {(None, *input_shape)}")
        try:
            return transpose_geometry(
                self.name, (1, *input_shape), (*self.kernel_size, self.filters, input_shape[2]), **self._geo
            )
        except ValueError as exc:
            raise self.error(f"input shape {(None, *input_shape)}: {exc}") from None

    def build(self, input_shape):
        self._geometry(input_shape)
        create_weights(self, (*self.kernel_size, self.filters, input_shape[2]))

    def compute_output_shape(self, input_shape):
        g = self._geometry(input_shape)  # the convolution whose input gradient this is: its input
        return (g.H, g.W, self.filters)

    def forward(self, x, training=False, mask=None):
        b = self.bias.value if self.bias is not None else None
        out_shape = (x.shape[0], *self._output_shape())
        if self.act.identity:
            y = z = self._tconv(x.shape, x, self.kernel.value, b, self.buffer("y", out_shape))
        else:
            z = self._tconv(x.shape, x, self.kernel.value, b, self.buffer("z", out_shape))
            y = self.act.forward(z, self.buffer("y", out_shape))
        self._x, self.logits, self._y = x, z, y
        return y

    def backward(self, dy, need_dx=True):
        return self.backward_logits(
            self.act.backward(dy, self.logits, self._y, self.act.dz_out(self, dy, "dz")), need_dx
        )

    def backward_logits(self, dz, need_dx=True):
        need_dw, need_db, out = gradient_outputs(self)
        if not (need_dw or need_dx):
            return None
        dx, dw, db = ops.conv2d_transpose_backward(
            dz, self._x, self.kernel.value, need_dx=need_dx, need_dw=need_dw, need_db=need_db, out=out, **self._geo
        )
        store_gradients(self, dw, db, self.kernel.value.shape)
        return dx

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "output_padding": None if self.output_padding is None else list(self.output_padding),
            "dilation_rate": list(self.dilation_rate),
            **weights_config(self),
        }
