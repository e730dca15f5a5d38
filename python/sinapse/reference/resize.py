"""Reference image resize and crop over NHWC images, clear rather than fast.

The resize is written as jax.image.resize computes it (Keras 3's keras.ops.image.resize with
the JAX backend and antialias=False, jax/_src/image/scale.py): per spatial axis a dense
(out, in) weight matrix, applied to the image one axis after the other.

- bilinear: ``compute_weight_mat`` with the triangle kernel: the sample position of output o is
  ``(o + 0.5) * in / out - 0.5``, each input pixel i weighs ``max(0, 1 - |sample - i|)``,
  and each row is divided by its sum (so a sample past the first or last pixel reads that
  pixel alone).
- nearest: ``_resize_nearest``: output o reads pixel ``floor((o + 0.5) * in / out)``.

The backward applies the transposed matrices. crop is a slice; its backward writes dy into
an array of ``fill_value`` (0: the gradient; another value: padding).
"""

from __future__ import annotations

import numpy as np

INTERPOLATIONS = ("nearest", "bilinear")


def weight_matrix(in_size: int, out_size: int, interpolation: str) -> np.ndarray:
    """The (out_size, in_size) float64 matrix of one axis' resize."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"reference.resize: `interpolation` must be one of {INTERPOLATIONS}, got {interpolation!r}")
    o = np.arange(out_size, dtype=np.float64)
    m = np.zeros((out_size, in_size))
    if interpolation == "nearest":
        src = np.floor((o + 0.5) * in_size / out_size).astype(np.int64)
        m[np.arange(out_size), np.minimum(src, in_size - 1)] = 1.0
        return m
    sample = (o + 0.5) * in_size / out_size - 0.5
    m = np.maximum(0.0, 1.0 - np.abs(sample[:, None] - np.arange(in_size)[None, :]))
    return m / m.sum(axis=1, keepdims=True)


def resize(x, size, interpolation="bilinear"):
    """x (N, H, W, C) -> (N, size[0], size[1], C)."""
    x = np.asarray(x)
    _, h, w, _ = x.shape
    my = weight_matrix(h, size[0], interpolation).astype(x.dtype)
    mx = weight_matrix(w, size[1], interpolation).astype(x.dtype)
    return np.einsum("oh,nhwc->nowc", my, np.einsum("pw,nhwc->nhpc", mx, x))


def resize_backward(dy, input_size, interpolation="bilinear"):
    """dy (N, OH, OW, C) -> dx (N, input_size[0], input_size[1], C)."""
    dy = np.asarray(dy)
    _, oh, ow, _ = dy.shape
    my = weight_matrix(input_size[0], oh, interpolation).astype(dy.dtype)
    mx = weight_matrix(input_size[1], ow, interpolation).astype(dy.dtype)
    return np.einsum("oh,nowc->nhwc", my, np.einsum("pw,nopc->nowc", mx, dy))


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
