"""sinapse.ops.activation / activation_backward: element-wise activations and gradients."""

from __future__ import annotations

import math

from .. import _cpu
from . import _device, _elementwise
from ._checks import CPU, as_float

# Names -> kernel codes (csrc/common/activations.h, ActKind). "swish" is "silu".
KINDS = {
    "linear": 0,
    "relu": 1,
    "sigmoid": 2,
    "tanh": 3,
    "leaky_relu": 4,
    "elu": 5,
    "selu": 6,
    "gelu_tanh": 7,
    "gelu": 8,
    "hard_sigmoid": 9,
    "softplus": 10,
    "silu": 11,
    "swish": 11,
}
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


def activation(x, name, *, alpha=None, out=None):
    """``f(x)`` element-wise, for any shape.

    name: linear, relu, sigmoid, tanh, leaky_relu (alpha = negative slope, default 0.2),
    elu (alpha, default 1.0), selu, gelu (exact, x * Phi(x)), gelu_tanh (the tanh
    approximation), hard_sigmoid (clip(x / 6 + 0.5, 0, 1)), softplus, silu / swish.
    Formulas: csrc/common/activations.h (Keras's definitions).

    Aliasing: ``out`` may be ``x`` itself (in place); any other overlap is a ValueError.
    """
    op = "activation"
    kind, alpha = _kind_and_alpha(op, name, alpha)
    device, infos, out, out_info = _elementwise.prepare(op, {"x": x}, out, allow=("x",))
    if device == CPU:
        _cpu.activation_forward(x, out, kind, alpha, 0)
        return out
    buffers = {"x": infos["x"], "out": out_info}
    with _device.kernel_addresses(device, buffers, written=("out",)) as ptr:
        _device.kernels(device).activation_forward(out.size, ptr["x"], ptr["out"], kind, alpha, _device.stream(device))
    return out


def activation_backward(dy, x, name, *, alpha=None, out=None):
    """The gradient with respect to x: ``dy * f'(x)`` element-wise (x: the forward input).

    Aliasing: ``out`` may be ``dy`` or ``x`` itself (in place); any other overlap is a ValueError.
    """
    op = "activation_backward"
    kind, alpha = _kind_and_alpha(op, name, alpha)
    device, infos, out, out_info = _elementwise.prepare(op, {"dy": dy, "x": x}, out, allow=("dy", "x"))
    if device == CPU:
        _cpu.activation_backward(x, dy, out, kind, alpha, 0)
        return out
    buffers = {"x": infos["x"], "dy": infos["dy"], "out": out_info}
    with _device.kernel_addresses(device, buffers, written=("out",)) as ptr:
        _device.kernels(device).activation_backward(
            out.size, ptr["x"], ptr["dy"], ptr["out"], kind, alpha, _device.stream(device)
        )
    return out
