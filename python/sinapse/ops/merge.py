"""sinapse.ops.merge / merge_backward / concatenate / concatenate_backward: several arrays into
one (Keras's merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate;
keras/src/layers/merging/*.py), and the gradients back to each of them.

Each call is one kernel launch over all its inputs (their pointers are passed together), not a
chain of two-array calls: ``merge([a, b, c], "add")`` reads every input once and writes the
result once. These ops take a list of arrays, so they have no prepared form (``ops.prepare``):
their validation is a few checks per input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _device
from ._checks import (
    Array,
    ArrayInfo,
    as_int,
    backend,
    check_float32,
    check_outs,
    inspect,
    inspect_outs,
    present,
)
from ._enums import MERGE_MODES

MODES: dict[str, int] = MERGE_MODES
# The CUDA kernels take the inputs' pointers in their launch parameters (csrc/cuda/merge.h).
MAX_CUDA_INPUTS = 64


def _mode(op: str, mode) -> str:
    if not isinstance(mode, str):
        raise TypeError(f"{op}: `mode` must be a str (one of {', '.join(MODES)}), got {mode!r}.")
    if mode not in MODES:
        raise ValueError(f"{op}: `mode` must be one of {', '.join(MODES)}, got {mode!r}.")
    return mode


def _arrays(op: str, name: str, arrays, *, least: int = 1) -> list[ArrayInfo]:
    """The list argument ``name``: a list or tuple of at least ``least`` arrays, each inspected
    as ``name[i]``."""
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{op}: `{name}` must be a list of arrays, got {type(arrays).__name__}.")
    if len(arrays) < least:
        raise ValueError(f"{op}: `{name}` must hold at least {least} array(s), got {len(arrays)}.")
    return [inspect(op, f"{name}[{i}]", x) for i, x in enumerate(arrays)]


def _named(name: str, infos: list[ArrayInfo]) -> dict[str, ArrayInfo]:
    return {f"{name}[{i}]": info for i, info in enumerate(infos)}


def _same_shapes(op: str, name: str, infos: list[ArrayInfo]) -> tuple[int, ...]:
    """Every array float32, contiguous, of ``name[0]``'s shape; returns that shape."""
    shape = tuple(infos[0].shape)
    for i, info in enumerate(infos):
        check_float32(op, f"{name}[{i}]", info)
        if tuple(info.shape) != shape:
            raise ValueError(
                f"{op}: `{name}[{i}]` has shape {tuple(info.shape)}, expected {shape} (the shape of {name}[0])."
            )
    return shape


def _count(op: str, device: str, mode: str, count: int) -> None:
    if mode == "subtract" and count != 2:
        raise ValueError(f"{op}: mode 'subtract' takes exactly 2 `inputs` (inputs[0] - inputs[1]), got {count}.")
    if device != "cpu" and count > MAX_CUDA_INPUTS:
        raise ValueError(
            f"{op}: the CUDA kernels merge at most {MAX_CUDA_INPUTS} `inputs` in one call, got {count}; "
            f"merge them in groups."
        )


MASKED_MODES = ("multiply", "maximum", "minimum")


def _inspect_masks(op: str, masks, count: int) -> dict[str, ArrayInfo]:
    """The given entries of ``masks`` (None, or one entry per input, each None or an array)."""
    if masks is None:
        return {}
    if not isinstance(masks, (list, tuple)):
        raise TypeError(f"{op}: `masks` must be None or a list with one entry (a mask or None) per input.")
    if len(masks) != count:
        raise ValueError(f"{op}: `masks` must hold one entry (a mask or None) per input: {count}, got {len(masks)}.")
    return {f"masks[{i}]": inspect(op, f"masks[{i}]", m) for i, m in enumerate(masks) if m is not None}


