"""Argument validation for every op, in one place, for both backends.

Kernels want float32, C-contiguous arrays of the right rank and shape on one device.
Anything else is refused here with a TypeError or ValueError that names the op, the
argument, what it got (dtype, shape, strides, device) and how to fix it. Nothing is
converted or copied behind the caller's back: a silent copy of a large array would hide
a performance bug (and break ``out=`` semantics).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import CudaUnavailableError

CPU, CUDA, CUDA_SIM = "cpu", "cuda", "cuda_sim"


class ArrayInfo:
    """What validation needs to know about an array, whichever library made it.

    A plain slotted class: ops build several per call, and this is on the hot path of
    small ops (a dataclass costs about twice as much).
    """

    __slots__ = ("obj", "device", "dtype", "shape", "strides", "c_contiguous", "writeable", "ptr")

    def __init__(self, obj, device, dtype, shape, strides, c_contiguous, writeable, ptr):
        self.obj = obj
        self.device = device  # "cpu" (NumPy) or "cuda" (anything with __cuda_array_interface__)
        self.dtype = dtype
        self.shape = shape
        self.strides = strides  # in bytes
        self.c_contiguous = c_contiguous
        self.writeable = writeable
        self.ptr = ptr  # device address of a CUDA array's data (0 for NumPy arrays: not needed)

    def describe(self) -> str:
        where = "NumPy array" if self.device == CPU else "CUDA array"
        return f"{where} of dtype {self.dtype}, shape {self.shape}, strides {self.strides}"


def _c_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def inspect(op: str, name: str, x: Any) -> ArrayInfo:
    """Describe argument ``name`` of ``op``; TypeError if it is not an array sinapse takes."""
    if isinstance(x, np.ndarray):
        flags = x.flags
        return ArrayInfo(x, CPU, x.dtype, x.shape, x.strides, flags.c_contiguous, flags.writeable, 0)
    cai = getattr(x, "__cuda_array_interface__", None)
    if cai is not None:
        dtype = np.dtype(cai["typestr"])
        shape = tuple(cai["shape"])
        c_strides = _c_strides(shape, dtype.itemsize)
        strides = tuple(cai["strides"]) if cai.get("strides") is not None else c_strides
        # Dimensions of size 1 (or an empty array) make any stride value contiguous.
        contiguous = all(s == c or n <= 1 for s, c, n in zip(strides, c_strides, shape)) or 0 in shape
        ptr, readonly = cai["data"]
        return ArrayInfo(x, CUDA, dtype, shape, strides, contiguous, not readonly, ptr)
    raise TypeError(
        f"{op}: `{name}` must be a NumPy array (CPU) or a CuPy/CUDA array, got {type(x).__name__}. "
        f"Wrap data with np.asarray(x, dtype=np.float32)."
    )


def check_float32(op: str, name: str, info: ArrayInfo, ndim: int | None = None) -> None:
    """float32, C-contiguous and (optionally) of rank ``ndim``."""
    if info.dtype != np.float32:
        raise TypeError(
            f"{op}: `{name}` must be float32, got {info.describe()}. "
            f"Convert it once, outside the hot loop: x.astype(np.float32)."
        )
    if ndim is not None and len(info.shape) != ndim:
        raise ValueError(f"{op}: `{name}` must be {ndim}-D, got {info.describe()}.")
    if not info.c_contiguous:
        raise ValueError(
            f"{op}: `{name}` must be C-contiguous, got {info.describe()} (a transposed or sliced view). "
            f"Make a contiguous copy with np.ascontiguousarray(x), or pass the untransposed array "
            f"with the op's transpose flag where it has one."
        )


def check_int32(op: str, name: str, info: ArrayInfo) -> None:
    """Integer class labels: int32 and C-contiguous (kernels index with them)."""
    if info.dtype != np.int32:
        raise TypeError(
            f"{op}: `{name}` must be int32 class labels, got {info.describe()}. "
            f"Convert them once: labels.astype(np.int32)."
        )
    if not info.c_contiguous:
        raise ValueError(f"{op}: `{name}` must be C-contiguous, got {info.describe()}. Use np.ascontiguousarray(x).")


def check_shape(op: str, name: str, info: ArrayInfo, shape: tuple[int, ...], why: str) -> None:
    if tuple(info.shape) != tuple(shape):
        raise ValueError(f"{op}: `{name}` must have shape {tuple(shape)} ({why}), got {info.describe()}.")


def check_out(op: str, out: ArrayInfo, shape: tuple[int, ...], inputs: dict[str, ArrayInfo]) -> None:
    """``out=``: float32, contiguous, writeable, the result's shape, not overlapping an input."""
    check_float32(op, "out", out)
    check_shape(op, "out", out, shape, "the shape of the result")
    if not out.writeable:
        raise ValueError(f"{op}: `out` is read-only ({out.describe()}).")
    for name, info in inputs.items():
        if _may_overlap(out, info):
            raise ValueError(
                f"{op}: `out` overlaps input `{name}`; the kernel would read what it already overwrote. "
                f"Pass a separate output array."
            )


def _may_overlap(x: ArrayInfo, y: ArrayInfo) -> bool:
    """Whether two arrays' memory may overlap (NumPy's bounds test; address ranges on CUDA)."""
    if x.device == CPU and y.device == CPU:
        return bool(np.may_share_memory(x.obj, y.obj))
    if x.device == CUDA and y.device == CUDA:
        x_end = x.ptr + int(np.prod(x.shape)) * x.dtype.itemsize
        y_end = y.ptr + int(np.prod(y.shape)) * y.dtype.itemsize
        return x.ptr < y_end and y.ptr < x_end
    return False


def backend(op: str, arrays: dict[str, ArrayInfo]) -> str:
    """The one device all array arguments live on; errors for a mix, or for CUDA without CUDA."""
    devices = {info.device for info in arrays.values()}
    if len(devices) > 1:
        where = ", ".join(f"`{n}` on {i.device}" for n, i in arrays.items())
        raise TypeError(
            f"{op}: arguments are on different devices ({where}). Move them to one device first: "
            f"cupy.asarray(x) for the GPU, cupy.asnumpy(x) for the CPU."
        )
    device = devices.pop() if devices else CPU
    if device == CPU:
        from .. import cuda

        if cuda.simulating():
            return CUDA_SIM  # NumPy arrays through the CUDA kernels, on the SIMT simulator
    if device == CUDA:
        from .. import cuda

        if not cuda.is_available():
            raise CudaUnavailableError(f"{op}: got CUDA arrays, but CUDA cannot be used here: {cuda.why_unavailable()}")
    return device


def as_pair(op: str, name: str, value: Any) -> tuple[int, int]:
    """A positive int or a pair of positive ints (window sizes, strides, dilations) as a pair."""
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair)):
        raise ValueError(f"{op}: `{name}` must be a positive int or a pair of positive ints, got {value!r}.")
    return int(pair[0]), int(pair[1])


def as_float(op: str, name: str, value: Any) -> float:
    """A Python or NumPy real scalar as float; TypeError otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: `{name}` must be a real number, got {value!r} ({type(value).__name__}).")
    return float(value)
