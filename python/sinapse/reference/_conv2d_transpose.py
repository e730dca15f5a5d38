"""Reference conv2d_transpose (NHWC input, kernel (KH, KW, filters, in_channels) as Keras's
Conv2DTranspose): the definition as a scatter, every input pixel adds its kernel-weighted
window into the output, then the output is cropped by Keras's padding rule.

Keras's rule (keras.src.backend.common.backend_utils
``_convert_conv_transpose_padding_args_from_keras_to_jax``, the JAX backend; the output length
is ``keras.src.utils.conv_utils.deconv_output_length``), per spatial axis with input size
``n``, kernel ``k``, stride ``s``, dilation ``d``, extent ``e = (k - 1) * d + 1`` and
output_padding ``p``: the stride-dilated input (``(n - 1) * s + 1`` long) is padded by
``(lo, hi)`` and convolved with the flipped kernel, where

- "valid": ``lo = e - 1``, ``hi = e - 1 + p`` (``p`` None: ``max(e, s) - e``);
- "same": ``total = s + e - 2`` (``p`` None) or ``e + e % 2 - 2 + p``,
  ``lo = min(ceil(total / 2), e - 1)``, ``hi = total - lo``;

so the output has ``(n - 1) * s + lo + hi - e + 2`` pixels, and output pixel ``o`` is pixel
``o + e - 1 - lo`` of the plain scatter (which is ``(n - 1) * s + e`` long; beyond it: zeros).
Computed here independently of sinapse.ops, which runs the same op as conv2d's input gradient.
"""

from __future__ import annotations

import numpy as np

from ._geometry import pair


def _axis(fn, n, k, s, d, padding, output_padding):
    """(output length, crop): output pixel o is pixel o + crop of the uncropped scatter."""
    e = (k - 1) * d + 1
    if padding == "valid":
        p = max(e, s) - e if output_padding is None else output_padding
        lo, hi = e - 1, e - 1 + p
    elif padding == "same":
        total = s + e - 2 if output_padding is None else e + e % 2 - 2 + output_padding
        lo = min(total // 2 + total % 2, e - 1)
        hi = total - lo
    else:
        raise ValueError(f"reference.{fn}: `padding` must be 'valid' or 'same', got {padding!r}")
    return (n - 1) * s + lo + hi - e + 2, e - 1 - lo


def _geometry(fn, x, w, strides, padding, output_padding, dilation_rate):
    if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[3]:
        raise ValueError(f"reference.{fn}: expected x (N, H, W, C) and w (KH, KW, F, C), got {x.shape} and {w.shape}")
    s, d = pair(fn, "strides", strides), pair(fn, "dilation_rate", dilation_rate)
    p = (None, None) if output_padding is None else np.broadcast_to(output_padding, (2,)).tolist()
    pad = padding.lower() if isinstance(padding, str) else padding
    return [_axis(fn, x.shape[1 + i], w.shape[i], s[i], d[i], pad, p[i]) for i in range(2)], s, d


def _taps(n, k, s, d):
    """(n, k) index of each tap in the uncropped scatter."""
    return (np.arange(n) * s)[:, None] + (np.arange(k) * d)[None, :]


def _full_rows(n, k, s, d):
    return (n - 1) * s + (k - 1) * d + 1


def conv2d_transpose(x, w, bias=None, *, strides=1, padding="valid", output_padding=None, dilation_rate=1):
    """Transposed convolution: x (N, H, W, C), w (KH, KW, F, C), bias (F,) -> (N, OH, OW, F)
    in the precision of the inputs (module docstring: the output size and the cropping)."""
    x, w = np.asarray(x), np.asarray(w)
    ((oh, top), (ow, left)), s, d = _geometry("conv2d_transpose", x, w, strides, padding, output_padding, dilation_rate)
    n, h, wd, _ = x.shape
    kh, kw, f, _ = w.shape
    fh, fw = _full_rows(h, kh, s[0], d[0]), _full_rows(wd, kw, s[1], d[1])
    full = np.zeros((n, max(fh, top + oh), max(fw, left + ow), f), dtype=np.result_type(x, w))
    r, c = _taps(h, kh, s[0], d[0]), _taps(wd, kw, s[1], d[1])
    contrib = np.einsum("nijc,tufc->nijtuf", x, w, optimize=False)
    for t in range(kh):
        for u in range(kw):
            at = (slice(None), r[:, t][:, None], c[:, u][None, :], slice(None))
            np.add.at(full, at, contrib[:, :, :, t, u, :])  # type: ignore[arg-type]  # NumPy's stubs refuse slices
    y = full[:, top : top + oh, left : left + ow, :]
    return y if bias is None else y + bias


def conv2d_transpose_backward(dy, x, w, *, strides=1, padding="valid", output_padding=None, dilation_rate=1):
    """(dx, dw, db) of sum(conv2d_transpose(x, w, b) * dy); dy (N, OH, OW, F), arguments as
    conv2d_transpose: each input pixel's gradient gathers dy over the window it scattered to."""
    x, w, dy = np.asarray(x), np.asarray(w), np.asarray(dy)
    ((oh, top), (ow, left)), s, d = _geometry(
        "conv2d_transpose_backward", x, w, strides, padding, output_padding, dilation_rate
    )
    n, h, wd, _ = x.shape
    kh, kw, f, _ = w.shape
    if dy.shape != (n, oh, ow, f):
        raise ValueError(f"reference.conv2d_transpose_backward: dy must be {(n, oh, ow, f)}, got {dy.shape}")
    fh, fw = _full_rows(h, kh, s[0], d[0]), _full_rows(wd, kw, s[1], d[1])
    full = np.zeros((n, max(fh, top + oh), max(fw, left + ow), f), dtype=dy.dtype)
    full[:, top : top + oh, left : left + ow, :] = dy  # the cropped-away pixels get no gradient
    r, c = _taps(h, kh, s[0], d[0]), _taps(wd, kw, s[1], d[1])
    win = full[:, r[:, :, None, None], c[None, None, :, :], :]  # (n, h, kh, w, kw, f)
    dx = np.einsum("nitjuf,tufc->nijc", win, w, optimize=False)
    dw = np.einsum("nitjuf,nijc->tufc", win, x, optimize=False)
    return dx, dw, dy.sum(axis=(0, 1, 2))
