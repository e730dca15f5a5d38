"""Argument validation for every op, in one place, for both backends.

Kernels want float32, C-contiguous arrays of the right rank and shape on one device.
Anything else is refused here with a TypeError or ValueError that names the op, the
argument, what it got (dtype, shape, strides, device) and how to fix it. Nothing is
converted or copied behind the caller's back: a silent copy of a large array would hide
a performance bug (and break ``out=`` semantics).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import CudaUnavailableError

CPU, CUDA, CUDA_SIM = "cpu", "cuda", "cuda_sim"
# The array type in the ops' signatures: a NumPy ndarray (the CPU) or an object with
# ``__cuda_array_interface__`` (a CuPy array); what each op accepts is checked at run time
# (``inspect``, ``check_float32``), not statically, so for a type checker it is Any.
Array = Any
_may_share_memory = np.may_share_memory  # bounds test only (max_work=0): O(1)


class ArrayInfo:
    """What validation needs to know about an array, whichever library made it.

    A plain slotted class: ops build several per call, and this is on the hot path of
    small ops (a dataclass costs about twice as much).
    """

    __slots__ = ("obj", "device", "dtype", "shape", "strides", "c_contiguous", "writeable", "ptr", "stream")

    def __init__(self, obj, device, dtype, shape, strides, c_contiguous, writeable, ptr, stream=None):
        self.obj = obj
        self.device = device  # "cpu" (NumPy) or "cuda" (anything with __cuda_array_interface__)
        self.dtype = dtype
        self.shape = shape
        self.strides = strides  # in bytes
        self.c_contiguous = c_contiguous
        self.writeable = writeable
        self.ptr = ptr  # device address of a CUDA array's data (0 for NumPy arrays: not needed)
        # a CUDA array's producer stream (the interface's "stream": None, 1 = legacy default,
        # 2 = per-thread default, else a cudaStream_t); _device.consume orders the launch after it
        self.stream = stream

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
    if hasattr(type(x), "__cuda_array_interface__") or hasattr(x, "__cuda_array_interface__"):
        return _cuda_info(op, name, x)
    raise TypeError(
        f"{op}: `{name}` must be a NumPy array (CPU) or a CuPy/CUDA array, got {type(x).__name__}. "
        f"Wrap data with np.asarray(x, dtype=np.float32)."
    )


def _cuda_info(op: str, name: str, x: Any) -> ArrayInfo:
    """An ArrayInfo from ``x.__cuda_array_interface__`` (the slow path: NumPy arrays never get
    here), each field checked against the CUDA Array Interface (v3) first: a malformed one would
    otherwise fail with a bare KeyError, or pass with a bogus shape or pointer to a kernel."""

    def bad(why: str) -> ValueError:
        return ValueError(f"{op}: `{name}` has a malformed __cuda_array_interface__: {why}")

    try:
        cai = x.__cuda_array_interface__
    except Exception as exc:  # a property that raises: any error of the user's object
        raise bad(f"reading it raised {type(exc).__name__}: {exc}") from None
    if not isinstance(cai, dict):
        raise bad(f"it must be a dict, got {type(cai).__name__}")
    for key in ("shape", "typestr", "data", "version"):
        if key not in cai:
            raise bad(f"the required key {key!r} is missing")
    version = cai["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise bad(f"'version' must be a non-negative int, got {version!r}")
    shape = _cai_ints(cai["shape"], "shape", bad)
    if any(n < 0 for n in shape):
        raise bad(f"'shape' must hold non-negative ints, got {shape}")
    typestr = cai["typestr"]
    try:
        if not isinstance(typestr, str):
            raise TypeError
        dtype = np.dtype(typestr)
    except (TypeError, ValueError):
        raise bad(f"'typestr' must be a NumPy type string such as '<f4', got {typestr!r}") from None
    data = cai["data"]
    if not (isinstance(data, tuple) and len(data) == 2 and _is_int(data[0]) and isinstance(data[1], bool)):
        raise bad(f"'data' must be a tuple (pointer: int, read_only: bool), got {data!r}")
    ptr, readonly = int(data[0]), data[1]
    if ptr < 0:
        raise bad(f"the data pointer must be non-negative, got {ptr}")
    if cai.get("mask") is not None:
        raise bad("a 'mask' is not supported (masked arrays): pass an array without one")
    stream = cai.get("stream")
    if stream is not None and not (_is_int(stream) and stream > 0):
        # v3: None (nothing to wait for), 1 (legacy default), 2 (per-thread default) or a
        # cudaStream_t; 0 is disallowed by the spec (ambiguous between those)
        raise bad(f"'stream' must be None or a positive int (1, 2 or a cudaStream_t; 0 is not allowed), got {stream!r}")
    c_strides = _c_strides(shape, dtype.itemsize)
    strides = c_strides if cai.get("strides") is None else _cai_ints(cai["strides"], "strides", bad)
    if len(strides) != len(shape):
        raise bad(f"'strides' {strides} must have one entry per dimension of 'shape' {shape}")
    # Dimensions of size 1 (or an empty array) make any stride value contiguous.
    contiguous = all(s == c or n <= 1 for s, c, n in zip(strides, c_strides, shape)) or 0 in shape
    return ArrayInfo(
        x, CUDA, dtype, shape, strides, contiguous, not readonly, ptr, None if stream is None else int(stream)
    )


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _cai_ints(value: Any, key: str, bad) -> tuple[int, ...]:
    """A CUDA Array Interface ``shape`` or ``strides``: a tuple of ints."""
    if not isinstance(value, tuple) or not all(_is_int(v) for v in value):
        raise bad(f"{key!r} must be a tuple of ints, got {value!r}")
    return tuple(int(v) for v in value)


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


def check_out(
    op: str,
    out: ArrayInfo,
    shape: tuple[int, ...],
    inputs: dict[str, ArrayInfo],
    allow: tuple[str, ...] = (),
    name: str = "out",
) -> None:
    """``out=`` (or the op's name for it, ``name``): float32, contiguous, writeable, the
    result's shape, and not sharing memory with any input (see check_aliasing; ``allow``:
    inputs it may be exactly, in place)."""
    check_float32(op, name, out)
    check_shape(op, name, out, shape, "the shape of the result")
    check_aliasing(op, {name: out}, inputs, allow=tuple((name, other) for other in allow) if allow else ())


def out_tuple(op: str, out: Any, names: tuple[str, ...]) -> tuple:
    """An op's ``out=`` when it has several results (the NumPy ufunc convention): None (all
    allocated) or a tuple/list with one entry per result, in the order of ``names`` (the
    results' names), each an array or None (that one allocated). Returns a tuple of
    ``len(names)`` entries; TypeError for anything else. Each array is then checked by the op
    (``check_outs``)."""
    if out is None:
        return (None,) * len(names)
    if not isinstance(out, (tuple, list)) or len(out) != len(names):
        raise TypeError(
            f"{op}: `out` must be None or a tuple of {len(names)} arrays or None ({', '.join(names)}), "
            f"one per result, got {type(out).__name__}"
            + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
            + "."
        )
    return tuple(out)


def inspect_outs(op: str, out: Any, names: tuple[str, ...]) -> dict[str, ArrayInfo | None]:
    """``out_tuple``'s entries inspected, keyed as errors name them: ``"out[0]"``, ... (None:
    not given); hand them to ``backend`` (the given ones) and then to ``check_outs``."""
    return {
        f"out[{i}]": None if o is None else inspect(op, f"out[{i}]", o) for i, o in enumerate(out_tuple(op, out, names))
    }


def present(infos: Mapping[str, ArrayInfo | None]) -> dict[str, ArrayInfo]:
    """The entries that are not None."""
    return {k: v for k, v in infos.items() if v is not None}


def check_outs(
    op: str,
    outs: Mapping[str, ArrayInfo | None],
    shapes: Mapping[str, tuple[int, ...] | None],
    inputs: Mapping[str, ArrayInfo | None],
    allow: tuple[tuple[str, str], ...] = (),
) -> None:
    """The given entries of a tuple ``out=`` (keyed as errors name them, ``"out[0]"``, ...;
    None: not given): each
    float32, contiguous, of its result's shape (``shapes``; None: a result the call does not
    compute, which must not be given), writeable, and sharing no memory with any input or
    with each other (check_aliasing; ``allow``: exact in-place (result, input) pairs)."""
    given = {name: info for name, info in outs.items() if info is not None}
    for name, info in given.items():
        shape = shapes[name]
        if shape is None:
            raise ValueError(f"{op}: `{name}` was given, but this call does not compute it: pass None for it.")
        check_float32(op, name, info)
        check_shape(op, name, info, shape, "the shape of the result")
    if given:
        check_aliasing(op, given, inputs, allow=allow)


def check_aliasing(
    op: str,
    written: dict[str, ArrayInfo],
    others: Mapping[str, ArrayInfo | None],
    allow: tuple[tuple[str, str], ...] = (),
) -> None:
    """The one aliasing rule: every array an op writes must be writeable and share no memory
    with any other array argument (written or read), partial overlap included.

    ``allow`` lists (written, other) pairs the kernel supports *exactly* in place: the same
    memory, shape and strides (``out=x`` for an element-wise op). Any other overlap, and any
    partial overlap of an allowed pair, is a ValueError naming both arguments: the kernel
    would read what it already overwrote (or write one result over another).
    """
    names = list(written)
    for i, name in enumerate(names):
        w = written[name]
        if not w.writeable:
            role = (
                "is read-only"
                if name == "out" or name.startswith("out[")
                else "is updated in place: it must be writeable, but it is read-only"
            )
            raise ValueError(
                f"{op}: `{name}` {role} ({w.describe()}). Pass a writeable array (np.array(x) makes a writeable copy)."
            )
        # the later written arrays, then every read one (this loop is on the hot path of small
        # ops: no pair lists are built, and the common case is one cheap bounds test per pair)
        for other in names[i + 1 :]:
            if _may_overlap(w, written[other]):
                _overlap(op, name, w, other, written[other], written, allow)
        on_cpu, wobj = w.device == CPU, w.obj
        for other, info in others.items():
            if info is None or other in written:
                continue
            if _may_share_memory(wobj, info.obj) if on_cpu and info.device == CPU else _may_overlap(w, info):
                _overlap(op, name, w, other, info, written, allow)


def _overlap(op, name, w, other, info, written, allow) -> None:
    """Two arguments share memory: fine if an allowed exact in-place pair, else ValueError."""
    allowed = (name, other) in allow or (other, name) in allow
    if allowed and _same_memory(w, info):
        return
    fix = (
        "Only the very same array is allowed here (in place), not a shifted or reshaped view of it."
        if allowed
        else "Pass separate arrays (a copy: np.array(x))."
    )
    # two results written over each other (`out` always is one), or a result over an input
    both = other in written or other == "out" or other.startswith("out[")
    what = f"`{name}` and `{other}` share memory" if both else f"`{name}` overlaps input `{other}`"
    raise ValueError(
        f"{op}: {what} ({w.describe()} vs {info.describe()}); the kernel would read what it already overwrote. {fix}"
    )


def _data_address(info: ArrayInfo) -> int:
    return info.ptr if info.device == CUDA else info.obj.__array_interface__["data"][0]


def _same_memory(x: ArrayInfo, y: ArrayInfo) -> bool:
    """The same elements at the same places: one address, shape and strides."""
    return (
        x.device == y.device
        and tuple(x.shape) == tuple(y.shape)
        and tuple(x.strides) == tuple(y.strides)
        and _data_address(x) == _data_address(y)
    )


def _byte_range(info: ArrayInfo) -> tuple[int, int]:
    """[first, last) byte addresses a CUDA array can touch, from its strides (any sign)."""
    lo = hi = info.ptr
    for n, s in zip(info.shape, info.strides):
        if s >= 0:
            hi += (n - 1) * s
        else:
            lo += (n - 1) * s
    return lo, hi + info.dtype.itemsize


def _may_overlap(x: ArrayInfo, y: ArrayInfo) -> bool:
    """Whether two arrays' memory may overlap (NumPy's bounds test; address ranges on CUDA).
    Empty arrays overlap nothing."""
    if x.device == CPU and y.device == CPU:
        return _may_share_memory(x.obj, y.obj)
    if x.device == CUDA and y.device == CUDA:
        if 0 in x.shape or 0 in y.shape:
            return False
        (x0, x1), (y0, y1) = _byte_range(x), _byte_range(y)
        return x0 < y1 and y0 < x1
    return False


def backend(op: str, arrays: dict[str, ArrayInfo]) -> str:
    """The one device all array arguments live on; errors for a mix, or for CUDA without CUDA.

    For CUDA arrays it also runs ``_device.consume``: every array on the current GPU (else a
    ValueError naming the devices) and the launch stream ordered after each array's producer
    stream (the CUDA Array Interface's ``stream``). Every op's descriptor step calls this."""
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
        from . import _device  # (imported here: _device imports this module)

        _device.consume(op, arrays)
    return device


# Geometry bounds. Every size an op derives from its arguments (strides, dilations, window
# and kernel extents, padding, padded and output extents) is computed here in Python ints
# and must be at most MAX_EXTENT, so every product of two of them fits the kernels' int64
# (and the CUDA kernels' 32-bit grid) arithmetic; element counts must stay below
# MAX_ELEMENTS, so byte counts fit int64 and size_t. Both are far beyond any real input.
MAX_EXTENT = 2**31 - 1
MAX_ELEMENTS = 2**60 // 8


def as_int(
    op: str,
    name: str,
    value: Any,
    *,
    lo: int = 0,
    hi: int = 2**63 - 1,
    what: str = "an int",
    bounds: str | None = None,
    allow_none: bool = False,
) -> Any:
    """A Python or NumPy integer in [lo, hi], as a Python int (None too when ``allow_none``).

    TypeError for anything else (bool, float, str, ...), ValueError out of range: the
    kernels take fixed-width C++ integers, and a value that does not fit would otherwise
    fail inside the binding with an unreadable message. Every integer argument of the
    library is checked here; callers choose only the wording: ``what`` names the expected
    value ("a positive integer"), ``bounds`` how the range follows it in the ValueError
    (default " in [lo, hi]"; "" when ``what`` already says it).
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{op}: `{name}` must be {what}{' or None' if allow_none else ''}, got {value!r} "
            f"({type(value).__name__}). Pass a Python int, e.g. int(x)."
        )
    value = int(value)
    if not lo <= value <= hi:
        shown = f" in [{lo}, {_bound(hi)}]" if bounds is None else bounds
        raise ValueError(f"{op}: `{name}` must be {what}{shown}, got {value}.")
    return value


