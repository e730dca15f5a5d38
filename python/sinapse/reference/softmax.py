"""Reference softmax / log_softmax along the last axis, and their gradients through the
explicit Jacobian (diag(p) - p p^T), not the kernels' shortcut formulas."""

from __future__ import annotations

import numpy as np


def softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _jacobian_vector(p, dy):
    """dx[..., i] = sum_j J[j, i] dy[j] with J = d softmax_j / d x_i = p_j (delta_ji - p_i)."""
    jac = np.einsum("...j,ji->...ji", p, np.eye(p.shape[-1], dtype=p.dtype)) - np.einsum("...j,...i->...ji", p, p)
    return np.einsum("...ji,...j->...i", jac, dy)


def softmax_backward(dy, y):
    """Gradient of softmax given its output ``y``.

    Rows where y and dy are finite go through the explicit Jacobian; a row holding NaN or
    +-inf follows the definition y * (dy - sum(y * dy)) (PyTorch's formula, the kernels'):
    an inf dy_k gives inf - inf = NaN at k, not the Jacobian's +inf."""
    with np.errstate(invalid="ignore", over="ignore"):
        formula = y * (dy - (y * dy).sum(axis=-1, keepdims=True))
        finite = np.isfinite(dy).all(axis=-1, keepdims=True) & np.isfinite(y).all(axis=-1, keepdims=True)
        return np.where(finite, _jacobian_vector(np.where(finite, y, 0), np.where(finite, dy, 0)), formula)


def log_softmax_backward(dy, y):
    """Gradient of log_softmax given its output ``y`` (= log p): J = delta_ji - p_i."""
    p = np.exp(y)
    return dy - p * dy.sum(axis=-1, keepdims=True)
