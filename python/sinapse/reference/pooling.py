"""Reference 2-D pooling over NHWC images: explicit loops over windows, clear rather than fast.

Uses the same window rules as the ops (sinapse.ops.pooling.geometry computes them): padding
never wins a max, averages divide by the window's real pixels, ties go to the first pixel
in row-major window order (np.argmax's rule).
"""

from __future__ import annotations

import numpy as np


def _windows(g):
    n, h, w, c, kh, kw, sh, sw, top, left, oh, ow = g
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * sh - top, j * sw - left
            yield i, j, slice(max(h0, 0), min(h0 + kh, h)), slice(max(w0, 0), min(w0 + kw, w))


def max_pool2d(x, g):
    y = np.empty((g[0], g[10], g[11], g[3]), x.dtype)
    for i, j, rows, cols in _windows(g):
        y[:, i, j, :] = x[:, rows, cols, :].max(axis=(1, 2))
    return y


def avg_pool2d(x, g):
    y = np.empty((g[0], g[10], g[11], g[3]), x.dtype)
    for i, j, rows, cols in _windows(g):
        y[:, i, j, :] = x[:, rows, cols, :].mean(axis=(1, 2))
    return y


def max_pool2d_backward(dy, x, g):
    dx = np.zeros_like(x)
    n, c = g[0], g[3]
    for i, j, rows, cols in _windows(g):
        win = x[:, rows, cols, :]
        flat = win.reshape(n, -1, c)
        first = flat.argmax(axis=1)  # (n, c): index of the first maximum, row-major
        hh, ww = np.unravel_index(first, win.shape[1:3])
        for b in range(n):
            for ch in range(c):
                dx[b, rows.start + hh[b, ch], cols.start + ww[b, ch], ch] += dy[b, i, j, ch]
    return dx


def avg_pool2d_backward(dy, x, g):
    dx = np.zeros_like(x)
    for i, j, rows, cols in _windows(g):
        count = (rows.stop - rows.start) * (cols.stop - cols.start)
        dx[:, rows, cols, :] += dy[:, i : i + 1, j : j + 1, :] / count
    return dx