def _bound(hi: int) -> str:
    for k in (31, 32, 63, 64):
        if hi in (2**k - 1, 2**k):
            return f"2**{k}" + ("" if hi == 2**k else " - 1")
    return str(hi)


def check_extent(op: str, name: str, value: Any, size: int, what: str) -> None:
    """A size derived from argument ``name`` (which the user gave as ``value``) must not
    exceed MAX_EXTENT: ValueError naming the argument and the size it implies."""
    if size > MAX_EXTENT:
        raise ValueError(
            f"{op}: `{name}`={value!r} gives {what} of {size}, more than the {MAX_EXTENT} "
            f"(2**31 - 1) sinapse supports. Use a smaller `{name}`."
        )


def check_elements(op: str, name: str, shape: tuple[int, ...], what: str) -> None:
    """An array the op would allocate (shape from argument ``name``) must stay below MAX_ELEMENTS."""
    count = 1
    for n in shape:
        count *= int(n)
    if count > MAX_ELEMENTS:
        raise ValueError(
            f"{op}: `{name}` gives {what} of shape {tuple(shape)} ({count} elements), more than the "
            f"{MAX_ELEMENTS} (2**57) sinapse can allocate. Use a smaller `{name}`."
        )


def as_pair(op: str, name: str, value: Any) -> tuple[int, int]:
    """A positive int or a pair of positive ints (window sizes, strides, dilations) as a
    pair of Python ints, each at most MAX_EXTENT."""
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) else value
    what = "a positive int or a pair of positive ints"
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(f"{op}: `{name}` must be {what}, got {value!r} ({type(value).__name__}).")
    if any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) for v in pair):
        raise TypeError(f"{op}: `{name}` must be {what}, got {value!r}. Pass Python ints, e.g. (2, 2).")
    if not all(1 <= v <= MAX_EXTENT for v in pair):
        raise ValueError(f"{op}: `{name}` must be {what} (each from 1 to {MAX_EXTENT} = 2**31 - 1), got {value!r}.")
    return int(pair[0]), int(pair[1])


