"""Reference merges of several arrays (Keras's Add, Subtract, Multiply, Average, Maximum,
Minimum; keras/src/layers/merging/*.py) and concatenation, forward and backward.

Every function keeps its inputs' dtype (float32 or float64). The maximum/minimum gradient goes
to the FIRST input that attains the result (a NaN input wins over numbers: the result is NaN,
np.maximum's rule), 0 to the others (TensorFlow's rule for a left fold; PyTorch and JAX split a tie evenly).
"""

from typing import Any

import numpy as np

MODES = ("add", "subtract", "multiply", "average", "maximum", "minimum")


def _full(masks, shape):
    """Each mask broadcast over the trailing axes of ``shape`` (None stays None)."""
    out: list = []
    for m in masks:
        if m is None:
            out.append(None)
        else:
            m = np.asarray(m, bool)
            out.append(np.broadcast_to(m.reshape(m.shape + (1,) * (len(shape) - m.ndim)), shape))
    return out


def _masked_merge(xs, mode, masks):
    """Keras 3's masked merges, as its code does them: Maximum / Minimum in
    base_merge._apply_merge_op_and_or_mask, Multiply in multiply._merge_function."""
    ms = _full(masks, xs[0].shape)
    if mode == "multiply":
        every = all(m is not None for m in ms)
        out: Any = None
        out_mask: Any = None
        for x, m in zip(xs, ms):
            if m is not None:
                x = np.where(m, x, np.ones_like(x))
                if every:
                    out_mask = m if out_mask is None else out_mask | m
            out = x if out is None else out * x
        return np.where(out_mask, out, np.zeros_like(out)) if every else out
    fold = np.maximum if mode == "maximum" else np.minimum
    out, out_mask = xs[0], ms[0]
    for x, m in zip(xs[1:], ms[1:]):
        if m is not None:
            x = np.where(m, x, out)
        if out_mask is not None:
            out = np.where(out_mask, out, x)
        out_mask = out_mask | m if (m is not None and out_mask is not None) else None
        out = fold(out, x)
    return out


def merge(inputs, mode, masks=None):
    """The inputs (same shape) folded left to right by ``mode``; average is the sum / n. ``masks``
    (multiply, maximum, minimum): one entry per input, None or a mask of a leading part of the
    shape, with Keras's masked semantics (``_masked_merge``)."""
    xs = [np.asarray(x) for x in inputs]
    if mode not in MODES:
        raise ValueError(f"merge: unknown mode {mode!r}")
    if masks is not None and any(m is not None for m in masks):
        return _masked_merge(xs, mode, masks)
    if mode == "subtract":
        return xs[0] - xs[1]
    fold = {"add": np.add, "average": np.add, "multiply": np.multiply, "maximum": np.maximum, "minimum": np.minimum}
    out = xs[0].copy()
    for x in xs[1:]:
        out = fold[mode](out, x)
    return out / len(xs) if mode == "average" else out


def _winners(xs, mode, valid=None):
    """Index of the first input attaining the max/min at every element (first NaN if any), among
    the ``valid`` ones (None: all); 0 where none is valid."""
    stack = np.stack(xs)
    ok = np.ones(stack.shape, bool) if valid is None else np.stack(valid)
    nan = np.isnan(stack) & ok
    # max/min of each element ignoring NaN: where an input is NaN the result is NaN (np.maximum)
    # and the gradient's input is the first NaN one.
    fill = -np.inf if mode == "maximum" else np.inf
    considered = np.where(ok, stack, fill)
    with np.errstate(invalid="ignore"):
        ext = np.nanmax(considered, axis=0) if mode == "maximum" else np.nanmin(considered, axis=0)
    hit = np.where(nan.any(axis=0), nan, (stack == ext) & ok)
    win = np.argmax(hit, axis=0)
    return np.where(hit.any(axis=0), win, 0)


def merge_backward(dy, inputs, mode, masks=None):
    """dL/dinputs[k] of ``merge(inputs, mode, masks)``, one array per input. With masks: a masked
    input gets 0; the others the gradient of the merge of the inputs taking part at each element
    (maximum / minimum: inputs[0] where none does; multiply: 0 there, its result is 0)."""
    dy = np.asarray(dy)
    xs = [np.asarray(x) for x in inputs]
    n = len(xs)
    masked = masks is not None and any(m is not None for m in masks)
    if mode in ("add", "subtract", "average"):
        if mode == "average":
            return [dy / n for _ in xs]
        return [dy, -dy] if mode == "subtract" else [dy.copy() for _ in xs]
    valid: list = [np.ones(dy.shape, bool) if m is None else m for m in _full(masks, dy.shape)] if masked else []
    if mode == "multiply":
        out = []
        for k in range(n):
            g = dy.copy()
            for j, x in enumerate(xs):
                if j != k:
                    g = g * (np.where(valid[j], x, np.ones_like(x)) if masked else x)
            out.append(np.where(valid[k], g, np.zeros_like(g)) if masked else g)
        return out
    with np.errstate(invalid="ignore"):
        win = _winners(xs, mode, valid or None)
    return [np.where(win == k, dy, np.zeros_like(dy)) for k in range(n)]


def concatenate(inputs, axis=-1):
    """np.concatenate along ``axis``."""
    return np.concatenate([np.asarray(x) for x in inputs], axis=axis)


def concatenate_backward(dy, shapes, axis=-1):
    """dy split along ``axis`` into pieces of the inputs' ``shapes`` (or arrays: their shapes)."""
    dy = np.asarray(dy)
    shapes = [tuple(np.shape(s)) if hasattr(s, "shape") else tuple(s) for s in shapes]
    ax = axis % dy.ndim
    cuts = np.cumsum([s[ax] for s in shapes])[:-1]
    return [np.ascontiguousarray(p) for p in np.split(dy, cuts, axis=ax)]
