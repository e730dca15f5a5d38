"""sinapse.ops.softmax / log_softmax and their backward, along the last axis.

Aliasing: the forward's ``out`` may be ``x`` itself, the backward's ``out`` may be ``dy``
itself (in place); any other overlap is a ValueError.
"""

from __future__ import annotations

from . import _device, _elementwise


def _forward(op, x, out, log):
    device, infos, out, out_info = _elementwise.prepare(op, {"x": x}, out, min_ndim=1, allow=("x",))
    cols = infos["x"].shape[-1]
    with _device.kernel_arrays(device, {"x": x, "out": out}, written=("out",)) as a:
        _device.kernels(device).softmax_forward(a["x"], a["out"], cols, log, **_device.launch_options(device))
    return out


def _backward(op, dy, y, out, log):
    device, infos, out, out_info = _elementwise.prepare(op, {"dy": dy, "y": y}, out, min_ndim=1, allow=("dy",))
    cols = infos["y"].shape[-1]
    with _device.kernel_arrays(device, {"y": y, "dy": dy, "out": out}, written=("out",)) as a:
        _device.kernels(device).softmax_backward(a["y"], a["dy"], a["out"], cols, log, **_device.launch_options(device))
    return out


def softmax(x, *, out=None):
    """``exp(x) / sum(exp(x))`` along the last axis (the row max is subtracted first)."""
    return _forward("softmax", x, out, log=False)


def log_softmax(x, *, out=None):
    """``x - logsumexp(x)`` along the last axis, without forming softmax (no log of 0)."""
    return _forward("log_softmax", x, out, log=True)


def softmax_backward(dy, y, *, out=None):
    """Gradient of softmax given its output y: ``y * (dy - sum(dy * y))`` per row."""
    return _backward("softmax_backward", dy, y, out, log=False)


def log_softmax_backward(dy, y, *, out=None):
    """Gradient of log_softmax given its output y: ``dy - exp(y) * sum(dy)`` per row."""
    return _backward("log_softmax_backward", dy, y, out, log=True)