def as_bool(op: str, name: str, value: Any) -> bool:
    """A flag: True/False (Python or NumPy bool) only. TypeError otherwise: a string such
    as "no" or a None would otherwise be read by truthiness and silently mean the opposite."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: `{name}` must be True or False, got {value!r} ({type(value).__name__}).")
    return bool(value)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_float(
    op: str,
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    finite: bool = False,
    float32: bool = True,
    lo_as_float32: bool = False,
    allow_none: bool = False,
    kind: str = "a real number",
    what: str | None = None,
    why: str = "",
) -> Any:
    """A Python or NumPy real scalar as float (None too when ``allow_none``); TypeError
    otherwise ("must be ``kind``"). Every real-valued argument of the library is checked here.

    ValueError, in this order, for: an int beyond float's range; a NaN or ±inf when
    ``finite``; with ``float32`` (the kernels take float32 scalars), a finite value beyond
    float32's range (it would silently become infinite); a value outside
    [lo, hi] (``lo_open``/``hi_open``: open ends; NaN fails any bound; ``lo_as_float32``: an
    open lower end is judged on the value rounded to float32, as a kernel sees it: epsilon=1e-50
    is 0 there, the 0/0 it exists to prevent). Without bounds and
    ``finite``, NaN and ±inf pass (each op decides). The message says "must be ``what``"
    (default: the condition that failed) and ends with ``why``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{op}: `{name}` must be {kind}{' or None' if allow_none else ''}, got {value!r} ({type(value).__name__})."
        )
    try:
        x = float(value)
    except OverflowError:  # an int beyond float64's range
        raise ValueError(
            f"{op}: `{name}` must be a finite number, got {str(value)[:40]}... (beyond a float's range)."
        ) from None
    failed = _float_failure(x, lo, hi, lo_open, hi_open, finite, float32, lo_as_float32)
    if failed is not None:
        raise ValueError(f"{op}: `{name}` must {'be ' + what if what else failed}, got {str(value)[:40]}{why}.")
    return x


def _float_failure(x, lo, hi, lo_open, hi_open, finite, float32, lo_as_float32) -> str | None:
    """as_float's value checks: None if ``x`` passes, else what it must do ("be >= 0")."""
    inf = float("inf")
    if finite and not abs(x) < inf:  # NaN compares False
        return "be a finite number"
    if float32 and FLOAT32_MAX < abs(x) < inf:
        return f"fit float32 (|x| <= {FLOAT32_MAX:.4g}), the kernels' precision"
    low = -inf if lo is None else lo
    high = inf if hi is None else hi
    x32 = float(np.float32(x)) if lo_as_float32 and lo_open and abs(x) <= FLOAT32_MAX else x
    ok = (x32 > low if lo_open else x >= low) and (x < high if hi_open else x <= high)
    if ok or lo is None and hi is None:
        return None
    if hi is None:
        return f"be {'>' if lo_open else '>='} {lo}"
    if lo is None:
        return f"be {'<' if hi_open else '<='} {hi}"
    return f"be in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
