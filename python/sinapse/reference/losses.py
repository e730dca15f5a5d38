"""Reference losses in NumPy, vectorised, by Keras's definitions (see sinapse.ops.losses).

NaN and Inf: a NaN prediction, target or weight makes its row's loss (so the reduced loss)
NaN; Keras's clipping of probabilities to [eps, 1 - eps] keeps log finite (clip keeps NaN);
binary cross-entropy from logits at z = +-inf is its limit, not inf - inf."""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def _vanish(x, s):
    """x * s, but 0 where s == 0 and x is not NaN (csrc/common/nan_rules.h, times_vanishing)."""
    return np.where((s == 0) & ~np.isnan(x), np.zeros_like(x * s), x * s)


def _per_sample(name, y_true, y_pred, from_logits, delta):
    if name in ("mse", "mean_squared_error"):
        return ((y_pred - y_true) ** 2).mean(axis=-1)
    if name in ("mae", "mean_absolute_error"):
        return np.abs(y_pred - y_true).mean(axis=-1)
    if name == "huber":
        d = np.abs(y_pred - y_true)
        return np.where(d <= delta, 0.5 * d**2, delta * (d - 0.5 * delta)).mean(axis=-1)
    if name == "binary_crossentropy":
        if from_logits:  # z (1 - y) or -z y, + log(1 + e^-|z|): the limit at z = +-inf, never inf - inf
            z = y_pred
            lin = np.where(z > 0, _vanish(z, 1 - y_true), _vanish(-z, y_true))
            return (lin + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)
        p = np.clip(y_pred, EPS, 1 - EPS)
        return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean(axis=-1)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        if from_logits:
            z = y_pred - y_pred.max(axis=-1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        else:
            log_p = np.log(np.clip(y_pred / y_pred.sum(axis=-1, keepdims=True), EPS, 1 - EPS))
        if name.startswith("sparse"):  # the label's term only: other classes' -inf log p do not enter
            return -np.take_along_axis(log_p, y_true[..., None].astype(np.intp), axis=-1)[..., 0]
        return -(y_true * log_p).sum(axis=-1)
    raise ValueError(f"unknown loss {name!r}")


def loss(y_true, y_pred, name, *, from_logits=False, reduction="mean", sample_weight=None, delta=1.0):
    """The reduced loss (float)."""
    per = _per_sample(name, np.asarray(y_true), np.asarray(y_pred), from_logits, delta)
    if sample_weight is not None:
        per = per * np.asarray(sample_weight)
    total = per.sum()
    return float(total / per.size if reduction == "mean" else total)


def _inside(p):
    """Where Keras's clip to [eps, 1 - eps] passes the gradient (NaN included: not hidden)."""
    return ~((p < EPS) | (p > 1 - EPS))


def _grad_per_element(name, y_true, y_pred, from_logits, delta):
    """d(per-sample loss) / d y_pred, for one sample per row (before weights and reduction)."""
    cols = y_pred.shape[-1]
    if name in ("mse", "mean_squared_error"):
        return 2 * (y_pred - y_true) / cols
    if name in ("mae", "mean_absolute_error"):
        return np.sign(y_pred - y_true) / cols
    if name == "huber":
        d = y_pred - y_true
        return np.where(np.abs(d) <= delta, d, delta * np.sign(d)) / cols
    if name == "binary_crossentropy":
        if from_logits:
            return (1 / (1 + np.exp(-y_pred)) - y_true) / cols
        q = np.clip(y_pred, EPS, 1 - EPS)
        return np.where(_inside(y_pred), (q - y_true) / (q * (1 - q)), 0) / cols
    sparse = name.startswith("sparse")
    onehot = np.eye(cols, dtype=y_pred.dtype)[y_true] if sparse else y_true
    if from_logits:  # softmax(z) * sum(y) - y
        z = y_pred - y_pred.max(axis=-1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
        return p * onehot.sum(axis=-1, keepdims=True) - onehot
    s = y_pred.sum(axis=-1, keepdims=True)
    q = y_pred / s
    a = np.where(_inside(q), -onehot / np.clip(q, EPS, 1 - EPS), 0)  # dL/dq
    if sparse:  # the label's term alone: other classes contribute exactly 0 (a gather)
        a = np.where(onehot != 0, a, 0)
    return (a - (a * q).sum(axis=-1, keepdims=True)) / s


def loss_grad(y_true, y_pred, name, *, from_logits=False, reduction="mean", sample_weight=None, delta=1.0):
    """d(reduced loss) / d y_pred (shape of y_pred): the derivative of ``loss``, with Keras's
    clip passing no gradient outside [eps, 1 - eps] (and passing NaN: it is not hidden)."""
    y_pred = np.asarray(y_pred)
    g = _grad_per_element(name, np.asarray(y_true), y_pred, from_logits, delta)
    rows = y_pred.size // y_pred.shape[-1]
    w = 1 if sample_weight is None else np.asarray(sample_weight)[..., None]
    return g * w / (rows if reduction == "mean" else 1)
