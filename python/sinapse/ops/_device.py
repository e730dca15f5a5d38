"""What an op needs to run on each device, in one place: the kernel module, raw addresses,
allocation, copies and the stream.

Devices: "cpu" (NumPy, sinapse._cpu), "cuda" (CuPy or any __cuda_array_interface__ array,
sinapse._cuda, CuPy's current stream) and "cuda_sim" (NumPy arrays run through the CUDA
kernels by the SIMT simulator, sinapse._cuda_sim, inside ``sinapse.cuda.simulate()``).
"""

from __future__ import annotations

import contextlib

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


def empty(op: str, device: str, shape: tuple[int, ...]):
    """An uninitialised float32 array for op ``op``'s result or workspace.

    MemoryError names the op, the shape and the bytes it needed (NumPy's and CuPy's own
    messages name neither the op nor which of its arrays did not fit).
    """
    try:
        if device == CUDA:
            import cupy

            return cupy.empty(shape, dtype=cupy.float32)
        return np.empty(shape, dtype=np.float32)
    except (MemoryError, ValueError) as e:  # CuPy's OutOfMemoryError subclasses MemoryError; NumPy
        # raises ValueError ("array is too big") when the byte count overflows before allocating
        nbytes = 4
        for n in shape:
            nbytes *= int(n)
        if isinstance(e, ValueError) and "too big" not in str(e):
            raise
        raise MemoryError(
            f"{op}: cannot allocate a float32 array of shape {tuple(shape)} "
            f"({nbytes / 2**30:.3g} GiB) on {device}: {e}. Use smaller inputs or sizes."
        ) from None


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


@contextlib.contextmanager
def kernel_addresses(device: str, arrays: dict[str, ArrayInfo | None], written: tuple[str, ...]):
    """Addresses to hand a CUDA kernel for each array (0 for None).

    Under ``sinapse.cuda.simulate(checked=True)`` each array is first copied into a
    guard-paged buffer (sinapse._cuda_sim.guarded_array) and the ``written`` ones are
    copied back afterwards, so an out-of-bounds access faults into a clear error.
    """
    from .. import cuda

    if device != CUDA_SIM or not cuda.simulating_checked():
        yield {name: address(info) for name, info in arrays.items()}
        return
    sim = kernels(device)
    guarded = {}
    for name, info in arrays.items():
        if info is not None:
            if info.dtype.itemsize % 4:  # the guarded buffers are built from 4-byte elements
                raise TypeError(f"checked simulation: `{name}` has {info.dtype.itemsize}-byte elements")
            g = sim.guarded_array(info.obj.nbytes // 4).view(info.dtype).reshape(info.obj.shape)
            np.copyto(g, info.obj)
            guarded[name] = g
    yield {name: (guarded[name].ctypes.data if name in guarded else 0) for name in arrays}
    for name, g in guarded.items():
        if not sim.guarded_intact(g.ctypes.data):
            raise RuntimeError(
                f"CUDA kernel {sim.last_launch()} wrote before the start of `{name}` (simulator, checked mode)"
            )
    for name in written:
        if name in guarded:
            np.copyto(arrays[name].obj, guarded[name])
