"""The inference fast path of the layers: after sinapse.ops has validated a layer's call once
for an input shape, the next calls with plain NumPy arrays go to the CPU kernel directly.

At batch 1 (a predict() per image) validating every argument costs more than the kernel
itself; the geometry is computed once per input shape and reused. The bindings still check
the memory contract (sizes, dtypes, contiguity), so a bad call cannot overrun a buffer.
"""

from __future__ import annotations

import numpy as np

from .. import cuda


def plain_cpu(*arrays) -> bool:
    """True when every array (None skipped) is a C-contiguous float32 NumPy array and the
    CUDA simulator is off: the case the CPU kernels can take without further checks."""
    if cuda.simulating():
        return False
    for a in arrays:
        if a is not None and not (type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous):
            return False
    return True


def checked_shapes(layer) -> dict:
    """The layer's input shape -> geometry map, for the shapes its op has validated."""
    cache = layer.__dict__.get("_checked_shapes")
    if cache is None:
        cache = layer.__dict__["_checked_shapes"] = {}
    return cache
