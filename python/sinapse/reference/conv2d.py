"""Reference conv2d (NHWC, HWIO): pad, take every dilated window, contract with einsum.
The backward is the same contraction read the other way (np.add.at scatters dx).

Padding is zeros that are multiplied like any pixel (IEEE, as TF and PyTorch convolve): an
inf or NaN weight makes the outputs whose window overlaps the padding NaN (0 * inf), and an
inf or NaN dy does the same to dw."""

from __future__ import annotations

import numpy as np


def _windows(x, g):
    n, h, w, c, kh, kw, k, sh, sw, dh, dw, top, left, oh, ow = g
    bottom = max((oh - 1) * sh + (kh - 1) * dh + 1 - h - top, 0)
    right = max((ow - 1) * sw + (kw - 1) * dw + 1 - w - left, 0)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    rows = (np.arange(oh) * sh)[:, None] + (np.arange(kh) * dh)[None, :]  # (oh, kh)
    cols = (np.arange(ow) * sw)[:, None] + (np.arange(kw) * dw)[None, :]  # (ow, kw)
    # (n, oh, kh, ow, kw, c) -> (n, oh, ow, kh, kw, c)
    return xp[:, rows[:, :, None, None], cols[None, None, :, :], :].transpose(0, 1, 3, 2, 4, 5), (top, left, xp.shape)


def conv2d(x, w, g, bias=None):
    win, _ = _windows(np.asarray(x), g)
    y = np.einsum("nabijc,ijck->nabk", win, w, optimize=False)
    return y if bias is None else y + bias


def conv2d_backward(dy, x, w, g):
    """(dx, dw, db) of sum(conv2d(x, w) * dy)."""
    x = np.asarray(x)
    win, (top, left, padded_shape) = _windows(x, g)
    dw = np.einsum("nabijc,nabk->ijck", win, dy, optimize=False)
    db = dy.sum(axis=(0, 1, 2))
    n, h, wd, c, kh, kw, k, sh, sw, dh, dwl, _, _, oh, ow = g
    dwin = np.einsum("nabk,ijck->nabijc", dy, w, optimize=False)
    dxp = np.zeros(padded_shape, dtype=np.result_type(dy, w))
    for i in range(kh):
        for j in range(kw):
            rows = np.arange(oh) * sh + i * dh
            cols = np.arange(ow) * sw + j * dwl
            np.add.at(dxp, (slice(None), rows[:, None], cols[None, :], slice(None)), dwin[:, :, :, i, j, :])
    return dxp[:, top : top + h, left : left + wd, :], dw, db
