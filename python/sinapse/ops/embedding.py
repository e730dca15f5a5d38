"""sinapse.ops.embedding / embedding_backward: row lookup in a (vocab_size, dim) table and
its gradient, a deterministic scatter-add (Keras's Embedding layer; ids of any shape).

    y = embedding(ids, table)              # y[..., :] = table[ids[...], :], shape ids.shape + (dim,)
    dtable = embedding_backward(ids, dy, vocab_size)
                                           # dtable[v] = sum of dy[i] over i with ids[i] == v, in order

The backward adds the rows of each id in the order of the ids on every backend (no
floating-point atomics), so it gives the same bits run after run.
"""

from __future__ import annotations

import numpy as np

from . import _device
from ._checks import MAX_EXTENT, ArrayInfo, as_int, backend, check_elements, check_float32, check_out, inspect


def _check_ids(op: str, info: ArrayInfo, vocab: int) -> None:
    """int32/int64, C-contiguous, every value in [0, vocab): IndexError naming the op otherwise."""
    if info.dtype not in (np.int32, np.int64):
        raise TypeError(
            f"{op}: `ids` must be int32 or int64, got {info.describe()}. Convert them once: ids.astype(np.int32)."
        )
    if not info.c_contiguous:
        raise ValueError(f"{op}: `ids` must be C-contiguous, got {info.describe()}. Use np.ascontiguousarray(ids).")
    if info.obj.size == 0:
        return
    lo, hi = int(info.obj.min()), int(info.obj.max())  # one reduction each (a sync on CUDA)
    if lo < 0 or hi >= vocab:
        raise IndexError(f"{op}: `ids` must lie in [0, {vocab}) (the vocabulary size), got values from {lo} to {hi}.")


def embedding(ids, table, *, out=None):
    """Rows of ``table`` (vocab_size, dim) picked by ``ids``: shape ``ids.shape + (dim,)``.

    ids: int32/int64, any shape, values in [0, vocab_size) (IndexError otherwise).
    Aliasing: ``out`` must share no memory with ``ids`` or ``table`` (ValueError).
    """
    op = "embedding"
    ii, ti = inspect(op, "ids", ids), inspect(op, "table", table)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"ids": ii, "table": ti, **({"out": oi} if oi else {})})
    check_float32(op, "table", ti, ndim=2)
    vocab, dim = ti.shape
    _check_ids(op, ii, vocab)
    shape = tuple(ii.shape) + (dim,)
    if oi is None:
        out = _device.empty(op, device, shape)
        oi = inspect(op, "out", out)
    else:
        check_out(op, oi, shape, {"ids": ii, "table": ti})
    with _device.kernel_arrays(device, {"ids": ids, "table": table, "out": out}, written=("out",)) as arr:
        _device.kernels(device).embedding_forward(
            arr["ids"], arr["table"], arr["out"], **_device.launch_options(device)
        )
    return out


def embedding_backward(ids, dy, vocab_size, *, out=None):
    """Gradient of ``embedding`` w.r.t. the table: (vocab_size, dim), rows of unused ids zero.

    vocab_size: a positive int (TypeError for non-ints; ValueError when vocab_size * dim
    exceeds _checks.MAX_ELEMENTS). Aliasing: ``out`` must share no memory with ``ids`` or ``dy``.
    """
    op = "embedding_backward"
    vocab = as_int(op, "vocab_size", vocab_size, lo=1, hi=MAX_EXTENT, what="a positive int")
    ii, di = inspect(op, "ids", ids), inspect(op, "dy", dy)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"ids": ii, "dy": di, **({"out": oi} if oi else {})})
    check_float32(op, "dy", di)
    if len(di.shape) != len(ii.shape) + 1 or tuple(di.shape[:-1]) != tuple(ii.shape):
        raise ValueError(
            f"{op}: `dy` must have shape ids.shape + (dim,) = {tuple(ii.shape)} + (dim,), got {di.describe()}."
        )
    _check_ids(op, ii, vocab)
    dim = di.shape[-1]
    check_elements(op, "vocab_size", (vocab, dim), "a gradient table")
    if oi is None:
        out = _device.empty(op, device, (vocab, dim))
        oi = inspect(op, "out", out)
    else:
        check_out(op, oi, (vocab, dim), {"ids": ii, "dy": di})
    with _device.kernel_arrays(device, {"ids": ids, "dy": dy, "out": out}, written=("out",)) as arr:
        _device.kernels(device).embedding_backward(arr["ids"], arr["dy"], arr["out"], **_device.launch_options(device))
    return out
