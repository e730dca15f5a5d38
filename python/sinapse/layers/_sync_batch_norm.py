"""BatchNormalization with the statistics of the whole global batch across processes
(``DataParallel(sync_batch_norm=True)``; PyTorch's SyncBatchNorm, Keras's ``synchronized=True``).

Forward: each rank's kernel gives its rows' mean and variance; one allgather brings every
rank's (rows, mean, variance) and they are combined in rank order with Chan et al.'s parallel
formula (var = sum m_r (var_r + (mean_r - mean)^2) / M, no cancellation); the rows are then
normalised with the global statistics by the inference kernel.

Backward: dx = gamma * invstd * (dy - S / M - xhat * T / M) with S = sum(dy), T = sum(dy * xhat)
over the global batch (Ioffe & Szegedy 2015, Algorithm 1's backward). The training kernel
computes it with this rank's sums s_r, t_r; one allreduce gives S and T, and the difference is
a per-channel affine function of x, a * x + b, added by the inference kernel (gamma = a,
beta = b, mean 0, variance 0, epsilon 1, so invstd is exactly 1). Units: each rank's dy
carries 1 / rows_r (its loss is the mean over its rows), the gradient buckets scale by
rows_r / B (distributed/_reducer.py), so the sums are taken over f_r * (s_r, t_r) with
f_r = rows_r / B and the correction is returned in the rank's own units.

The C-length statistics are combined in float64 on the host: a few hundred numbers per layer.
"""

from __future__ import annotations

import numpy as np

from .. import devices, ops
from ..distributed import _comm


def scratch_statistics(layer, c):
    """Zeroed (C,) running mean and variance for a training call that must not move the layer's."""
    scratch = layer.buffer("scratch_running", (2, c))
    scratch[...] = 0
    return scratch[0], scratch[1]


def forward(layer, x, gamma, beta, y, counts=True):
    """y (written) for the global batch's statistics; returns (y, mean, invstd) as ops.batch_norm.
    ``counts=False``: x is a stand-in row (models/_data.py) that adds nothing to the statistics."""
    c = x.shape[-1]
    _, mean_r, invstd_r = ops.batch_norm(
        x, gamma, beta, *scratch_statistics(layer, c), training=True, epsilon=layer.epsilon, out=(y, None, None)
    )
    rows = x.size // c if counts else 0
    inv = devices.to_numpy(invstd_r).astype(np.float64)
    mine = np.concatenate([[rows], devices.to_numpy(mean_r), 1.0 / (inv * inv) - layer.epsilon])
    every = _comm.allgather(mine, f"the statistics of BatchNormalization layer {layer.name!r}")
    m, means, variances = every[:, 0:1], every[:, 1 : 1 + c], np.maximum(every[:, 1 + c :], 0.0)
    total = float(m.sum())
    mean = (m * means).sum(axis=0) / total
    var = (m * (variances + (means - mean) ** 2)).sum(axis=0) / total
    layer._sync_rows = total
    d = layer.device
    y, mean32, invstd = ops.batch_norm(
        x,
        gamma,
        beta,
        d.asarray(mean.astype(np.float32)),
        d.asarray(var.astype(np.float32)),
        training=False,
        epsilon=layer.epsilon,
        out=(y, None, None),
    )
    moving = (layer.moving_mean.value, layer.moving_variance.value)
    for arr, stat in zip(moving, (mean, var)):  # Keras: moving = momentum * moving + (1 - momentum) * batch
        arr[...] = d.asarray((layer.momentum * devices.to_numpy(arr) + (1 - layer.momentum) * stat).astype(np.float32))
    return y, mean32, invstd


def backward(layer, dy, x, gamma, mean, invstd, dx, fraction):
    """(dx, dgamma, dbeta): dx for the global batch's statistics, dgamma/dbeta this rank's sums."""
    dx, dgamma, dbeta = ops.batch_norm_backward(dy, x, gamma, mean, invstd, training=True, out=(dx, None, None))
    if fraction == 0.0:  # a stand-in row: it still joins the allreduce, its gradients count for nothing
        _comm.reduce_in_place(
            np.zeros(2 * x.shape[-1]), "sum", f"the gradient sums of BatchNormalization {layer.name!r}"
        )
        return dx, dgamma, dbeta
    c = x.shape[-1]
    rows = x.size // c
    s_r, t_r = devices.to_numpy(dbeta).astype(np.float64), devices.to_numpy(dgamma).astype(np.float64)
    sums = _comm.reduce_in_place(
        np.concatenate([fraction * s_r, fraction * t_r]),
        "sum",
        f"the gradient sums of BatchNormalization {layer.name!r}",
    )
    scale = 1.0 / (fraction * layer._sync_rows)  # back to this rank's units, over the global rows
    g_i = devices.to_numpy(gamma).astype(np.float64) * devices.to_numpy(invstd).astype(np.float64)
    c1 = g_i * (s_r / rows - sums[:c] * scale)
    c2 = g_i * (t_r / rows - sums[c:] * scale)
    inv = devices.to_numpy(invstd).astype(np.float64)
    a, b = c2 * inv, c1 - c2 * inv * devices.to_numpy(mean).astype(np.float64)
    d = layer.device
    zero = layer.buffer("sync_zero", (c,))
    zero[...] = 0
    correction = layer.buffer("sync_dx", x.shape)
    ops.batch_norm(
        x,
        d.asarray(a.astype(np.float32)),
        d.asarray(b.astype(np.float32)),
        zero,
        zero,
        training=False,
        epsilon=1.0,
        out=(correction, None, None),
    )
    ops.axpy(1.0, correction, dx, out=dx)
    return dx, dgamma, dbeta
