"""Reference merges of several arrays (Keras's Add, Subtract, Multiply, Average, Maximum,
Minimum; keras/src/layers/merging/*.py) and concatenation, forward and backward.

Every function keeps its inputs' dtype (float32 or float64). The maximum/minimum gradient goes
to the FIRST input that attains the result (a NaN input wins over numbers: the result is NaN,
np.maximum's rule), 0 to the others (TensorFlow's rule for a left fold; PyTorch and JAX split a tie evenly).
"""

import numpy as np

MODES = ("add", "subtract", "multiply", "average", "maximum", "minimum")


def merge(inputs, mode):
    """The inputs (same shape) folded left to right by ``mode``; average is the sum / n."""
    xs = [np.asarray(x) for x in inputs]
    if mode not in MODES:
        raise ValueError(f"merge: unknown mode {mode!r}")
    if mode == "subtract":
        return xs[0] - xs[1]
    fold = {"add": np.add, "average": np.add, "multiply": np.multiply, "maximum": np.maximum, "minimum": np.minimum}
    out = xs[0].copy()
    for x in xs[1:]:
        out = fold[mode](out, x)
    return out / len(xs) if mode == "average" else out


def _winners(xs, mode):
    """Index of the first input attaining the max/min at every element (first NaN if any)."""
    stack = np.stack(xs)
    nan = np.isnan(stack)
    # max/min of each element ignoring NaN: where an input is NaN the result is NaN (np.maximum)
    # and the gradient's input is the first NaN one.
    with np.errstate(invalid="ignore"):
        ext = np.nanmax(stack, axis=0) if mode == "maximum" else np.nanmin(stack, axis=0)
    hit = np.where(nan.any(axis=0), nan, stack == ext)
    return np.argmax(hit, axis=0)


def merge_backward(dy, inputs, mode):
    """dL/dinputs[k] of ``merge(inputs, mode)``, one array per input."""
    dy = np.asarray(dy)
    xs = [np.asarray(x) for x in inputs]
    n = len(xs)
    if mode in ("add", "subtract", "average"):
        if mode == "average":
            return [dy / n for _ in xs]
        return [dy, -dy] if mode == "subtract" else [dy.copy() for _ in xs]
    if mode == "multiply":
        out = []
        for k in range(n):
            g = dy.copy()
            for j, x in enumerate(xs):
                if j != k:
                    g = g * x
            out.append(g)
        return out
    with np.errstate(invalid="ignore"):
        win = _winners(xs, mode)
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
