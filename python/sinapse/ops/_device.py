"""What an op needs to run on each device, in one place: the kernel module, raw addresses,
allocation, copies and the stream.

Devices: "cpu" (NumPy, sinapse._cpu), "cuda" (CuPy or any __cuda_array_interface__ array,
sinapse._cuda, CuPy's current stream) and "cuda_sim" (NumPy arrays run through the CUDA
kernels by the SIMT simulator, sinapse._cuda_sim, inside ``sinapse.cuda.simulate()``).
"""

from __future__ import annotations

import numpy as np

from ._checks import CUDA, CUDA_SIM, ArrayInfo


def kernels(device: str):
    """The extension module holding the CUDA kernels for ``device``."""
    if device == CUDA:
        from .. import _cuda

        return _cuda
    from .. import _cuda_sim

    return _cuda_sim


def address(info: ArrayInfo | None) -> int:
    """The data address of an array (0 for None), as the CUDA bindings take it."""
    if info is None:
        return 0
    if info.device == CUDA:
        return info.ptr
    return info.obj.ctypes.data


def empty(device: str, shape: tuple[int, ...]):
    if device == CUDA:
        import cupy

        return cupy.empty(shape, dtype=cupy.float32)
    return np.empty(shape, dtype=np.float32)


def copy_into(dst, src) -> None:
    """dst[...] = src, on whichever device both live."""
    if isinstance(dst, np.ndarray):
        np.copyto(dst, src)
    else:
        dst[...] = src


def stream(device: str) -> int:
    """The stream CUDA kernels launch on: CuPy's current one (0 under the simulator)."""
    if device == CUDA:
        import cupy

        return cupy.cuda.get_current_stream().ptr
    return 0
