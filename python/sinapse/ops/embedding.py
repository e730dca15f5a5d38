"""sinapse.ops.embedding / embedding_backward: row lookup in a (vocab_size, dim) table and
its gradient, a deterministic scatter-add (Keras's Embedding layer; ids of any shape).

    y = embedding(ids, table)              # y[..., :] = table[ids[...], :], shape ids.shape + (dim,)
    dtable = embedding_backward(dy, ids, vocab_size)
                                           # dtable[v] = sum of dy[i] over i with ids[i] == v, in order

The backward adds the rows of each id in the order of the ids on every backend (no
floating-point atomics), so it gives the same bits run after run.
"""

from __future__ import annotations

import numpy as np

from . import _device
from ._checks import MAX_EXTENT, Array, ArrayInfo, as_int, backend, check_elements, check_float32, check_out, inspect
from ._plan import descriptor, preparable


def _check_ids(op: str, info: ArrayInfo) -> None:
    """int32/int64 and C-contiguous (their values: _check_id_values, at every launch)."""
    if info.dtype not in (np.int32, np.int64):
        raise TypeError(
            f"{op}: `ids` must be int32 or int64, got {info.describe()}. Convert them once: ids.astype(np.int32)."
        )
    if not info.c_contiguous:
        raise ValueError(f"{op}: `ids` must be C-contiguous, got {info.describe()}. Use np.ascontiguousarray(ids).")


def _check_id_values(op: str, ids, vocab: int) -> None:
    """Every id in [0, vocab): IndexError naming the op otherwise. Data, not shape: a plan's
    launch checks it at every call too."""
    if ids.size == 0:
        return
    lo, hi = int(ids.min()), int(ids.max())  # one reduction each (a sync on CUDA)
    if lo < 0 or hi >= vocab:
        raise IndexError(f"{op}: `ids` must lie in [0, {vocab}) (the vocabulary size), got values from {lo} to {hi}.")


def _describe(ids, table, *, out=None):
    """embedding's descriptor step (sinapse.ops._plan)."""
    op = "embedding"
    ii, ti = inspect(op, "ids", ids), inspect(op, "table", table)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"ids": ii, "table": ti, **({"out": oi} if oi else {})})
    check_float32(op, "table", ti, ndim=2)
    vocab, dim = ti.shape
    _check_ids(op, ii)
    _check_id_values(op, ids, vocab)
    shape = tuple(ii.shape) + (dim,)
    if oi is not None:
        check_out(op, oi, shape, {"ids": ii, "table": ti})
    return descriptor(op, device, {"ids": ii, "table": ti}, vocab, outputs={"out": shape})


def _launch(desc, ids, table, out, checked=False):
    if not checked:
        _check_id_values(desc.op, ids, desc.params)
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).embedding_forward(ids, table, out, _device.launch_arg(device))
    return out


@preparable(_describe, _launch)
def embedding(ids: Array, table: Array, *, out: Array | None = None) -> Array:
    """Rows of ``table`` (vocab_size, dim) picked by ``ids``: shape ``ids.shape + (dim,)``.

    ids: int32/int64, any shape, values in [0, vocab_size) (IndexError otherwise).
    Aliasing: ``out`` must share no memory with ``ids`` or ``table`` (ValueError).

    table: float32 (vocab_size, dim); the result float32 ids.shape + (dim,).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; ids not
            int32/int64.
        ValueError: table not 2-D; non-contiguous arrays; a bad ``out`` (shape, read-only, non-contiguous,
            forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
        IndexError: an id outside [0, vocab_size).
    """
    return _launch(_describe(ids, table, out=out), ids, table, out, checked=True)


def _describe_backward(dy, ids, vocab_size, *, out=None):
    """embedding_backward's descriptor step (sinapse.ops._plan)."""
    op = "embedding_backward"
    vocab = as_int(op, "vocab_size", vocab_size, lo=1, hi=MAX_EXTENT, what="a positive int")
    di, ii = inspect(op, "dy", dy), inspect(op, "ids", ids)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"dy": di, "ids": ii, **({"out": oi} if oi else {})})
    check_float32(op, "dy", di)
    if len(di.shape) != len(ii.shape) + 1 or tuple(di.shape[:-1]) != tuple(ii.shape):
        raise ValueError(
            f"{op}: `dy` must have shape ids.shape + (dim,) = {tuple(ii.shape)} + (dim,), got {di.describe()}."
        )
    _check_ids(op, ii)
    _check_id_values(op, ids, vocab)
    dim = di.shape[-1]
    check_elements(op, "vocab_size", (vocab, dim), "a gradient table")
    if oi is not None:
        check_out(op, oi, (vocab, dim), {"dy": di, "ids": ii})
    return descriptor(op, device, {"dy": di, "ids": ii}, vocab, outputs={"out": (vocab, dim)})


def _launch_backward(desc, dy, ids, out, checked=False):
    if not checked:
        _check_id_values(desc.op, ids, desc.params)
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).embedding_backward(ids, dy, out, _device.launch_arg(device))
    return out


@preparable(_describe_backward, _launch_backward)
def embedding_backward(dy: Array, ids: Array, vocab_size: int, *, out: Array | None = None) -> Array:
    """Gradient of ``embedding`` w.r.t. the table: (vocab_size, dim), rows of unused ids zero.

    vocab_size: a positive int (TypeError for non-ints; ValueError when vocab_size * dim
    exceeds _checks.MAX_ELEMENTS). Aliasing: ``out`` must share no memory with ``ids`` or ``dy``.

    Shapes: dy float32 ids.shape + (dim,); ids int32/int64; the result float32 (vocab_size, dim).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; ids not
            int32/int64; a non-int vocab_size.
        ValueError: dy not ids.shape + (dim,); vocab_size < 1 or too large; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
        IndexError: an id outside [0, vocab_size).
    """
    return _launch_backward(_describe_backward(dy, ids, vocab_size, out=out), dy, ids, out, checked=True)
