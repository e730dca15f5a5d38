"""Reference losses in NumPy, vectorised, by Keras's definitions (see sinapse.ops.losses)."""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def _per_sample(name, y_true, y_pred, from_logits, delta):
    if name in ("mse", "mean_squared_error"):
        return ((y_pred - y_true) ** 2).mean(axis=-1)
    if name in ("mae", "mean_absolute_error"):
        return np.abs(y_pred - y_true).mean(axis=-1)
    if name == "huber":
        d = np.abs(y_pred - y_true)
        return np.where(d <= delta, 0.5 * d**2, delta * (d - 0.5 * delta)).mean(axis=-1)
    if name == "binary_crossentropy":
        if from_logits:
            p = 1 / (1 + np.exp(-y_pred))
            return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean(axis=-1)
        p = np.clip(y_pred, EPS, 1 - EPS)
        return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean(axis=-1)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        if name.startswith("sparse"):
            y_true = np.eye(y_pred.shape[-1], dtype=y_pred.dtype)[y_true]
        if from_logits:
            z = y_pred - y_pred.max(axis=-1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        else:
            log_p = np.log(np.clip(y_pred / y_pred.sum(axis=-1, keepdims=True), EPS, 1 - EPS))
        return -(y_true * log_p).sum(axis=-1)
    raise ValueError(f"unknown loss {name!r}")


def loss(name, y_true, y_pred, *, from_logits=False, reduction="mean", sample_weight=None, delta=1.0):
    """The reduced loss (float)."""
    per = _per_sample(name, np.asarray(y_true), np.asarray(y_pred), from_logits, delta)
    if sample_weight is not None:
        per = per * np.asarray(sample_weight)
    total = per.sum()
    return float(total / per.size if reduction == "mean" else total)