def _masks(op: str, masks, minfos: dict[str, ArrayInfo], mode: str, shape: tuple[int, ...], device: str):
    """Keras's masks as the kernels take them (bytes, None for an input without), or None."""
    if not minfos:
        return None
    if mode not in MASKED_MODES:
        raise ValueError(
            f"{op}: `masks` apply to multiply, maximum and minimum only (Keras's Add, Subtract and Average "
            f"ignore masks), got mode {mode!r}."
        )
    first = None
    for name, info in minfos.items():
        if info.dtype not in (np.bool_, np.uint8):
            raise TypeError(f"{op}: `{name}` must be bool or uint8 (1 = a real row), got {info.describe()}.")
        if not info.c_contiguous:
            raise ValueError(f"{op}: `{name}` must be C-contiguous, got {info.describe()}.")
        m = tuple(info.shape)
        if not m or shape[: len(m)] != m:
            raise ValueError(
                f"{op}: `{name}` has shape {m}, expected a leading part of the inputs' shape {shape} "
                f"(one flag per row, e.g. (N, T) for (N, T, D) inputs)."
            )
        if first is not None and m != first:
            raise ValueError(f"{op}: `{name}` has shape {m}, expected {first} (the shape of the first mask).")
        first = m
    return [None if m is None else (m.view(np.uint8) if device == "cpu" else m.view("uint8")) for m in masks]


