"""The checks every layer shares: flags, size arguments, and the bound on what a layer allocates.

Every weight goes through ``Layer.add_weight`` and every buffer through ``Layer.buffer``;
both call ``allocate`` here, which bounds the size *before* anything is allocated (a huge
``units`` or ``padding`` must not start a 36 GiB allocation that the OS then kills) and
turns what NumPy / CuPy raise on failure ("array is too big", MemoryError) into an error
naming the layer, the weight or buffer, its shape and its bytes.
"""

from __future__ import annotations

import os

import numpy as np

from ..devices import import_cupy
from ..ops._checks import MAX_ELEMENTS, MAX_EXTENT, as_int


class LayerSizeError(MemoryError, ValueError):
    """A weight or buffer too big to allocate: a MemoryError (what NumPy raises) that is also a
    ValueError (the size argument is what is wrong)."""


def size(where: str, name: str, value, *, lo: int = 1, hi: int = MAX_EXTENT) -> int:
    """A size argument (units, filters, input_dim, padding, ...): a Python/NumPy int in
    [lo, hi], so the shapes derived from it fit the kernels' 64-bit arithmetic."""
    what = "a positive integer" if lo >= 1 else "a non-negative integer"
    return as_int(where, name, value, lo=lo, hi=hi, what=what, bounds=f" (from {lo} to {hi})")


def memory_bytes(device) -> int:
    """The memory of ``device`` (host RAM for "cpu"/"cuda-sim", GPU memory for "cuda"): no
    single array larger than this can be allocated without swapping or being killed."""
    if device.is_cuda:
        return int(import_cupy().cuda.Device().mem_info[1])
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: only the element bound applies
        return MAX_ELEMENTS * 8


def fmt_bytes(n: int) -> str:
    for unit, k in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 2**k:
            return f"{n / 2**k:.3g} {unit}"
    return f"{n} bytes"


def check_alloc(where: str, what: str, shape: tuple, dtype, device) -> None:
    """Refuse, before allocating, an array of ``shape`` beyond MAX_ELEMENTS or the device's memory."""
    count = 1
    for d in shape:
        count *= int(d)
    nbytes = count * np.dtype(dtype).itemsize
    limit = memory_bytes(device)
    if count > MAX_ELEMENTS or nbytes > limit:
        raise LayerSizeError(
            f"{where}: the {what} of shape {tuple(shape)} needs {fmt_bytes(nbytes)}, more than "
            f"the {fmt_bytes(limit)} of memory on device {device.name!r}; use smaller sizes "
            f"(units, filters, padding, input_dim, ...) or a smaller batch"
        )


def allocate(where: str, what: str, shape: tuple, dtype, device, make):
    """``make()`` after ``check_alloc``; an allocation failure becomes a LayerSizeError naming it."""
    check_alloc(where, what, shape, dtype, device)
    try:
        return make()
    except (MemoryError, ValueError) as exc:
        if isinstance(exc, ValueError) and "too big" not in str(exc) and "maximum supported" not in str(exc):
            raise
        nbytes = int(np.prod([int(d) for d in shape], dtype=object)) * np.dtype(dtype).itemsize if shape else 0
        raise LayerSizeError(
            f"{where}: the {what} of shape {tuple(shape)} ({fmt_bytes(nbytes)}) could not be "
            f"allocated ({exc}); use smaller sizes or free memory"
        ) from None


def shape(where: str, name: str, value, *, unknown=None, batch: bool = False) -> tuple:
    """A shape argument (Input's `shape`, `input_shape`, `batch_input_shape`, Reshape's
    `target_shape`) as a tuple: a tuple or list of Python/NumPy ints from 1 to MAX_EXTENT, or
    ``unknown`` (None; -1 for Reshape) for a dimension left open. Keras 3 refuses anything else
    (a bare int, floats, bools, strings): int(4.5) or int("4") would silently build another model.
    ``batch``: the first entry is the batch axis (a positive int or None)."""
    what = f"a tuple of positive ints or {unknown}"
    if not isinstance(value, (tuple, list)):
        hint = f"; write ({value},)" if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else ""
        raise TypeError(f"{where}: `{name}` must be {what}, got {value!r} ({type(value).__name__}){hint}")
    out: list[int | None] = []
    for i, d in enumerate(value):
        if d is None and (unknown is None or batch and i == 0):
            out.append(None)
            continue
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{where}: `{name}` must be {what}, got {value!r} (entry {i} is a {type(d).__name__})")
        if not (1 <= d <= MAX_EXTENT or d == unknown):
            raise ValueError(f"{where}: `{name}` must be {what} (sizes from 1 to {MAX_EXTENT}), got {tuple(value)!r}")
        out.append(int(d))
    return tuple(out)
