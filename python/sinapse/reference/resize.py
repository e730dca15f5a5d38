"""Reference image resize and crop over NHWC images, clear rather than fast.

The resize is written as jax.image.resize computes it (Keras 3's keras.ops.image.resize with
the JAX backend and antialias=False, jax/_src/image/scale.py): per spatial axis a dense
(out, in) weight matrix, applied to the image one axis after the other.

- bilinear: ``compute_weight_mat`` with the triangle kernel: the sample position of output o is
  ``(o + 0.5) * in / out - 0.5``, each input pixel i weighs ``max(0, 1 - |sample - i|)``,
  and each row is divided by its sum (so a sample past the first or last pixel reads that
  pixel alone).
- nearest: ``_resize_nearest``: output o reads pixel ``floor((o + 0.5) * in / out)``.

Only the entries of nonzero weight are summed, so a NaN or Inf reaches exactly the outputs
that weigh it (docs/reliability.md, "NaN and Inf"; the kernels read only those pixels). The
backward applies the transposed matrices. crop is a slice; its backward writes dy into
an array of ``fill_value`` (0: the gradient; another value: padding).
"""

from __future__ import annotations

import numpy as np

INTERPOLATIONS = ("nearest", "bilinear")


def weight_matrix(in_size: int, out_size: int, interpolation: str) -> np.ndarray:
    """The (out_size, in_size) float64 matrix of one axis' resize."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"reference.resize: `interpolation` must be one of {INTERPOLATIONS}, got {interpolation!r}")
    o = np.arange(out_size, dtype=np.int64)
    m = np.zeros((out_size, in_size))
    if interpolation == "nearest":
        src = ((2 * o + 1) * in_size) // (2 * out_size)  # floor((o + 0.5) * in / out)
        m[np.arange(out_size), np.minimum(src, in_size - 1)] = 1.0
        return m
    sample = ((2 * o + 1) * in_size) / (2 * out_size) - 0.5  # (o + 0.5) * in / out - 0.5
    m = np.maximum(0.0, 1.0 - np.abs(sample[:, None] - np.arange(in_size)[None, :]))
    return m / m.sum(axis=1, keepdims=True)


def _apply(m, a, axis):
    """``m`` (out, in) applied along ``axis`` of ``a``, summing only the entries of nonzero weight
    (in increasing input order): a NaN or Inf reaches exactly the outputs that weigh it. (A
    dense product, jax's, would spread it along the whole axis, as 0 * NaN = NaN.)"""
    res = np.zeros(a.shape[:axis] + (m.shape[0],) + a.shape[axis + 1 :], dtype=a.dtype)
    src, dst = np.moveaxis(a, axis, 0), np.moveaxis(res, axis, 0)  # views: dst writes into res
    for o in range(m.shape[0]):
        for i in np.flatnonzero(m[o]):
            dst[o] += m[o, i].astype(a.dtype) * src[i]
    return res


def resize(x, size, interpolation="bilinear"):
    """x (N, H, W, C) -> (N, size[0], size[1], C)."""
    x = np.asarray(x)
    _, h, w, _ = x.shape
    rows = _apply(weight_matrix(w, size[1], interpolation), x, 2)
    return _apply(weight_matrix(h, size[0], interpolation), rows, 1)


def resize_backward(dy, input_size, interpolation="bilinear"):
    """dy (N, OH, OW, C) -> dx (N, input_size[0], input_size[1], C): the transposed matrices."""
    dy = np.asarray(dy)
    _, oh, ow, _ = dy.shape
    cols = _apply(weight_matrix(input_size[1], ow, interpolation).T, dy, 2)
    return _apply(weight_matrix(input_size[0], oh, interpolation).T, cols, 1)


def crop(x, top, left, height, width):
    """x[:, top:top + height, left:left + width, :] (a copy)."""
    return np.array(np.asarray(x)[:, top : top + height, left : left + width, :])


def crop_backward(dy, input_size, top, left, fill_value=0.0):
    """dy (N, h, w, C) placed at (top, left) in an (N, *input_size, C) array of fill_value."""
    dy = np.asarray(dy)
    n, h, w, c = dy.shape
    dx = np.full((n, input_size[0], input_size[1], c), fill_value, dtype=dy.dtype)
    dx[:, top : top + h, left : left + w, :] = dy
    return dx
