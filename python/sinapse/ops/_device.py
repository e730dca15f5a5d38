"""What an op needs to run on each device, in one place: the kernel module, the launch option
it hands the kernels, allocation and copies.

Every backend is called the same way (the bindings share argument names and order), with
every argument positional, the launch option last:

    _device.kernels(device).<kernel>(x, out, ..., _device.launch_arg(device))

Positional, because pybind11 matches a keyword argument by name on every call (0.4-1.3 µs a
call, measured); the arrays are handed over as they are, except under
``sinapse.cuda.simulate(checked=True)``, where ``kernels`` returns a wrapper that hands each
kernel guard-paged copies (see ``kernel_arrays``).

Devices: "cpu" (NumPy, sinapse._cpu), "cuda" (CuPy or any __cuda_array_interface__ array,
sinapse._cuda, CuPy's current stream) and "cuda_sim" (NumPy arrays run through the CUDA
kernels by the SIMT simulator, sinapse._cuda_sim, inside ``sinapse.cuda.simulate()``).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import _cpu
from ..devices import import_cupy
from ._checks import CPU, CUDA, CUDA_SIM


def kernels(device: str):
    """The extension module holding the kernels for ``device``: sinapse._cpu, _cuda or
    _cuda_sim (_cuda_prof, its instrumented twin, under ``simulate(profile=True)``); under checked simulation a wrapper of _cuda_sim whose kernels run on guarded
    copies of their array arguments (``_Guarded``)."""
    if device == CPU:
        return _cpu
    if device == CUDA:
        from .. import _cuda

        return _cuda
    from .. import cuda

    if cuda.simulating_profiled():
        from .. import _cuda_prof as module
    else:
        from .. import _cuda_sim as module
    return _Guarded(module) if cuda.simulating_checked() else module


def launch_arg(device: str) -> int:
    """The last argument of every kernel, passed positionally: ``threads`` on the CPU (0: the
    library's setting, sinapse.set_num_threads, as the binding's default), ``stream`` on CUDA
    (CuPy's current stream) and the simulator (0: its one synchronous stream)."""
    return stream(device) if device == CUDA else 0


def empty(op: str, device: str, shape: tuple[int, ...]):
    """An uninitialised float32 array for op ``op``'s result or workspace.

    MemoryError names the op, the shape and the bytes it needed (NumPy's and CuPy's own
    messages name neither the op nor which of its arrays did not fit).
    """
    try:
        if device == CUDA:
            cupy = import_cupy()
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
        return import_cupy().cuda.get_current_stream().ptr
    return 0


def simd(device: str, simd: str | None, op: str) -> str:
    """The ``simd`` argument of a kernel: the CPU's SIMD path the caller asked for (checked by
    sinapse.cpu.simd_path), or "" when they asked for none: the kernel then applies the process
    rule (use_simd / set_simd_path, $SINAPSE_SIMD, the best path) at each call, so a plan
    prepared earlier follows a path forced later. The CUDA kernels take the argument too, for
    one call shape, and ignore it."""
    if device == CPU:
        from .. import cpu

        path = cpu.simd_path(simd, op)  # checks the process setting now too, for a clear error
        return path if simd is not None else ""
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
    None) itself, except under ``sinapse.cuda.simulate(checked=True)``. (The ops need not
    use it: ``kernels`` guards each kernel's arrays itself; this is for code that hands the
    same guarded arrays to several kernels, or inspects them.)

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
    from .. import _cuda_sim as sim

    guarded = {name: _guard(sim, arr) for name, arr in arrays.items()}
    yield guarded
    for name, g in guarded.items():
        if g is not arrays[name]:
            _check_intact(sim, g, name)
    for name in written:
        if guarded[name] is not arrays[name]:
            np.copyto(arrays[name], guarded[name])


class _Guarded:
    """sinapse._cuda_sim under ``sinapse.cuda.simulate(checked=True)``: each kernel gets a
    guard-paged copy of each array argument (``_guard``), so an out-of-bounds access faults
    into a clear error, and the copies the kernel changed are copied back on success (an
    input is never changed; an output the kernel left byte-for-byte as it was needs no copy).
    Array arguments may be positional (as every op passes them) or named, alone or in a list
    (each array of a list argument guarded on its own)."""

    __slots__ = ("_sim",)

    def __init__(self, sim):
        self._sim = sim

    def __getattr__(self, name: str):
        fn = getattr(self._sim, name)
        if not callable(fn):
            return fn
        sim = self._sim

        def run(*args, **kwargs):
            given = [*args, *kwargs.values()]
            # a list argument (the merge ops' inputs) is guarded array by array
            guarded = [[_guard(sim, x) for x in a] if isinstance(a, list) else _guard(sim, a) for a in given]
            result = fn(*guarded[: len(args)], **dict(zip(kwargs, guarded[len(args) :])))
            pairs = []  # (given array, its guarded copy, the argument's name)
            for i, (a, g) in enumerate(zip(given, guarded)):
                name = _parameter(fn, i) if i < len(args) else list(kwargs)[i - len(args)]
                if isinstance(a, list):
                    pairs += [(x, gx, f"{name}[{j}]") for j, (x, gx) in enumerate(zip(a, g))]
                else:
                    pairs.append((a, g, name))
            for a, g, name in pairs:
                if g is not a:
                    _check_intact(sim, g, name)
            for a, g, _ in pairs:
                if g is not a and g.tobytes() != a.tobytes():
                    np.copyto(a, g)
            return result

        run.__name__ = name
        return run


def _guard(sim, arr):
    """A guard-paged copy of ``arr``; ``arr`` itself when it is not an array of 4- or 8-byte
    elements (None, scalars, the RNN mask: the guarded buffers are built from 4-byte elements)."""
    if not isinstance(arr, np.ndarray) or arr.dtype.itemsize % 4:
        return arr
    g = sim.guarded_array(arr.nbytes // 4).view(arr.dtype).reshape(arr.shape)
    np.copyto(g, arr)
    return g


def _check_intact(sim, g, name: str) -> None:
    if not sim.guarded_intact(g.ctypes.data):
        raise RuntimeError(
            f"CUDA kernel {sim.last_launch()} wrote before the start of `{name}` (simulator, checked mode)"
        )


def binding_parameters(fn) -> list[str]:
    """A binding's parameter names, from pybind11's signature line ``f(a: T, b: U = 0) -> R``
    (the checked simulator names a damaged array with it; tests compare the CPU/CUDA twins)."""
    line = fn.__doc__.splitlines()[0] if fn.__doc__ else ""
    depth, part, parts = 0, "", []
    for ch in line[line.find("(") + 1 :]:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(part)
            part = ""
        else:
            part += ch
    parts.append(part)
    return [p.split(":")[0].split("=")[0].strip() for p in parts if p.strip()]


def _parameter(fn, i: int) -> str:
    names = binding_parameters(fn)
    return names[i] if i < len(names) else f"argument {i}"
