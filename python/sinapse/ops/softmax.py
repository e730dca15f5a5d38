"""sinapse.ops.softmax / log_softmax and their backward, along the last axis.

Aliasing: the forward's ``out`` may be ``x`` itself, the backward's ``out`` may be ``dy``
itself (in place); any other overlap is a ValueError.

variant: "naive" (the definition as loops, one thread, library exp; on CUDA one thread per
row) or "tuned" (the default, or $SINAPSE_SOFTMAX). docs/kernels/softmax.md tells the steps.
"""

from __future__ import annotations

from .. import _cpu
from ..registry import resolve_variant
from . import _device, _elementwise
from ._checks import CPU


def _forward(op, x, out, log, variant):
    variant = resolve_variant("softmax", variant, op)
    device, infos, out, out_info = _elementwise.prepare(op, {"x": x}, out, min_ndim=1, allow=("x",))
    cols = infos["x"].shape[-1]
    rows = out.size // cols if cols else 0
    if device == CPU:
        _cpu.softmax_forward(x, out, cols, log, variant, 0)
        return out
    with _device.kernel_addresses(device, {"x": infos["x"], "out": out_info}, written=("out",)) as ptr:
        _device.kernels(device).softmax_forward(rows, cols, ptr["x"], ptr["out"], log, variant, _device.stream(device))
    return out


def _backward(op, dy, y, out, log, variant):
    variant = resolve_variant("softmax", variant, op)
    device, infos, out, out_info = _elementwise.prepare(op, {"dy": dy, "y": y}, out, min_ndim=1, allow=("dy",))
    cols = infos["y"].shape[-1]
    rows = out.size // cols if cols else 0
    if device == CPU:
        _cpu.softmax_backward(y, dy, out, cols, log, variant, 0)
        return out
    buffers = {"y": infos["y"], "dy": infos["dy"], "out": out_info}
    with _device.kernel_addresses(device, buffers, written=("out",)) as ptr:
        _device.kernels(device).softmax_backward(
            rows, cols, ptr["y"], ptr["dy"], ptr["out"], log, variant, _device.stream(device)
        )
    return out


def softmax(x, *, out=None, variant=None):
    """``exp(x) / sum(exp(x))`` along the last axis (the row max is subtracted first)."""
    return _forward("softmax", x, out, log=False, variant=variant)


def log_softmax(x, *, out=None, variant=None):
    """``x - logsumexp(x)`` along the last axis, without forming softmax (no log of 0)."""
    return _forward("log_softmax", x, out, log=True, variant=variant)


def softmax_backward(dy, y, *, out=None, variant=None):
    """Gradient of softmax given its output y: ``y * (dy - sum(dy * y))`` per row."""
    return _backward("softmax_backward", dy, y, out, log=False, variant=variant)


def log_softmax_backward(dy, y, *, out=None, variant=None):
    """Gradient of log_softmax given its output y: ``dy - exp(y) * sum(dy)`` per row."""
    return _backward("log_softmax_backward", dy, y, out, log=True, variant=variant)
