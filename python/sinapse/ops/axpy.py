"""sinapse.ops.axpy: ``alpha * x + y`` (the SGD step ``w -= lr * g`` is ``axpy(-lr, g, w, out=w)``)."""

from __future__ import annotations

from . import _device
from ._checks import Array, _may_overlap, as_float, backend, check_float32, check_out, check_shape, inspect
from ._plan import descriptor, preparable


def _describe(alpha, x, y, *, out=None):
    """axpy's descriptor step (sinapse.ops._plan)."""
    op = "axpy"
    alpha = as_float(op, "alpha", alpha)
    xi, yi = inspect(op, "x", x), inspect(op, "y", y)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"x": xi, "y": yi, **({"out": oi} if oi else {})})
    check_float32(op, "x", xi)
    check_float32(op, "y", yi)
    check_shape(op, "y", yi, xi.shape, "the shape of x")
    if oi is not None:
        check_out(op, oi, xi.shape, {"x": xi, "y": yi}, allow=("y",))
    return descriptor(op, device, {"x": xi, "y": yi}, alpha, outputs={"out": xi.shape}, allow=(("out", "y"),))


def _launch(desc, x, y, out):
    if out is None:
        out = y.copy()
    elif out is not y and not _may_overlap(inspect(desc.op, "out", out), inspect(desc.op, "y", y)):
        _device.copy_into(out, y)  # (an overlap is y itself, in place: any other was refused)
    device = desc.device
    _device.kernels(device).axpy(desc.params, x, out, _device.launch_arg(device))
    return out


@preparable(_describe, _launch)
def axpy(alpha: float, x: Array, y: Array, *, out: Array | None = None) -> Array:
    """Return ``alpha * x + y`` for float32 arrays of one shape, on the CPU or the GPU.

    ``out`` may be ``y`` (in place: the same memory, shape and strides) or a separate array of
    the same shape; without it a new array is returned. Any other memory ``out`` shares with
    ``x`` or ``y`` is a ValueError. CuPy arrays run the CUDA kernel on CuPy's current stream (and NumPy
    arrays do too, on the simulator, inside ``sinapse.cuda.simulate()``).

    Shapes: x, y, out any one shape, float32; alpha a real number (BLAS saxpy).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; a non-number
            ``alpha``.
        ValueError: x and y of different shapes; non-contiguous arrays; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch(_describe(alpha, x, y, out=out), x, y, out)
