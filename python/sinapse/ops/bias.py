"""sinapse.ops.bias_add / bias_backward: a per-channel bias over the last axis, and its gradient."""

from __future__ import annotations

import math

from . import _device, _elementwise
from ._checks import Array, backend, check_float32, check_out, check_shape, inspect
from ._plan import descriptor, preparable


def _describe_add(x, bias, *, out=None):
    """bias_add's descriptor step (sinapse.ops._plan)."""
    op = "bias_add"
    device, infos, _ = _elementwise.validate(op, {"x": x}, out, min_ndim=1, others={"bias": bias}, allow=("x",))
    bi = infos["bias"]
    check_float32(op, "bias", bi, ndim=1)
    channels = infos["x"].shape[-1]
    check_shape(op, "bias", bi, (channels,), "one value per channel (the last axis of x)")
    return descriptor(op, device, infos, channels, outputs={"out": infos["x"].shape}, allow=(("out", "x"),))


def _launch_add(desc, x, bias, out):
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).bias_add(x, bias, out, _device.launch_arg(device))
    return out


@preparable(_describe_add, _launch_add)
def bias_add(x: Array, bias: Array, *, out: Array | None = None) -> Array:
    """``x + bias`` with bias of shape (C,) and x of shape (..., C) (NHWC, (N, T, D), (N, D)).

    Aliasing: ``out`` may be ``x`` itself (in place); no other overlap.

    Shapes: x float32 (..., C), at least 1-D; bias float32 (C,); the result the shape of x.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: x 0-D; bias not (C,); non-contiguous arrays; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_add(_describe_add(x, bias, out=out), x, bias, out)


def _describe_backward(dy, *, out=None):
    """bias_backward's descriptor step (sinapse.ops._plan)."""
    op = "bias_backward"
    gi = inspect(op, "dy", dy)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"dy": gi, **({"out": oi} if oi else {})})
    check_float32(op, "dy", gi)
    if len(gi.shape) < 1:
        raise ValueError(f"{op}: `dy` must have at least 1 dimension, got {gi.describe()}.")
    channels = gi.shape[-1]
    if oi is not None:
        check_out(op, oi, (channels,), {"dy": gi})
    rows = math.prod(gi.shape) // channels if channels else 0
    return descriptor(op, device, {"dy": gi}, (rows, channels), outputs={"out": (channels,)})


def _launch_backward(desc, dy, out):
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).bias_backward(dy, out, _device.launch_arg(device))
    return out


@preparable(_describe_backward, _launch_backward)
def bias_backward(dy: Array, *, out: Array | None = None) -> Array:
    """``dy`` summed over all axes but the last: the gradient of bias_add's bias, shape (C,).

    dy: float32 (..., C), at least 1-D (ValueError otherwise; TypeError for another dtype).
    (Formerly ``bias_grad``: every backward is ``<op>_backward(dy, ...)``.)
    Deterministic: the same input gives the same bits on every call (no atomics).
    Aliasing: ``out`` must not share memory with ``dy``.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: dy 0-D; non-contiguous dy; a bad ``out`` (shape, read-only, non-contiguous, forbidden
            overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_backward(_describe_backward(dy, out=out), dy, out)
