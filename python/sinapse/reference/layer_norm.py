"""Reference layer and group normalization, forward and backward, in NumPy (float32 or
float64, computed in the inputs' precision).

Keras's definitions: keras.layers.LayerNormalization
(https://keras.io/api/layers/normalization_layers/layer_normalization/) and
keras.layers.GroupNormalization
(https://keras.io/api/layers/normalization_layers/group_normalization/):
``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` with the biased variance over the
normalised axes (Ba, Kiros & Hinton 2016; Wu & He 2018).
"""

from __future__ import annotations

import numpy as np


def _trailing(x, axis) -> int:
    axes = sorted(a % x.ndim for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    if axes != list(range(axes[0], x.ndim)):
        raise ValueError(f"reference.layer_norm: axis {axis} is not the trailing axes of a {x.ndim}-D x")
    return axes[0]


def _normalise(rows):
    """rows (R, n) -> (xhat, mean (R,), inv_std (R,) before epsilon is known: returns var)."""
    mean = rows.mean(axis=1)
    var = ((rows - mean[:, None]) ** 2).mean(axis=1)  # biased, as Keras
    return mean, var


def layer_norm(x, gamma=None, beta=None, *, axis=-1, epsilon=1e-3):
    """Returns (y, mean, inv_std): x (..., *F) normalised over its trailing axes ``axis``;
    gamma, beta F or None; mean, inv_std x.shape[:first normalised axis]."""
    first = _trailing(x, axis)
    rows = x.reshape(int(np.prod(x.shape[:first], dtype=np.int64)), -1)
    mean, var = _normalise(rows)
    inv_std = 1 / np.sqrt(var + epsilon)
    y = ((rows - mean[:, None]) * inv_std[:, None]).reshape(x.shape)
    y = y * (1 if gamma is None else gamma) + (0 if beta is None else beta)
    return y, mean.reshape(x.shape[:first]), inv_std.reshape(x.shape[:first])


def _row_backward(dy_rows, xhat, g_rows, inv_std):
    n = xhat.shape[1]
    mg = g_rows.sum(axis=1, keepdims=True) / n
    mgx = (g_rows * xhat).sum(axis=1, keepdims=True) / n
    return inv_std[:, None] * (g_rows - mg - xhat * mgx)


def layer_norm_backward(dy, x, gamma, mean, inv_std, *, axis=-1):
    """Returns (dx, dgamma, dbeta): dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)) per
    row, g = dy * gamma; dgamma = sum(dy * xhat), dbeta = sum(dy) over the rows (F each)."""
    first = _trailing(x, axis)
    r = int(np.prod(x.shape[:first], dtype=np.int64))
    m, s = mean.reshape(r, 1), inv_std.reshape(r)
    xhat = (x.reshape(r, -1) - m) * s[:, None]
    dyr = dy.reshape(r, -1)
    g = dyr * (1 if gamma is None else gamma.reshape(1, -1))
    dx = _row_backward(dyr, xhat, g, s).reshape(x.shape)
    param = x.shape[first:]
    return dx, (dyr * xhat).sum(axis=0).reshape(param), dyr.sum(axis=0).reshape(param)


def _group_rows(x, groups):
    """x (N, ..., C) -> (N * G, P * C / G): row (n, g) holds group g of sample n."""
    n, c = x.shape[0], x.shape[-1]
    return x.reshape(n, -1, groups, c // groups).transpose(0, 2, 1, 3).reshape(n * groups, -1)


def _ungroup(rows, shape, groups):
    n, c = shape[0], shape[-1]
    return rows.reshape(n, groups, -1, c // groups).transpose(0, 2, 1, 3).reshape(shape)


def group_norm(x, gamma=None, beta=None, *, groups=32, epsilon=1e-3):
    """Returns (y, mean, inv_std): x (N, ..., C) channels last, each sample's channel group
    normalised over its positions and C / groups channels; gamma, beta (C,) or None; mean,
    inv_std (N, groups)."""
    rows = _group_rows(x, groups)
    mean, var = _normalise(rows)
    inv_std = 1 / np.sqrt(var + epsilon)
    y = _ungroup((rows - mean[:, None]) * inv_std[:, None], x.shape, groups)
    y = y * (1 if gamma is None else gamma) + (0 if beta is None else beta)
    n = x.shape[0]
    return y, mean.reshape(n, groups), inv_std.reshape(n, groups)


def group_norm_backward(dy, x, gamma, mean, inv_std, *, groups=32):
    """Returns (dx, dgamma, dbeta) of group_norm: the layer-norm row formula per (sample,
    group) row; dgamma, dbeta (C,) summed over the samples and positions."""
    s = inv_std.reshape(-1)
    xhat_rows = (_group_rows(x, groups) - mean.reshape(-1, 1)) * s[:, None]
    g = dy * (1 if gamma is None else gamma)
    dx = _ungroup(_row_backward(None, xhat_rows, _group_rows(g, groups), s), x.shape, groups)
    xhat = _ungroup(xhat_rows, x.shape, groups)
    c = x.shape[-1]
    return dx, (dy * xhat).reshape(-1, c).sum(axis=0), dy.reshape(-1, c).sum(axis=0)
