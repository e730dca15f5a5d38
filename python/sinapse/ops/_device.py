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
sinapse._cuda, CuPy's current stream and device) and "cuda_sim" (NumPy arrays run through the
CUDA kernels by the SIMT simulator, sinapse._cuda_sim, inside ``sinapse.cuda.simulate()``).
On "cuda", every call first passes ``consume``: its arrays on the current GPU, and the launch
stream ordered after the streams their producers exported (CUDA Array Interface v3).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .. import _cpu, devices
from ..errors import CudaUnavailableError
from ._checks import CPU, CUDA, CUDA_SIM, ArrayInfo, inspect


def kernels(device: str):
    """The extension module holding the kernels for ``device``: sinapse._cpu, _cuda or
    _cuda_sim (_cuda_prof, its instrumented twin, under ``simulate(profile=True)``); under
    checked simulation a wrapper of it whose kernels run on guarded copies of their array
    arguments (``_Guarded``); on CUDA, when this call's ``consume`` waited on producer streams,
    a wrapper of _cuda that releases them after each kernel (``_ThenRelease``)."""
    if device == CPU:
        return _cpu
    if device == CUDA:
        from .. import _cuda

        pending = _PRODUCERS.pending
        return _cuda if pending is None else _ThenRelease(_cuda, *pending)
    import importlib

    from .. import cuda

    module = importlib.import_module("sinapse._cuda_prof" if cuda.simulating_profiled() else "sinapse._cuda_sim")
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
            cupy = devices.import_cupy()
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
        return devices.import_cupy().cuda.get_current_stream().ptr
    return 0


# ------------------------------------------------------------- CUDA Array Interface (v3)
#
# The interface's rule (numba-cuda docs, "CUDA Array Interface (Version 3)", Synchronization):
# a producer exports in "stream" the stream its pending work on the data is ordered on (None
# or absent: nothing pending; 0 is disallowed; 1 = the legacy default stream; 2 = the
# per-thread default stream; else a cudaStream_t). A consumer working on another stream must
# (1) synchronise on that stream before it touches the data and (2) keep the producer's
# stream from running ahead of its own work on the data, e.g. by having it wait on an event
# recorded after that work. sinapse does both without blocking the host: (1) an event
# recorded on each producer stream, waited on by the launch stream before the kernels
# (``consume``), and (2) an event recorded on the launch stream after each kernel, waited on
# by each producer stream (``_ThenRelease``). (CuPy, importing such an array, blocks the host
# in cudaStreamSynchronize on the producer stream instead: the same order, with a stall.)

_MEMORY_TYPE_DEVICE = 2  # cudaMemoryTypeDevice: memory that lives on one GPU


class _Producers(threading.local):
    """Per thread, what the op being launched must release after its kernels: None, or
    (cupy, the launch stream, the producer streams); ``consume`` sets it at every CUDA call."""

    pending: tuple | None = None


_PRODUCERS = _Producers()


def consume(op: str, arrays: Mapping[str, ArrayInfo]) -> None:
    """The CUDA Array Interface consumer's duties for one call of ``op`` on CUDA arrays
    (``arrays``: name -> ArrayInfo, as validated), before any kernel of the call is enqueued.

    1. One device: every array on one GPU, the current one (ValueError naming the op, the
       arguments and the devices otherwise), whose compute capability can run the build's
       kernels (CudaUnavailableError otherwise; checked once per GPU). A CuPy array's device is its ``data.device_id``;
       any other's is ``cudaPointerGetAttributes`` of its pointer. Memory that is not on one
       device (managed, pinned host, empty arrays) is not checked. Arrays on another GPU are
       refused, not copied or reached over peer access: the kernels launch on the current
       device's stream and allocate results there, so the call would be slow at best; run it
       under ``with cupy.cuda.Device(n):`` instead. (CuPy's own kernels enable peer access
       when they can, with a PerformanceWarning, and raise ValueError when they cannot.)
    2. Producer streams: each distinct ``stream`` of the arrays' interfaces that is not the
       launch stream (CuPy's current stream; CuPy's null stream, 0, is the legacy default
       stream, 1) gets an event recorded on it, and the launch stream waits on it; the op's
       kernels then release those streams (``kernels``). CuPy arrays are skipped: CuPy
       exports its current stream, which is the launch stream.

    Called by ``_checks.backend`` (every op) and, for each call of a prepared plan, through
    ``consume_arrays``. Never called for NumPy arrays (the CPU and the simulator).
    """
    _consume(op, [(name, i.obj, i.ptr, i.stream) for name, i in arrays.items() if i.device == CUDA])


def consume_arrays(op: str, names: Sequence[str], arrays: Sequence) -> None:
    """``consume`` for a call of a prepared CUDA plan: ``arrays`` by ``names`` (None: absent).
    A CuPy array needs no interface read (its device is an attribute, its stream the launch
    stream); any other array's interface is read again, since its producer may have moved to
    another stream since the plan's previous call."""
    ndarray = devices.import_cupy().ndarray
    items = []
    for name, a in zip(names, arrays):
        if a is None:
            continue
        if type(a) is ndarray:
            items.append((name, a, 0, None))
        else:
            info = inspect(op, name, a)
            items.append((name, a, info.ptr, info.stream))
    _consume(op, items)