def merge(inputs: Sequence[Array], mode: str, *, masks=None, out: Array | None = None) -> Array:
    """Merge same-shape float32 arrays element-wise: ``inputs[0] (mode) inputs[1] (mode) ...``.

    Modes (Keras's merge layers): ``add`` (the sum), ``subtract`` (``inputs[0] - inputs[1]``,
    exactly 2 inputs), ``multiply`` (the product), ``average`` (the sum / n, Keras's Average),
    ``maximum``, ``minimum`` (NaN where any input is NaN, as np.maximum / np.minimum).

    Shapes: ``inputs`` a list of at least 1 float32 array, all of one shape (any rank); the result
    that shape. ``out`` may be ``inputs[0]`` itself (in place); no other overlap with an input.

    ``masks`` (multiply, maximum, minimum only; Keras's masked Multiply / Maximum / Minimum,
    keras/src/layers/merging/base_merge.py and multiply.py): None, or one entry per input, each None
    (the input always takes part) or a bool/uint8 array of a leading part of the inputs' shape
    ((N, T) for (N, T, D) inputs), all of one shape: at each row only the inputs whose flag is set
    are merged (multiply counts a masked input as 1, maximum / minimum skip it); a row no input
    marks is 0 for multiply and inputs[0] for maximum / minimum.
    One kernel reads every input once (CPU: OpenMP over chunks, vectorised; CUDA: at most 64
    inputs per call).

    Raises:
        TypeError: ``inputs`` not a list, a non-array or non-float32 entry, arrays on different
            devices, a non-str ``mode``.
        ValueError: no inputs; inputs of different shapes (the message names the entry and both
            shapes); subtract without exactly 2 inputs; an unknown ``mode``; non-contiguous
            arrays; a bad ``out`` (shape, read-only, forbidden overlap); more than 64 inputs on CUDA.
        MemoryError: the result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    op = "merge"
    mode = _mode(op, mode)
    infos = _arrays(op, "inputs", inputs)
    named = _named("inputs", infos)
    minfos = _inspect_masks(op, masks, len(infos))
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {**named, **minfos, **({"out": oi} if oi else {})})
    shape = _same_shapes(op, "inputs", infos)
    _count(op, device, mode, len(infos))
    kmasks = _masks(op, masks, minfos, mode, shape, device)
    if oi is not None:
        check_outs(op, {"out": oi}, {"out": shape}, {**named, **minfos}, allow=(("out", "inputs[0]"),))
    result = out if out is not None else _device.empty(op, device, shape)
    _device.kernels(device).merge(list(inputs), result, MODES[mode], kmasks, _device.launch_arg(device))
    return result


def merge_backward(dy: Array, inputs: Sequence[Array], mode: str, *, masks=None, out=None) -> list:
    """The gradient of ``merge(inputs, mode)`` for each input, from ``dy`` (dL/d(result)).

    ``add``: dy for every input; ``subtract``: dy, -dy; ``average``: dy / n; ``multiply``: dy
    times the product of the other inputs (no division: zeros give the right gradient);
    ``maximum`` / ``minimum``: dy to the FIRST input that attains the result at each element
    (ties go to the earliest input; where an input is NaN, to the first NaN input), 0 to the
    others (PyTorch splits a tie evenly instead). Each gradient is computed by the kernel.
    ``masks`` as merge's: a masked input gets 0 where its flag is off, the others the gradient of
    the merge of the inputs taking part.

    Shapes: dy and every input float32 of one shape. Returns a list of len(inputs) arrays of that
    shape. ``out``: None or a list/tuple with one entry per input (an array, or None: allocated),
    sharing memory with no argument and no other entry.

    Raises:
        TypeError: as merge, and a malformed ``out``.
        ValueError: as merge; dy of another shape; a bad ``out`` entry (shape, read-only, overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    op = "merge_backward"
    mode = _mode(op, mode)
    gi = inspect(op, "dy", dy)
    infos = _arrays(op, "inputs", inputs)
    named = _named("inputs", infos)
    minfos = _inspect_masks(op, masks, len(infos))
    outs = inspect_outs(op, out, tuple(f"dx{i}" for i in range(len(infos))))
    device = backend(op, {"dy": gi, **named, **minfos, **present(outs)})
    shape = _same_shapes(op, "inputs", infos)
    check_float32(op, "dy", gi)
    if tuple(gi.shape) != shape:
        raise ValueError(f"{op}: `dy` has shape {tuple(gi.shape)}, expected {shape} (the shape of inputs[0]).")
    _count(op, device, mode, len(infos))
    kmasks = _masks(op, masks, minfos, mode, shape, device)
    check_outs(op, outs, dict.fromkeys(outs, shape), {"dy": gi, **named, **minfos})
    given = list(out) if out is not None else [None] * len(infos)
    dx = [g if g is not None else _device.empty(op, device, shape) for g in given]
    _device.kernels(device).merge_backward(dy, list(inputs), dx, MODES[mode], kmasks, _device.launch_arg(device))
    return dx


def _axis(op: str, axis, ndim: int) -> int:
    """``axis`` in [-ndim, ndim) as a non-negative axis."""
    if ndim == 0:
        raise ValueError(f"{op}: cannot concatenate 0-D arrays (they have no axis).")
    return (
        as_int(
            op, "axis", axis, lo=-ndim, hi=ndim - 1, what="an axis of the inputs", bounds=f" in [{-ndim}, {ndim - 1}]"
        )
        % ndim
    )


def _concat_shape(op: str, name: str, shapes: list[tuple[int, ...]], axis) -> tuple[int, tuple[int, ...]]:
    """(axis >= 0, the concatenation's shape) of arrays of ``shapes``, equal but on ``axis``."""
    first = shapes[0]
    ax = _axis(op, axis, len(first))
    for i, s in enumerate(shapes):
        if len(s) != len(first) or any(a != b for d, (a, b) in enumerate(zip(s, first)) if d != ax):
            parts = ["*" if d == ax else str(n) for d, n in enumerate(first)]
            want = f"({', '.join(parts)}{',' if len(parts) == 1 else ''})"
            raise ValueError(
                f"{op}: `{name}[{i}]` has shape {s}, expected {want} (the shape of {name}[0] "
                f"but on axis {ax}, the concatenation axis)."
            )
    total = sum(s[ax] for s in shapes)
    return ax, (*first[:ax], total, *first[ax + 1 :])


def concatenate(inputs: Sequence[Array], axis: int = -1, *, out: Array | None = None) -> Array:
    """``inputs`` joined along ``axis`` (np.concatenate; Keras's Concatenate layer).

    Shapes: ``inputs`` a list of at least 1 float32 array of one rank (>= 1), equal on every axis
    but ``axis`` (negative counts from the end); the result has the sum of their extents there.
    The kernels copy contiguous runs: each input is (outer, inner_k) floats, outer = the product
    of the extents before the axis, inner_k = its extent on the axis times those after.
    ``out`` must share no memory with an input.

    Raises:
        TypeError: ``inputs`` not a list, a non-array or non-float32 entry, arrays on different
            devices, a non-int ``axis``.
        ValueError: no inputs; 0-D inputs; ``axis`` out of range; shapes that differ off the axis
            (the message names the entry and both shapes); non-contiguous arrays; a bad ``out``.
        MemoryError: the result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    op = "concatenate"
    infos = _arrays(op, "inputs", inputs)
    named = _named("inputs", infos)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {**named, **({"out": oi} if oi else {})})
    for i, info in enumerate(infos):
        check_float32(op, f"inputs[{i}]", info)
    ax, shape = _concat_shape(op, "inputs", [tuple(i.shape) for i in infos], axis)
    if oi is not None:
        check_outs(op, {"out": oi}, {"out": shape}, named)
    result = out if out is not None else _device.empty(op, device, shape)
    _device.kernels(device).concatenate(list(inputs), result, ax, _device.launch_arg(device))
    return result


def _shape_of(op: str, i: int, entry) -> tuple[int, ...]:
    """An entry of concatenate_backward's ``inputs``: an array (its shape) or a shape."""
    if hasattr(entry, "shape"):
        return tuple(int(n) for n in entry.shape)
    if isinstance(entry, (tuple, list)):
        return tuple(as_int(op, f"inputs[{i}]", n, what="a shape of non-negative ints") for n in entry)
    raise TypeError(f"{op}: `inputs[{i}]` must be an array or a shape tuple, got {type(entry).__name__}.")


def concatenate_backward(dy: Array, inputs: Sequence, axis: int = -1, *, out=None) -> list:
    """The gradient of ``concatenate(inputs, axis)`` for each input: ``dy`` split along ``axis``.

    ``inputs``: the forward's inputs or their shapes (tuples), at least 1. Shapes: dy float32, the
    concatenation of arrays of those shapes along ``axis``. Returns a list of contiguous float32
    arrays, one per input, of its shape. ``out``: None or a list/tuple with one entry per input
    (an array or None), sharing memory with dy and with each other nowhere.

    Raises:
        TypeError: dy not a float32 array, ``inputs`` not a list of arrays or shapes, a non-int
            ``axis``, a malformed ``out``.
        ValueError: shapes that do not concatenate into dy's; ``axis`` out of range; a bad ``out``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    op = "concatenate_backward"
    gi = inspect(op, "dy", dy)
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise (TypeError if not isinstance(inputs, (list, tuple)) else ValueError)(
            f"{op}: `inputs` must be a non-empty list of arrays or shapes, got {inputs!r:.80}."
        )
    shapes = [_shape_of(op, i, e) for i, e in enumerate(inputs)]
    outs = inspect_outs(op, out, tuple(f"dx{i}" for i in range(len(shapes))))
    device = backend(op, {"dy": gi, **present(outs)})
    check_float32(op, "dy", gi)
    ax, shape = _concat_shape(op, "inputs", shapes, axis)
    if tuple(gi.shape) != shape:
        raise ValueError(
            f"{op}: `dy` has shape {tuple(gi.shape)}, expected {shape} (the inputs' shapes {shapes} "
            f"concatenated on axis {ax})."
        )
    check_outs(op, outs, dict(zip(outs, shapes)), {"dy": gi})
    given = list(out) if out is not None else [None] * len(shapes)
    dx = [g if g is not None else _device.empty(op, device, s) for g, s in zip(given, shapes)]
    _device.kernels(device).concatenate_backward(dy, dx, ax, _device.launch_arg(device))
    return dx
