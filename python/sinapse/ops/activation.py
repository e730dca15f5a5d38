"""sinapse.ops.activation / activation_backward: element-wise activations and gradients."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from . import _device, _elementwise, _enums
from ._checks import Array, as_float, check_outs, check_shape, inspect_outs, present
from ._plan import descriptor, preparable, run

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


# ------------------------------------------------------------------------------------ PReLU

MAX_PRELU_DIMS = 8  # csrc/common/prelu_args.h, kMaxPreluDims
_PRELU_RESULTS = ("dx", "dalpha")


class PreluGeometry(NamedTuple):
    """How alpha broadcasts over x, the fields of csrc/common/prelu_args.h's PreluArgs: x seen as
    ``rank`` coalesced dims (batch first; adjacent dims alpha shares, or does not, merged), and
    alpha's stride along each (0 where alpha is shared), each padded to 8 entries."""

    rank: int
    dims: tuple[int, ...]
    astrides: tuple[int, ...]


def prelu_geometry(op: str, x_shape: tuple, alpha_shape: tuple) -> PreluGeometry:
    """The :class:`PreluGeometry` of alpha (shape ``x_shape[1:]`` with 1 along shared axes) over x.

    Raises:
        ValueError: alpha of another rank than x's minus 1, or a dim neither x's nor 1; more than 8
            alternations of shared and unshared dims.
    """
    if len(alpha_shape) != len(x_shape) - 1 or len(x_shape) < 2:
        raise ValueError(
            f"{op}: `alpha` must have the shape of x without its batch axis, with 1 along shared axes; "
            f"got x {tuple(x_shape)} and alpha {tuple(alpha_shape)}."
        )
    runs: list[list] = [[int(x_shape[0]), False]]  # [size, alpha varies along it]
    for d, (xd, ad) in enumerate(zip(x_shape[1:], alpha_shape), start=1):
        if ad not in (xd, 1):
            raise ValueError(
                f"{op}: `alpha` dim {d - 1} is {ad}: it must be x's dim {d} ({xd}) or 1 (shared); "
                f"got x {tuple(x_shape)} and alpha {tuple(alpha_shape)}."
            )
        kept = ad == xd and xd != 1
        if xd == 1:
            continue  # a dim of size 1 is both shared and not: it changes no index
        if runs[-1][1] == kept:
            runs[-1][0] *= int(xd)
        else:
            runs.append([int(xd), kept])
    if len(runs) > MAX_PRELU_DIMS:
        raise ValueError(f"{op}: alpha's sharing alternates more than {MAX_PRELU_DIMS} times over x {tuple(x_shape)}.")
    strides, stride = [], 1
    for size, kept in reversed(runs):
        strides.append(stride if kept else 0)
        stride *= size if kept else 1
    pad = MAX_PRELU_DIMS - len(runs)
    dims = tuple(size for size, _ in runs) + (1,) * pad
    return PreluGeometry(len(runs), dims, tuple(reversed(strides)) + (0,) * pad)


def _describe_prelu(x, alpha, *, out=None):
    """prelu's descriptor step (sinapse.ops._plan)."""
    op = "prelu"
    device, infos, _ = _elementwise.validate(op, {"x": x}, out, others={"alpha": alpha}, allow=("x",))
    geometry = prelu_geometry(op, infos["x"].shape, infos["alpha"].shape)
    return descriptor(op, device, infos, geometry, outputs={"out": infos["x"].shape}, allow=(("out", "x"),))


def _launch_prelu(desc, x, alpha, out):
    g, device = desc.params, desc.device
    out = desc.output("out", out)
    _device.kernels(device).prelu_forward(x, alpha, out, g.rank, g.dims, g.astrides, _device.launch_arg(device))
    return out


@preparable(_describe_prelu, _launch_prelu)
def prelu(x: Array, alpha: Array, *, out: Array | None = None) -> Array:
    """Parametric ReLU: ``x`` where x > 0, ``alpha * x`` where x < 0, 0 at 0 (Keras 3's PReLU:
    ``relu(x) - alpha * relu(-x)``; He et al. 2015, "Delving deep into rectifiers").

    x: float32 (N, ...), at least 2-D; alpha: float32 of x's shape without the batch axis, with 1
    along the axes it is shared over (Keras's ``shared_axes``); the result has x's shape.
    Aliasing: ``out`` may be ``x`` itself (in place); any other overlap is a ValueError.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: an alpha shape that does not broadcast as above; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_prelu(_describe_prelu(x, alpha, out=out), x, alpha, out)


def _describe_prelu_backward(dy, x, alpha, *, out=None):
    """prelu_backward's descriptor step (sinapse.ops._plan)."""
    op = "prelu_backward"
    outs = inspect_outs(op, out, _PRELU_RESULTS)
    outs_given = {k: v.obj for k, v in present(outs).items()}
    device, infos, _ = _elementwise.validate(op, {"dy": dy}, None, others={"x": x, "alpha": alpha, **outs_given})
    for k in outs_given:
        del infos[k]
    check_shape(op, "x", infos["x"], infos["dy"].shape, "the shape of dy")
    geometry = prelu_geometry(op, infos["x"].shape, infos["alpha"].shape)
    shapes = dict(zip(outs, (infos["dy"].shape, infos["alpha"].shape)))
    check_outs(op, outs, shapes, infos, allow=(("out[0]", "dy"),))
    return descriptor(
        op,
        device,
        infos,
        geometry,
        outputs=dict(zip(_PRELU_RESULTS, shapes.values())),
        allow=(("dx", "dy"),),
        out_tuple=_PRELU_RESULTS,
    )


def _launch_prelu_backward(desc, dy, x, alpha, out=None, dalpha=None):
    g, device = desc.params, desc.device
    out, dalpha = desc.output("dx", out), desc.output("dalpha", dalpha)
    _device.kernels(device).prelu_backward(
        x, alpha, dy, out, dalpha, g.rank, g.dims, g.astrides, _device.launch_arg(device)
    )
    return out, dalpha


@preparable(_describe_prelu_backward, _launch_prelu_backward, out_tuple=_PRELU_RESULTS)
def prelu_backward(
    dy: Array, x: Array, alpha: Array, *, out: Sequence[Array | None] | None = None
) -> tuple[Array, Array]:
    """Returns ``(dx, dalpha)`` of :func:`prelu` given dy and the forward's x and alpha: dx = dy
    where x > 0, alpha * dy where x < 0, 0 at 0; dalpha (alpha's shape) the sum of dy * x over
    the elements x < 0 each alpha entry applies to, summed in double in a fixed order (the same
    bits for any thread count, and on CPU and CUDA).

    out: None, or a tuple ``(dx, dalpha)`` of preallocated float32 arrays or None (allocated).
    Aliasing: ``out[0]`` (dx) may be ``dy`` itself (in place); no other overlap.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: dy and x of different shapes; an alpha shape that does not broadcast (see prelu);
            a bad ``out`` (shape, read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return run(_describe_prelu_backward, _launch_prelu_backward, locals())