def _consume(op: str, items: Iterable[tuple]) -> None:
    """``consume`` on (name, array, data pointer, interface stream) items."""
    _PRODUCERS.pending = None  # whatever an earlier call left: this call's own only
    cupy = devices.import_cupy()
    runtime, ndarray = cupy.cuda.runtime, cupy.ndarray
    placed: dict[str, int] = {}  # name -> device ordinal
    producers: dict[int, None] = {}  # distinct producer streams, in order of first sight
    pointers: dict[int, int | None] = {}  # data pointer -> its device: one query each (out=x)
    for name, obj, ptr, stream in items:
        if type(obj) is ndarray:
            placed[name] = obj.data.device_id
            continue
        if ptr not in pointers:
            pointers[ptr] = _pointer_device(op, name, runtime, ptr)
        device = pointers[ptr]
        if device is not None:
            placed[name] = device
        if stream is not None:
            producers[stream] = None
    current = runtime.getDevice()
    if placed:
        _check_devices(op, placed, current)
    if current not in _RUNNABLE:
        _check_arch(op, cupy, current)
    if not producers:
        return
    ours = cupy.cuda.get_current_stream().ptr
    foreign = tuple(s for s in producers if s != (ours or 1))  # CuPy's null stream (0) is the legacy one (1)
    for s in foreign:
        event = cupy.cuda.Event(disable_timing=True)
        runtime.eventRecord(event.ptr, s)
        runtime.streamWaitEvent(ours, event.ptr)
    if foreign:
        _PRODUCERS.pending = (cupy, ours, foreign)


def _pointer_device(op: str, name: str, runtime, ptr: int) -> int | None:
    """The GPU holding the memory at ``ptr``; None when it is on none in particular (0: an empty
    array; managed, pinned host or system memory)."""
    if not ptr:
        return None
    try:
        attrs = runtime.pointerGetAttributes(ptr)
    except runtime.CUDARuntimeError as exc:
        raise ValueError(f"{op}: `{name}` has a data pointer ({ptr:#x}) CUDA does not know: {exc}") from None
    return attrs.device if attrs.type == _MEMORY_TYPE_DEVICE else None


def _check_devices(op: str, placed: dict[str, int], current: int) -> None:
    """All arrays on one GPU, the current one: ValueError otherwise (see ``consume``)."""
    where = ", ".join(f"`{n}` on cuda:{d}" for n, d in placed.items())
    found = set(placed.values())
    if len(found) > 1:
        raise ValueError(
            f"{op}: arguments are on different CUDA devices ({where}); its kernels run on one. "
            f"Copy them to one device first: with cupy.cuda.Device(n): x = cupy.asarray(x)."
        )
    (device,) = found
    if device != current:
        raise ValueError(
            f"{op}: the arguments are on cuda:{device} ({where}) but the current device is cuda:{current}, "
            f"whose stream the kernels would launch on. Call it under `with cupy.cuda.Device({device}):`."
        )


_RUNNABLE: set[int] = set()  # GPUs whose compute capability was found to run the build's kernels


def _check_arch(op: str, cupy, device: int) -> None:
    """CudaUnavailableError when GPU ``device`` can run neither the SASS nor the PTX sinapse._cuda
    embeds (``sinapse.cuda._arch_supported``): is_available() checked the GPU current when it was
    first asked; this is every other one, once, the first time a call runs on it."""
    from .. import _cuda, cuda

    cc = cupy.cuda.Device(device).compute_capability  # "86" for 8.6
    runs, why = cuda._arch_supported((int(cc[:-1]), int(cc[-1])), *cuda._embedded(_cuda.archs))
    if not runs:
        raise CudaUnavailableError(f"{op}: cuda:{device}: {why}")
    _RUNNABLE.add(device)


class _ThenRelease:
    """sinapse._cuda for an op whose arrays came with producer streams (``consume``): after
    each kernel, an event recorded on the launch stream, waited on by each producer stream,
    so the producer neither reuses an input nor reads an output before the kernel is done."""

    __slots__ = ("_mod", "_cupy", "_ours", "_producers")

    def __init__(self, mod, cupy, ours: int, producers: tuple[int, ...]):
        self._mod, self._cupy, self._ours, self._producers = mod, cupy, ours, producers

    def __getattr__(self, name: str):
        fn = getattr(self._mod, name)
        if not callable(fn):
            return fn

        def run(*args, **kwargs):
            result = fn(*args, **kwargs)
            runtime = self._cupy.cuda.runtime
            event = self._cupy.cuda.Event(disable_timing=True)
            runtime.eventRecord(event.ptr, self._ours)
            for s in self._producers:
                runtime.streamWaitEvent(s, event.ptr)
            return result

        run.__name__ = name
        return run


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
