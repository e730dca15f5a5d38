"""Keras's activation layers with parameters: LeakyReLU, ELU, ReLU, Softmax, and PReLU (a
learned slope: a weight, the ``ops.prelu`` kernels).

Each is an ``Activation`` on the kernels of ``ops.activation`` / ``ops.softmax`` with its
parameter passed to the kernel (leaky_relu's negative slope, elu's alpha); the arguments,
defaults and configs are Keras 3's (keras/src/layers/activations/*.py).
"""

from __future__ import annotations

import math

from .. import constraints, initializers, ops, regularizers
from ..ops._checks import as_int
from .base import Layer, keras1_arguments
from .core import Activation


def _number(layer: str, name: str, value, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < minimum:
        raise ValueError(f"{layer}: `{name}` must be a finite number >= {minimum:g}, got {value!r}")
    return float(value)


class _ActivationLayer(Activation):
    """An Activation whose config is its own arguments (Keras's), not ``activation``."""

    def arguments(self) -> dict:
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        return {**config, **self.arguments()}


class LeakyReLU(_ActivationLayer):
    """``x`` for x >= 0, ``negative_slope * x`` below (Maas et al. 2013; Keras 3's default slope 0.3;
    Keras 2's ``alpha`` is accepted with a DeprecationWarning)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        kwargs = keras1_arguments("LeakyReLU", kwargs, {"alpha": "negative_slope"})
        self.negative_slope = _number("LeakyReLU", "negative_slope", kwargs.pop("negative_slope", negative_slope))
        super().__init__("leaky_relu", _alpha=self.negative_slope, **kwargs)

    def arguments(self) -> dict:
        return {"negative_slope": self.negative_slope}


class ELU(_ActivationLayer):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` below (Clevert et al. 2016)."""

    def __init__(self, alpha=1.0, **kwargs):
        self.alpha = _number("ELU", "alpha", alpha)
        super().__init__("elu", _alpha=self.alpha, **kwargs)

    def arguments(self) -> dict:
        return {"alpha": self.alpha}


class ReLU(_ActivationLayer):
    """Keras's ReLU layer: ``min(max(x, 0), max_value)`` with ``negative_slope * x`` below 0.

    The kernels cover the combinations people use: the defaults (relu), ``max_value=6``
    (relu6) and a ``negative_slope`` without ``max_value`` (leaky_relu); a ``threshold``
    other than 0, or a ``max_value`` other than 6, raises ValueError (use ``Activation``).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        if max_value is not None:
            max_value = _number("ReLU", "max_value", max_value)
        self.max_value = max_value
        self.negative_slope = _number("ReLU", "negative_slope", negative_slope)
        self.threshold = _number("ReLU", "threshold", threshold, minimum=-math.inf)
        if self.threshold != 0.0 or (max_value is not None and (max_value != 6.0 or self.negative_slope)):
            raise ValueError(
                f"ReLU: max_value={max_value!r}, negative_slope={negative_slope!r}, threshold={threshold!r} is "
                f"not supported; supported: the defaults (relu), max_value=6 (relu6), or a negative_slope "
                f"with max_value=None (leaky_relu)"
            )
        if max_value is not None:
            super().__init__("relu6", **kwargs)
        elif self.negative_slope:
            super().__init__("leaky_relu", _alpha=self.negative_slope, **kwargs)
        else:
            super().__init__("relu", **kwargs)

    def arguments(self) -> dict:
        return {"max_value": self.max_value, "negative_slope": self.negative_slope, "threshold": self.threshold}


class Softmax(_ActivationLayer):
    """Softmax over the last axis (Keras's ``axis=-1``; other axes raise ValueError)."""

    def __init__(self, axis=-1, **kwargs):
        if axis != -1:
            raise ValueError(f"Softmax: only `axis=-1` (the last axis) is supported, got axis={axis!r}")
        self.axis = -1
        super().__init__("softmax", **kwargs)

    def arguments(self) -> dict:
        return {"axis": self.axis}


class PReLU(Layer):
    """Parametric ReLU with a learned slope: ``x`` for x > 0, ``alpha * x`` below (He et al. 2015,
    "Delving deep into rectifiers"; Keras 3's PReLU, ``relu(x) - alpha * relu(-x)``).

    ``alpha`` has the input's shape without the batch axis, with 1 along ``shared_axes`` (1-based
    axes, as Keras: ``shared_axes=[1, 2]`` for one slope per channel of NHWC images). Forward and
    backward are the ``ops.prelu`` kernels; alpha's gradient is summed in a fixed order (the same
    bits for any thread count). Raises ValueError for a shared axis outside the input's axes."""

    supports_masking = True
    backward_reads_output = False

    def __init__(
        self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.for_argument("PReLU", "alpha_constraint", alpha_constraint)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        self.shared_axes = (
            None if shared_axes is None else [as_int("PReLU", "shared_axes", a, lo=1) for a in shared_axes]
        )

    def build(self, input_shape):
        shape = list(input_shape)
        for axis in self.shared_axes or []:
            if axis > len(shape):
                raise self.error(
                    f"`shared_axes` {self.shared_axes} names axis {axis}, inputs are {(None, *input_shape)}"
                )
            shape[axis - 1] = 1
        if not shape or any(d is None for d in shape):
            raise self.error(f"needs inputs with known non-batch axes, got {(None, *input_shape)}")
        self.alpha = self.add_weight(
            "alpha", tuple(shape), self.alpha_initializer, self.alpha_regularizer, constraint=self.alpha_constraint
        )

    def forward(self, x, training=False, mask=None):
        self._x = x
        return ops.prelu(x, self.alpha.value, out=self.buffer("y", x.shape))

    def backward(self, dy, need_dx=True):
        train = self.trainable and self.alpha.grad is not None
        if not (train or need_dx):
            return None
        dalpha = self.alpha.grad if train else self.buffer("dalpha", self.alpha.shape)
        dx, _ = ops.prelu_backward(dy, self._x, self.alpha.value, out=(self.buffer("dx", dy.shape), dalpha))
        if train:
            self.add_regularizer_gradients()
        return dx if need_dx else None

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }
