"""Reference 2-D pooling over NHWC images: explicit loops over windows, clear rather than fast.

Takes the op's own arguments (``pool_size``, ``strides`` defaulting to the pool size,
``padding`` "valid" or "same") and computes the windows itself by Keras's rule
(reference/_geometry.py; keras.layers.MaxPooling2D / AveragePooling2D,
https://keras.io/api/layers/pooling_layers/max_pooling2d/: output
``floor((in - pool) / strides) + 1`` for "valid", ``floor((in - 1) / strides) + 1`` for
"same"). Padding never wins a max, averages divide by the window's real pixels (TF's
``avg_pool``, which Keras calls), ties go to the first pixel in row-major window order
(np.argmax's rule).
"""

from __future__ import annotations

import numpy as np

from ._geometry import axes


def _windows(fn, x, pool_size, strides, padding):
    """(i, j, rows, cols) of every output pixel: the slices of x its window covers."""
    if np.ndim(x) != 4:
        raise ValueError(f"reference.{fn}: `x` must be 4-D (N, H, W, C), got shape {np.shape(x)}")
    rows, cols = axes(fn, np.shape(x)[1:3], pool_size, pool_size if strides is None else strides, padding)
    for i in range(rows.out):
        for j in range(cols.out):
            h0, w0 = i * rows.stride - rows.before, j * cols.stride - cols.before
            yield (
                i,
                j,
                slice(max(h0, 0), min(h0 + rows.kernel, rows.size)),
                slice(max(w0, 0), min(w0 + cols.kernel, cols.size)),
            )


def _out_shape(fn, x, pool_size, strides, padding):
    rows, cols = axes(fn, np.shape(x)[1:3], pool_size, pool_size if strides is None else strides, padding)
    return (np.shape(x)[0], rows.out, cols.out, np.shape(x)[3])


def _pool(fn, reduce, x, pool_size, strides, padding):
    x = np.asarray(x)
    y = np.empty(_out_shape(fn, x, pool_size, strides, padding), x.dtype)
    for i, j, rows, cols in _windows(fn, x, pool_size, strides, padding):
        y[:, i, j, :] = reduce(x[:, rows, cols, :], axis=(1, 2))
    return y


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Max over each window of x (N, H, W, C): (N, OH, OW, C), x's dtype."""
    return _pool("max_pool2d", np.max, x, pool_size, strides, padding)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Mean over each window's real pixels of x (N, H, W, C): (N, OH, OW, C), x's dtype."""
    return _pool("avg_pool2d", np.mean, x, pool_size, strides, padding)


def max_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid"):
    """dx (x's shape): each window's dy added to its first maximum (row-major)."""
    x, dy = np.asarray(x), np.asarray(dy)
    dx = np.zeros_like(x)
    n, c = x.shape[0], x.shape[3]
    for i, j, rows, cols in _windows("max_pool2d_backward", x, pool_size, strides, padding):
        win = x[:, rows, cols, :]
        first = win.reshape(n, -1, c).argmax(axis=1)  # (n, c): index of the first maximum, row-major
        hh, ww = np.unravel_index(first, win.shape[1:3])
        for b in range(n):
            for ch in range(c):
                dx[b, rows.start + hh[b, ch], cols.start + ww[b, ch], ch] += dy[b, i, j, ch]
    return dx


def avg_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid"):
    """dx (x's shape; x gives only the shape): each window's dy / count spread over its pixels."""
    x, dy = np.asarray(x), np.asarray(dy)
    dx = np.zeros(x.shape, np.result_type(x, dy))
    for i, j, rows, cols in _windows("avg_pool2d_backward", x, pool_size, strides, padding):
        count = (rows.stop - rows.start) * (cols.stop - cols.start)
        dx[:, rows, cols, :] += dy[:, i : i + 1, j : j + 1, :] / count
    return dx
