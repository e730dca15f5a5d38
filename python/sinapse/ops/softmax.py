"""sinapse.ops.softmax / log_softmax and their backward, along the last axis.

Aliasing: the forward's ``out`` may be ``x`` itself, the backward's ``out`` may be ``dy``
itself (in place); any other overlap is a ValueError.

variant: "naive" (the definition as loops, one thread, library exp; on CUDA one thread per
row) or "tuned" (the default, or $SINAPSE_SOFTMAX), resolved by the descriptor step (a plan
keeps it). docs/kernels/softmax.md tells the steps.
"""

from __future__ import annotations

from ..registry import resolve_variant
from . import _device, _elementwise
from ._checks import Array
from ._plan import descriptor, preparable


def _describe_forward(op, x, out, log, variant):
    variant = resolve_variant("softmax", variant, op)
    device, infos, _ = _elementwise.validate(op, {"x": x}, out, min_ndim=1, allow=("x",))
    shape = infos["x"].shape
    return descriptor(op, device, infos, (log, shape[-1], variant), outputs={"out": shape}, allow=(("out", "x"),))


def _launch_forward(desc, x, out):
    (log, cols, variant), out, device = desc.params, desc.output("out", out), desc.device
    _device.kernels(device).softmax_forward(x, out, cols, log, variant, _device.launch_arg(device))
    return out


def _describe_backward(op, dy, y, out, log, variant):
    variant = resolve_variant("softmax", variant, op)
    device, infos, _ = _elementwise.validate(op, {"dy": dy, "y": y}, out, min_ndim=1, allow=("dy",))
    shape = infos["y"].shape
    return descriptor(op, device, infos, (log, shape[-1], variant), outputs={"out": shape}, allow=(("out", "dy"),))


def _launch_backward(desc, dy, y, out):
    (log, cols, variant), out, device = desc.params, desc.output("out", out), desc.device
    _device.kernels(device).softmax_backward(y, dy, out, cols, log, variant, _device.launch_arg(device))
    return out


def _softmax(x, *, out=None, variant=None):
    return _describe_forward("softmax", x, out, log=False, variant=variant)


def _log_softmax(x, *, out=None, variant=None):
    return _describe_forward("log_softmax", x, out, log=True, variant=variant)


def _softmax_backward(dy, y, *, out=None, variant=None):
    return _describe_backward("softmax_backward", dy, y, out, log=False, variant=variant)


def _log_softmax_backward(dy, y, *, out=None, variant=None):
    return _describe_backward("log_softmax_backward", dy, y, out, log=True, variant=variant)


@preparable(_softmax, _launch_forward)
def softmax(x: Array, *, out: Array | None = None, variant: str | None = None) -> Array:
    """``exp(x) / sum(exp(x))`` along the last axis (the row max is subtracted first).

    Shapes: x float32 (..., C), at least 1-D; the result the shape of x.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: x 0-D or non-contiguous; a bad ``out`` (shape, read-only, non-contiguous, forbidden
            overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_forward(_softmax(x, out=out, variant=variant), x, out)


@preparable(_log_softmax, _launch_forward)
def log_softmax(x: Array, *, out: Array | None = None, variant: str | None = None) -> Array:
    """``x - logsumexp(x)`` along the last axis, without forming softmax (no log of 0).

    Shapes: x float32 (..., C), at least 1-D; the result the shape of x.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: x 0-D or non-contiguous; a bad ``out`` (shape, read-only, non-contiguous, forbidden
            overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_forward(_log_softmax(x, out=out, variant=variant), x, out)


@preparable(_softmax_backward, _launch_backward)
def softmax_backward(dy: Array, y: Array, *, out: Array | None = None, variant: str | None = None) -> Array:
    """Gradient of softmax given its output y: ``y * (dy - sum(dy * y))`` per row.

    Shapes: dy and y float32 (..., C), one shape; the result that shape.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: dy and y of different shapes, 0-D or non-contiguous; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_backward(_softmax_backward(dy, y, out=out, variant=variant), dy, y, out)


@preparable(_log_softmax_backward, _launch_backward)
def log_softmax_backward(dy: Array, y: Array, *, out: Array | None = None, variant: str | None = None) -> Array:
    """Gradient of log_softmax given its output y: ``dy - exp(y) * sum(dy)`` per row.

    Shapes: dy and y float32 (..., C), one shape; the result that shape.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: dy and y of different shapes, 0-D or non-contiguous; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_backward(_log_softmax_backward(dy, y, out=out, variant=variant), dy, y, out)
