"""sinapse.ops.bias_add / bias_grad: a per-channel bias over the last axis, and its gradient."""

from __future__ import annotations

from .. import _cpu
from . import _device, _elementwise
from ._checks import CPU, backend, check_float32, check_out, check_shape, inspect


def bias_add(x, bias, *, out=None):
    """``x + bias`` with bias of shape (C,) and x of shape (..., C) (NHWC, (N, T, D), (N, D)).

    Aliasing: ``out`` may be ``x`` itself (in place); no other overlap.
    """
    op = "bias_add"
    device, infos, out, out_info = _elementwise.prepare(
        op, {"x": x}, out, min_ndim=1, others={"bias": bias}, allow=("x",)
    )
    bi = infos["bias"]
    check_float32(op, "bias", bi, ndim=1)
    channels = infos["x"].shape[-1]
    check_shape(op, "bias", bi, (channels,), "one value per channel (the last axis of x)")
    rows = out.size // channels if channels else 0
    if device == CPU:
        _cpu.bias_add(x, bias, out, 0)
        return out
    with _device.kernel_addresses(device, {"x": infos["x"], "bias": bi, "out": out_info}, written=("out",)) as ptr:
        _device.kernels(device).bias_add(rows, channels, ptr["x"], ptr["bias"], ptr["out"], _device.stream(device))
    return out


def bias_grad(dy, *, out=None):
    """``dy`` summed over all axes but the last: the gradient of bias_add's bias, shape (C,).

    Deterministic: the same input gives the same bits on every call (no atomics).
    Aliasing: ``out`` must not share memory with ``dy``.
    """
    op = "bias_grad"
    gi = inspect(op, "dy", dy)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"dy": gi, **({"out": oi} if oi else {})})
    check_float32(op, "dy", gi)
    if len(gi.shape) < 1:
        raise ValueError(f"{op}: `dy` must have at least 1 dimension, got {gi.describe()}.")
    channels = gi.shape[-1]
    if oi is None:
        out = _device.empty(op, device, (channels,))
        oi = inspect(op, "out", out)
    else:
        check_out(op, oi, (channels,), {"dy": gi})
    rows = gi.obj.size // channels if channels else 0
    if device == CPU:
        _cpu.bias_grad(dy, out, 0)
        return out
    with _device.kernel_addresses(device, {"dy": gi, "out": oi}, written=("out",)) as ptr:
        _device.kernels(device).bias_grad(rows, channels, ptr["dy"], ptr["out"], _device.stream(device))
    return out
