"""Reference depthwise and grouped 2-D convolution (NHWC): each group of input channels
convolved by reference.conv2d with its own slice of the weights, the results concatenated.

Two weight layouts, as the ops take them (sinapse.ops.depthwise_conv2d):

- ``groups=None``: depthwise, ``w`` (KH, KW, C, M) as Keras's DepthwiseConv2D
  (https://keras.io/api/layers/convolution_layers/depthwise_convolution2d/): output channel
  ``c * M + m`` is input channel ``c`` convolved with ``w[:, :, c, m]``.
- ``groups=g``: grouped, ``w`` (KH, KW, C / g, K) HWIO as Keras's Conv2D(groups=g)
  (https://keras.io/api/layers/convolution_layers/convolution2d/) and PyTorch's
  Conv2d(groups=g): output channels split in g consecutive groups of K / g, group j reading
  input channels [j * C / g, (j + 1) * C / g).

Depthwise is grouped with g = C: (KH, KW, C, M) is the same memory as (KH, KW, 1, C * M).
The geometry (padding, strides, dilation) is reference.conv2d's, i.e. Keras's rule."""

from __future__ import annotations

import numpy as np

from .conv2d import conv2d, conv2d_backward


def _grouped(fn, x, w, groups):
    """(x, w as HWIO grouped weights, groups), checking the layout of either form."""
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"reference.{fn}: expected 4-D x and w, got {x.shape} and {w.shape}")
    c = x.shape[3]
    if groups is None:
        if w.shape[2] != c:
            raise ValueError(f"reference.{fn}: depthwise w {w.shape} does not fit {c} channels")
        return x, w.reshape(w.shape[0], w.shape[1], 1, c * w.shape[3]), c
    if c % groups or w.shape[3] % groups or w.shape[2] * groups != c:
        raise ValueError(f"reference.{fn}: groups={groups} does not fit x {x.shape} and w {w.shape}")
    return x, w, groups


def depthwise_conv2d(x, w, bias=None, *, strides=1, padding="valid", dilation_rate=1, groups=None):
    """Depthwise (``groups=None``, w (KH, KW, C, M)) or grouped (w (KH, KW, C / g, K))
    convolution of x (N, H, W, C), plus ``bias`` (K,) -> (N, OH, OW, K), K = C * M or w's
    last axis; in the precision of the inputs."""
    x, wg, g = _grouped("depthwise_conv2d", x, w, groups)
    cg, kg = x.shape[3] // g, wg.shape[3] // g
    geo = {"strides": strides, "padding": padding, "dilation_rate": dilation_rate}
    parts = [conv2d(x[..., j * cg : (j + 1) * cg], wg[..., j * kg : (j + 1) * kg], **geo) for j in range(g)]
    y = np.concatenate(parts, axis=3)
    return y if bias is None else y + bias


def depthwise_conv2d_backward(dy, x, w, *, strides=1, padding="valid", dilation_rate=1, groups=None):
    """(dx, dw, db) of sum(depthwise_conv2d(x, w, b) * dy); dy (N, OH, OW, K), dw in w's
    own layout; arguments as depthwise_conv2d."""
    w_shape = np.shape(w)
    x, wg, g = _grouped("depthwise_conv2d_backward", x, w, groups)
    dy = np.asarray(dy)
    cg, kg = x.shape[3] // g, wg.shape[3] // g
    geo = {"strides": strides, "padding": padding, "dilation_rate": dilation_rate}
    dxs, dws = [], []
    for j in range(g):
        dxj, dwj, _ = conv2d_backward(
            dy[..., j * kg : (j + 1) * kg], x[..., j * cg : (j + 1) * cg], wg[..., j * kg : (j + 1) * kg], **geo
        )
        dxs.append(dxj)
        dws.append(dwj)
    dw = np.concatenate(dws, axis=3).reshape(w_shape)
    return np.concatenate(dxs, axis=3), dw, dy.sum(axis=(0, 1, 2))
