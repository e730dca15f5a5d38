"""What an op needs to run on each device, in one place: the kernel module, the arrays and
launch options it hands the kernels, allocation and copies.

Every backend is called the same way (the bindings share argument names and order):

    with _device.kernel_arrays(device, infos, written=("out",)) as a:
        _device.kernels(device).<kernel>(a["x"], a["out"], ..., **_device.launch_options(device))

Devices: "cpu" (NumPy, sinapse._cpu), "cuda" (CuPy or any __cuda_array_interface__ array,
sinapse._cuda, CuPy's current stream) and "cuda_sim" (NumPy arrays run through the CUDA
kernels by the SIMT simulator, sinapse._cuda_sim, inside ``sinapse.cuda.simulate()``).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import _cpu
from ._checks import CPU, CUDA, CUDA_SIM


def kernels(device: str):
    """The extension module holding the kernels for ``device``: sinapse._cpu, _cuda or _cuda_sim."""
    if device == CPU:
        return _cpu
    if device == CUDA:
        from .. import _cuda

        return _cuda
    from .. import _cuda_sim

    return _cuda_sim


_CPU_LAUNCH = {"threads": 0}  # the library's thread setting (sinapse.set_num_threads)
_SIM_LAUNCH = {"stream": 0}  # the simulator has one (synchronous) stream


def launch_options(device: str) -> dict:
    """The last, keyword argument of every kernel: ``threads`` on the CPU, ``stream`` on CUDA
    (CuPy's current stream) and the simulator. Do not modify the returned dict."""
    if device == CPU:
        return _CPU_LAUNCH
    if device == CUDA:
        return {"stream": stream(device)}
    return _SIM_LAUNCH


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


def simd(device: str, simd: str | None, op: str) -> str:
    """The ``simd`` argument of a kernel: the CPU's SIMD path (sinapse.cpu.simd_path, which
    checks it); the CUDA kernels take the argument too, for one call shape, and ignore it."""
    if device == CPU:
        from .. import cpu

        return cpu.simd_path(simd, op)
    return "generic"


class _Plain:
    """kernel_arrays outside checked simulation: the arrays themselves."""

    __slots__ = ("arrays",)

    def __init__(self, arrays: dict):
        self.arrays = arrays

    def __enter__(self) -> dict:
        return self.arrays

    def __exit__(self, *exc) -> None:
        return None


def kernel_arrays(device: str, arrays: dict, written: tuple[str, ...] = ()):
    """A context manager giving the arrays to hand a kernel: ``arrays`` (name -> array or
    None) itself, except under ``sinapse.cuda.simulate(checked=True)``.

    There each array is first copied into a guard-paged buffer (sinapse._cuda_sim.guarded_array)
    and the ``written`` ones are copied back on a clean exit, so an out-of-bounds access
    faults into a clear error. Arrays of 1-byte elements (the RNN mask) are handed over as
    they are: the guarded buffers are built from 4-byte elements.
    """
    if device == CUDA_SIM:
        from .. import cuda

        if cuda.simulating_checked():
            return _guarded(device, arrays, written)
    return _Plain(arrays)


@contextlib.contextmanager
def _guarded(device: str, arrays: dict, written: tuple[str, ...]):
    sim = kernels(device)
    guarded = {}
    for name, arr in arrays.items():
        if arr is not None and arr.dtype.itemsize % 4 == 0:
            g = sim.guarded_array(arr.nbytes // 4).view(arr.dtype).reshape(arr.shape)
            np.copyto(g, arr)
            guarded[name] = g
    yield {name: guarded.get(name, arr) for name, arr in arrays.items()}
    for name, g in guarded.items():
        if not sim.guarded_intact(g.ctypes.data):
            raise RuntimeError(
                f"CUDA kernel {sim.last_launch()} wrote before the start of `{name}` (simulator, checked mode)"
            )
    for name in written:
        if name in guarded:
            np.copyto(arrays[name], guarded[name])
