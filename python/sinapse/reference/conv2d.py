"""Reference conv2d (NHWC, HWIO): pad, take every dilated window, contract with einsum.
The backward is the same contraction read the other way (np.add.at scatters dx).

Takes the op's own arguments (``strides``, ``padding``, ``dilation_rate``) and computes the
geometry itself by Keras's rule (reference/_geometry.py; keras.layers.Conv2D,
https://keras.io/api/layers/convolution_layers/convolution2d/), so it checks the ops'
"same" padding instead of trusting it.

Padding is zeros that are multiplied like any pixel (IEEE, as TF and PyTorch convolve): an
inf or NaN weight makes the outputs whose window overlaps the padding NaN (0 * inf), and an
inf or NaN dy does the same to dw."""

from __future__ import annotations

import numpy as np

from ._geometry import axes


def _geometry(fn, x, w, strides, padding, dilation_rate):
    if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[2]:
        raise ValueError(f"reference.{fn}: expected x (N, H, W, C) and w (KH, KW, C, K), got {x.shape} and {w.shape}")
    return axes(fn, x.shape[1:3], w.shape[:2], strides, padding, dilation_rate)


def _index(a):
    """(out, kernel) input-pixel index of each window tap, in padded coordinates."""
    return (np.arange(a.out) * a.stride)[:, None] + (np.arange(a.kernel) * a.dilation)[None, :]


def _windows(x, rows, cols):
    """(n, oh, ow, kh, kw, c) windows of the zero-padded x, and the padded array's shape."""
    xp = np.pad(x, ((0, 0), (rows.before, rows.after), (cols.before, cols.after), (0, 0)))
    r, c = _index(rows), _index(cols)
    # (n, oh, kh, ow, kw, c) -> (n, oh, ow, kh, kw, c)
    return xp[:, r[:, :, None, None], c[None, None, :, :], :].transpose(0, 1, 3, 2, 4, 5), xp.shape


def conv2d(x, w, bias=None, *, strides=1, padding="valid", dilation_rate=1):
    """``conv(x, w) + bias``: x (N, H, W, C), w (KH, KW, C, K), bias (K,) -> (N, OH, OW, K),
    in the precision of the inputs. ``strides``, ``dilation_rate``: int or pair; ``padding``:
    "valid", "same" or (top, bottom, left, right). ValueError for shapes that do not fit."""
    x, w = np.asarray(x), np.asarray(w)
    rows, cols = _geometry("conv2d", x, w, strides, padding, dilation_rate)
    win, _ = _windows(x, rows, cols)
    y = np.einsum("nabijc,ijck->nabk", win, w, optimize=False)
    return y if bias is None else y + bias


def conv2d_backward(dy, x, w, *, strides=1, padding="valid", dilation_rate=1):
    """(dx, dw, db) of sum(conv2d(x, w, b) * dy); dy (N, OH, OW, K), arguments as conv2d."""
    x, w, dy = np.asarray(x), np.asarray(w), np.asarray(dy)
    rows, cols = _geometry("conv2d_backward", x, w, strides, padding, dilation_rate)
    win, padded_shape = _windows(x, rows, cols)
    dw = np.einsum("nabijc,nabk->ijck", win, dy, optimize=False)
    db = dy.sum(axis=(0, 1, 2))
    dwin = np.einsum("nabk,ijck->nabijc", dy, w, optimize=False)
    dxp = np.zeros(padded_shape, dtype=np.result_type(dy, w))
    r, c = _index(rows), _index(cols)
    for i in range(rows.kernel):
        for j in range(cols.kernel):
            at = (slice(None), r[:, i][:, None], c[:, j][None, :], slice(None))
            np.add.at(dxp, at, dwin[:, :, :, i, j, :])  # type: ignore[arg-type]  # NumPy's stubs refuse slices here
    return dxp[:, rows.before : rows.before + rows.size, cols.before : cols.before + cols.size, :], dw, db


# The transposed convolution's reference (reference/_conv2d_transpose.py: a scatter, independent of
# conv2d's), public here with the rest of its op family.
from ._conv2d_transpose import conv2d_transpose, conv2d_transpose_backward  # noqa: E402

for _fn in (conv2d_transpose, conv2d_transpose_backward):
    _fn.__module__ = __name__
