"""sinapse.ops.activation / activation_backward: element-wise activations and gradients."""

from __future__ import annotations

import math

from . import _device, _elementwise, _enums
from ._checks import Array, as_float
from ._plan import descriptor, preparable

# Names -> kernel codes (csrc/common/enums.h, ActKind). "swish" is "silu".
KINDS = _enums.ACTIVATIONS
# The activations with a parameter, and its default (Keras's).
ALPHA_DEFAULTS = {"leaky_relu": 0.2, "elu": 1.0}


def _kind_and_alpha(op: str, name, alpha) -> tuple[int, float]:
    if not isinstance(name, str) or name not in KINDS:
        raise ValueError(f"{op}: unknown activation {name!r} for `name`; expected one of {', '.join(KINDS)}.")
    if name not in ALPHA_DEFAULTS:
        if alpha is not None:
            raise ValueError(
                f"{op}: activation {name!r} takes no `alpha` (only {', '.join(ALPHA_DEFAULTS)} do); pass alpha=None."
            )
        return KINDS[name], 0.0
    alpha = ALPHA_DEFAULTS[name] if alpha is None else as_float(op, "alpha", alpha)
    if not math.isfinite(alpha):
        raise ValueError(f"{op}: `alpha` must be finite, got {alpha}.")
    return KINDS[name], alpha


def _describe(x, name, *, alpha=None, out=None):
    """activation's descriptor step (sinapse.ops._plan)."""
    op = "activation"
    kind, alpha = _kind_and_alpha(op, name, alpha)
    device, infos, out_info = _elementwise.validate(op, {"x": x}, out, allow=("x",))
    return descriptor(op, device, infos, (kind, alpha), outputs={"out": infos["x"].shape}, allow=(("out", "x"),))


def _launch(desc, x, out):
    kind, alpha = desc.params
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).activation_forward(x, out, kind, alpha, _device.launch_arg(device))
    return out


@preparable(_describe, _launch)
def activation(x: Array, name: str, *, alpha: float | None = None, out: Array | None = None) -> Array:
    """``f(x)`` element-wise, for any shape.

    name: linear, relu, sigmoid, tanh, leaky_relu (alpha = negative slope, default 0.2),
    elu (alpha, default 1.0), selu, gelu (exact, x * Phi(x)), gelu_tanh (the tanh
    approximation), hard_sigmoid (clip(x / 6 + 0.5, 0, 1)), softplus, silu / swish, softsign
    (x / (1 + |x|)), exponential (exp(x)), relu6 (min(max(x, 0), 6)).
    Formulas: csrc/common/activations.h (Keras's definitions).

    Aliasing: ``out`` may be ``x`` itself (in place); any other overlap is a ValueError.

    x: float32, any shape (including 0-D); the result has its shape, float32.
    Sources: Keras 3 ``keras.activations``; gelu Hendrycks & Gimpel 2016, selu Klambauer et al.
    2017, silu Elfwing et al. 2018.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; a non-number
            ``alpha``.
        ValueError: an unknown ``name``; ``alpha`` given for an activation without one, or not finite; a bad
            ``out`` (shape, read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch(_describe(x, name, alpha=alpha, out=out), x, out)


def _describe_backward(dy, x, name, *, alpha=None, out=None):
    """activation_backward's descriptor step (sinapse.ops._plan)."""
    op = "activation_backward"
    kind, alpha = _kind_and_alpha(op, name, alpha)
    device, infos, out_info = _elementwise.validate(op, {"dy": dy, "x": x}, out, allow=("dy", "x"))
    return descriptor(
        op, device, infos, (kind, alpha), outputs={"out": infos["x"].shape}, allow=(("out", "dy"), ("out", "x"))
    )


def _launch_backward(desc, dy, x, out):
    kind, alpha = desc.params
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).activation_backward(x, dy, out, kind, alpha, _device.launch_arg(device))
    return out


@preparable(_describe_backward, _launch_backward)
def activation_backward(
    dy: Array, x: Array, name: str, *, alpha: float | None = None, out: Array | None = None
) -> Array:
    """The gradient with respect to x: ``dy * f'(x)`` element-wise (x: the forward input).

    Aliasing: ``out`` may be ``dy`` or ``x`` itself (in place); any other overlap is a ValueError.

    dy, x: float32 of one shape (any); the result has that shape. Derivatives of the
    formulas above (csrc/common/activations.h).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; a non-number
            ``alpha``.
        ValueError: an unknown ``name``; a bad ``alpha``; dy and x of different shapes; a bad ``out`` (shape,
            read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_backward(_describe_backward(dy, x, name, alpha=alpha, out=out), dy, x, out)
