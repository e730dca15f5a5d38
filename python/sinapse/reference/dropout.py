"""Reference dropout: Philox4x32-10 written from the paper in NumPy (uint64 arithmetic),
independently of csrc/common/philox.h, so the kernels' masks are checked bit for bit."""

from __future__ import annotations

import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_LO = np.uint64(0xFFFFFFFF)


def philox4x32_10(counters: np.ndarray, seed: int) -> np.ndarray:
    """Philox4x32-10 of each row of ``counters`` (n, 4) uint32 under key ``seed``; (n, 4) uint32."""
    c = counters.astype(np.uint64)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    for _ in range(10):
        p0, p1 = _M0 * c[:, 0], _M1 * c[:, 2]
        hi0, lo0, hi1, lo1 = p0 >> np.uint64(32), p0 & _LO, p1 >> np.uint64(32), p1 & _LO
        c = np.stack([hi1 ^ c[:, 1] ^ k0, lo1, hi0 ^ c[:, 3] ^ k1, lo0], axis=1)
        k0, k1 = (k0 + _W0) & _LO, (k1 + _W1) & _LO
    return c.astype(np.uint32)


def uniforms(n: int, seed: int, offset: int = 0) -> np.ndarray:
    """The n uniforms in [0, 1) the kernels use: element i = uniform i % 4 of block offset + i // 4."""
    blocks = np.arange((n + 3) // 4, dtype=np.uint64) + np.uint64(offset)
    counters = np.stack([blocks & _LO, blocks >> np.uint64(32), 0 * blocks, 0 * blocks], axis=1)
    bits = philox4x32_10(counters, seed).reshape(-1)[:n]
    return (bits >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def dropout_mask(shape, rate, seed, offset=0) -> np.ndarray:
    """The scale each element is multiplied by: 1 / (1 - rate) where kept, 0 where dropped."""
    n = int(np.prod(shape))
    keep = uniforms(n, seed, offset) >= np.float32(rate)
    return np.where(keep, np.float32(1) / (np.float32(1) - np.float32(rate)), np.float32(0)).reshape(shape)


def dropout(x, rate, seed, offset=0, training=True):
    """Inverted dropout (the identity when not training).

    A selection, not a product: a dropped element is 0 whatever x holds (NaN and +-inf
    included, as Keras's ``where(keep, x / (1 - rate), 0)``); a kept one is x / (1 - rate).
    The backward is the same function of dy."""
    if not training:
        return x
    x = np.asarray(x)
    mask = dropout_mask(np.shape(x), rate, seed, offset).astype(x.dtype)
    return np.where(mask != 0, x * mask, np.zeros_like(x))


def dropout_backward(dy, rate, seed, offset=0):
    """Gradient of ``dropout(x, rate, seed, offset)`` (training) with respect to x, given dy:
    the same selection applied to dy (the mask does not depend on x), dy's shape and dtype."""
    return dropout(dy, rate, seed, offset)
