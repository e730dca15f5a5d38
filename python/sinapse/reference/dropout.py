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


def _bits(n: int, seed: int, offset: int, lane: int) -> np.ndarray:
    """The Philox words of draws lane .. lane + n - 1, as (blocks, 4) uint32 from block offset."""
    blocks = np.arange((lane + n + 3) // 4, dtype=np.uint64) + np.uint64(offset)
    counters = np.stack([blocks & _LO, blocks >> np.uint64(32), 0 * blocks, 0 * blocks], axis=1)
    return philox4x32_10(counters, seed)


def spatial_dropout(x, rate, seed, offset=0, lane=0, training=True):
    """Channel-wise inverted dropout of x (N, ..., C): draw ``lane + n * C + c`` (uniform d % 4 of
    block offset + d // 4, as ``dropout``) keeps or drops channel c of sample n at every position."""
    if not training:
        return x
    x = np.asarray(x)
    n, c = x.shape[0], x.shape[-1]
    u = uniforms(lane + n * c, seed, offset)[lane:].reshape(n, *([1] * (x.ndim - 2)), c)
    scale = np.where(u >= np.float32(rate), np.float32(1) / (np.float32(1) - np.float32(rate)), np.float32(0))
    return np.where(scale != 0, x * scale.astype(x.dtype), np.zeros_like(x))


def spatial_dropout_backward(dy, rate, seed, offset=0, lane=0):
    """Gradient of ``spatial_dropout``: the same channel masks and scale applied to dy."""
    return spatial_dropout(dy, rate, seed, offset, lane)


def normals(n: int, seed: int, offset: int = 0, lane: int = 0) -> np.ndarray:
    """The n standard normals the Gaussian noise kernels draw (float64): Box-Muller on each
    block's words (0, 1) and (2, 3), u0 = (w0 >> 8 + 1) / 2**24 in (0, 1], u1 = (w1 >> 8) / 2**24
    (Box & Muller 1958), computed here with NumPy's own log / sqrt / cos / sin."""
    w = (_bits(n, seed, offset, lane) >> np.uint32(8)).astype(np.float64)
    u0, u1 = (w[:, 0::2] + 1) / 2**24, w[:, 1::2] / 2**24
    r, t = np.sqrt(-2 * np.log(u0)), 2 * np.pi * u1
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=2).reshape(-1)[lane : lane + n]


def gaussian_noise(x, stddev, seed, offset=0, lane=0, training=True):
    """``x + stddev * z`` (Keras's GaussianNoise), z the ``normals`` of the elements; x when not training."""
    if not training:
        return x
    x = np.asarray(x)
    z = normals(x.size, seed, offset, lane).reshape(x.shape)
    return (x + stddev * z).astype(x.dtype)
