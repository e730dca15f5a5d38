"""Reference batch normalization over the last axis (Keras's definitions:
keras.layers.BatchNormalization, https://keras.io/api/layers/normalization_layers/batch_normalization/,
after Ioffe & Szegedy, "Batch Normalization", 2015, Algorithm 1), forward and backward."""

from __future__ import annotations

import numpy as np


def batch_norm(x, gamma, beta, running_mean, running_var, *, training, momentum=0.99, epsilon=1e-3):
    """Returns (y, new_running_mean, new_running_var); the inputs are not modified.

    x (..., C); gamma, beta, running_mean, running_var (C,). Training normalises with the
    batch's mean and biased variance over every axis but the last and moves the running
    statistics by ``momentum``; inference uses the running statistics."""
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


def batch_norm_backward(dy, x, gamma, mean, invstd, *, training):
    """Returns (dx, dgamma, dbeta) given the forward's batch (or running) mean and
    invstd = 1 / sqrt(var + epsilon), all (C,); dy and x (..., C). In training the gradient also flows through the batch
    statistics: dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)). A NaN or
    inf in x or dy of a channel makes that channel's dgamma and dx NaN (it enters the sums)."""
    axes = tuple(range(x.ndim - 1))
    xhat = (x - mean) * invstd
    dbeta, dgamma = dy.sum(axis=axes), (dy * xhat).sum(axis=axes)
    if training:
        rows = x.size // x.shape[-1]
        dx = gamma * invstd * (dy - dbeta / rows - xhat * (dgamma / rows))
    else:
        dx = gamma * invstd * dy
    return dx, dgamma, dbeta
