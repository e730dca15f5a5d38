"""Reference batch normalization over the last axis (Keras's definitions)."""

from __future__ import annotations

import numpy as np


def batch_norm(x, gamma, beta, running_mean, running_var, *, training, momentum=0.99, epsilon=1e-3):
    """Returns (y, new_running_mean, new_running_var); the inputs are not modified."""
    axes = tuple(range(x.ndim - 1))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)  # biased variance, as Keras
        new_mean = momentum * running_mean + (1 - momentum) * mean
        new_var = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var
    y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return y, new_mean, new_var
