"""Reference data augmentation in NumPy (float32 or float64): the definitions the augment
kernels are checked against.

affine_transform follows keras.ops.image.affine_transform as Keras 3's JAX backend computes
it (jax.scipy.ndimage.map_coordinates, order 0 or 1): output pixel (x, y) (column, row)
samples the input at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1.
"bilinear": the 2x2 taps floor(s), floor(s) + 1 with weights 1 - f, f; "nearest": the tap
round(s), halves away from zero. Each tap outside the image is re-indexed by ``fill_mode``
(JAX's index fixers): "constant" takes ``fill_value`` instead, "nearest" clamps, "wrap" is
periodic, "reflect" mirrors about the edge (d c b a | a b c d | d c b a).
"""

from __future__ import annotations

import numpy as np

INTERPOLATIONS = ("bilinear", "nearest")
FILL_MODES = ("constant", "reflect", "wrap", "nearest")
_COORD_LIMIT = 2.0**30  # coordinates are clamped here before becoming integers (kernels: the same)


def _fix(index: np.ndarray, size: int, fill_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(index inside [0, size), valid) for integer tap indices under ``fill_mode``."""
    if fill_mode == "constant":
        valid = (index >= 0) & (index < size)
        return np.clip(index, 0, size - 1), valid
    if fill_mode == "nearest":
        fixed = np.clip(index, 0, size - 1)
    elif fill_mode == "wrap":
        fixed = np.mod(index, size)
    else:  # reflect: half-sample symmetric, period 2 * size
        m = np.mod(index, 2 * size)
        fixed = np.where(m >= size, 2 * size - 1 - m, m)
    return fixed, np.ones(index.shape, bool)


def _taps(coord: np.ndarray, interpolation: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(integer index, weight)] of one axis' sampling coordinates."""
    coord = np.clip(np.nan_to_num(coord, nan=-_COORD_LIMIT), -_COORD_LIMIT, _COORD_LIMIT)
    if interpolation == "nearest":
        rounded = np.sign(coord) * np.floor(np.abs(coord) + 0.5)  # halves away from zero
        return [(rounded.astype(np.int64), np.ones_like(coord))]
    lower = np.floor(coord)
    upper_w = coord - lower
    return [(lower.astype(np.int64), 1 - upper_w), (lower.astype(np.int64) + 1, upper_w)]


def sample_taps(transforms, height, width, output_shape, interpolation, fill_mode):
    """The taps of every output pixel: a list of (rows, cols, weight, valid), each (N, OH, OW)."""
    t = np.asarray(transforms)
    oh, ow = output_shape
    y, x = np.meshgrid(np.arange(oh, dtype=t.dtype), np.arange(ow, dtype=t.dtype), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i, None, None] for i in range(8))
    k = c0 * x + c1 * y + 1
    sx = (a0 * x + a1 * y + a2) / k
    sy = (b0 * x + b1 * y + b2) / k
    taps = []
    for rows, wy in _taps(sy, interpolation):
        r, rv = _fix(rows, height, fill_mode)
        for cols, wx in _taps(sx, interpolation):
            c, cv = _fix(cols, width, fill_mode)
            taps.append((r, c, wy * wx, rv & cv))
    return taps


def affine_transform(
    images, transforms, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0, output_shape=None
):
    """(N, H, W, C) images through one transform each (N, 8): (N, OH, OW, C), OH, OW =
    ``output_shape`` or (H, W)."""
    n, h, w, _ = images.shape
    taps = sample_taps(transforms, h, w, output_shape or (h, w), interpolation, fill_mode)
    batch = np.arange(n)[:, None, None]
    out = 0
    for r, c, weight, valid in taps:
        value = np.where(valid[..., None], images[batch, r, c], np.asarray(fill_value, images.dtype))
        out = out + weight[..., None] * value
    return np.asarray(out, images.dtype)


def affine_transform_backward(dy, transforms, images_shape, *, interpolation="bilinear", fill_mode="constant"):
    """d(loss)/d(images): each output pixel's dy spread back over its valid taps."""
    n, h, w, ch = images_shape
    taps = sample_taps(transforms, h, w, dy.shape[1:3], interpolation, fill_mode)
    dx = np.zeros((n, h, w, ch), dy.dtype)
    batch = np.broadcast_to(np.arange(n)[:, None, None], taps[0][0].shape)
    # np.add.at accumulates in index order: output pixels in row-major order, taps in order.
    rows = np.stack([t[0] for t in taps], -1)
    cols = np.stack([t[1] for t in taps], -1)
    wts = np.stack([t[2] * t[3] for t in taps], -1).astype(dy.dtype)
    b = np.broadcast_to(batch[..., None], rows.shape)
    np.add.at(
        dx, (b.reshape(-1), rows.reshape(-1), cols.reshape(-1)), (wts[..., None] * dy[..., None, :]).reshape(-1, ch)
    )
    return dx


def flip(images, horizontal_flags, vertical_flags):
    """images[n] reversed along W where horizontal_flags[n] and along H where vertical_flags[n]."""
    out = np.array(images, copy=True)
    h = np.asarray(horizontal_flags, bool)
    v = np.asarray(vertical_flags, bool)
    out[h] = out[h, :, ::-1]
    out[v] = out[v, ::-1]
    return out


def flip_backward(dy, horizontal_flags, vertical_flags):
    """The gradient of flip: dy flipped back with the same flags."""
    return flip(dy, horizontal_flags, vertical_flags)


def adjust_contrast(images, factors, value_range):
    """clip((x - m) * f + m, lo, hi) with m the mean over H and W of each image and channel (Keras's
    RandomContrast)."""
    x = np.asarray(images)
    f = np.asarray(factors, x.dtype)[:, None, None, None]
    m = x.astype(np.float64).mean(axis=(1, 2), keepdims=True).astype(x.dtype)
    return np.clip((x - m) * f + m, value_range[0], value_range[1]).astype(x.dtype)


def adjust_contrast_backward(dy, images, factors, value_range):
    """d/dx: g = dy inside the clip range, dx = f g + (1 - f) mean_hw(g) (the mean depends on x)."""
    x = np.asarray(images)
    f = np.asarray(factors, x.dtype)[:, None, None, None]
    m = x.astype(np.float64).mean(axis=(1, 2), keepdims=True).astype(x.dtype)
    z = (x - m) * f + m
    g = np.where((z >= value_range[0]) & (z <= value_range[1]), dy, 0).astype(np.float64)
    gm = g.mean(axis=(1, 2), keepdims=True)
    return (f * g + (1 - f) * gm).astype(x.dtype)


def adjust_brightness(images, deltas, value_range):
    """clip(x + delta, lo, hi), one delta per image (Keras's RandomBrightness, delta in pixel units)."""
    x = np.asarray(images)
    d = np.asarray(deltas, x.dtype)[:, None, None, None]
    return np.clip(x + d, value_range[0], value_range[1]).astype(x.dtype)


def adjust_brightness_backward(dy, images, deltas, value_range):
    """dy where lo <= x + delta <= hi, else 0."""
    x = np.asarray(images)
    z = x + np.asarray(deltas, x.dtype)[:, None, None, None]
    return np.where((z >= value_range[0]) & (z <= value_range[1]), dy, 0).astype(dy.dtype)
