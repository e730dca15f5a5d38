"""The direct (im2col-free) conv2d kernels (csrc/cpu/conv2d_direct*.cpp) against the float64
reference: forward (bias and activation fused), dx and dW, for few and many channels, every
kernel shape the register tiles meet (3x3, 5x5, 7x7, 1x3; strides 1 and 2; "same", "valid"
and explicit padding; dilation 1 and 2; odd image sizes; rows longer than one pixel block),
on every SIMD path forced; and determinism (two runs bit-identical).

The kernels run through ``variant="direct"`` where the registry has that variant, otherwise
through the default dispatch, which takes them wherever conv2d_direct_applies() says they
apply (stride-2 dx with more than 8 channels and padding wider than the kernel fall back to
im2col + GEMM: those cases check the fallback instead)."""

from __future__ import annotations

import numpy as np
import pytest

import sinapse
from conftest import SIMD_PATHS
from sinapse import ops, reference
from sinapse.registry import OPS

VARIANT = "direct" if "direct" in OPS["conv2d"].variants else None

# (x shape, w shape, strides, padding, dilation)
CONFIGS = [
    ((2, 11, 13, 16), (3, 3, 16, 16), 1, "same", 1),  # C = K = 16: one 16-wide block
    ((1, 9, 7, 17), (3, 3, 17, 17), 1, "valid", 1),  # 17: a partial channel block each way
    ((1, 13, 13, 32), (3, 3, 32, 64), 1, "valid", 1),  # MNIST conv2 (13-pixel rows)
    ((1, 7, 7, 128), (3, 3, 128, 64), 1, "same", 1),  # Fashion conv3's channels, K = 64
    ((1, 10, 9, 64), (5, 5, 64, 17), 1, "same", 1),  # 5x5, K = 17
    ((2, 15, 11, 16), (7, 7, 16, 6), 1, "same", 1),  # 7x7, K = 6 (few output lanes)
    ((1, 9, 12, 32), (1, 3, 32, 16), 1, "same", 1),  # 1x3
    ((1, 11, 11, 17), (3, 3, 17, 16), 2, "same", 1),  # stride 2 (dx: the im2col fallback)
    ((1, 13, 11, 16), (3, 3, 16, 17), 1, "same", 2),  # dilation 2
    ((1, 12, 13, 32), (3, 3, 32, 64), 2, "valid", 2),  # stride and dilation 2
    ((1, 32, 32, 1), (5, 5, 1, 6), 1, "valid", 1),  # LeNet-5 C1
    ((1, 14, 14, 6), (5, 5, 6, 16), 1, "valid", 1),  # LeNet-5 C3 (10-pixel rows)
    ((1, 19, 17, 3), (7, 7, 3, 64), 2, "same", 1),  # 3 channels, 7x7 stride 2
    ((1, 9, 9, 64), (3, 3, 64, 6), 1, "valid", 1),  # many channels in, 6 out
    ((1, 6, 31, 16), (1, 3, 16, 64), 1, "valid", 1),  # 29-pixel rows: several pixel blocks
    ((2, 5, 33, 128), (3, 3, 128, 17), 1, "same", 1),  # 33-pixel rows, 128 channels
    ((1, 6, 6, 16), (3, 3, 16, 16), 1, (3, 0, 4, 1), 1),  # padding wider than the kernel
    ((3, 8, 9, 16), (3, 3, 16, 32), (2, 1), "same", (1, 2)),  # rectangular strides, dilation
]


def _ids(cfg):
    (n, h, w, c), (kh, kw, _, k), s, pad, d = cfg
    return f"{n}x{h}x{w}x{c}-{kh}x{kw}x{k}-s{s}-{pad}-d{d}".replace(" ", "")


def _data(rng, x_shape, w_shape):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[:3]))).astype(np.float32)
    b = rng.standard_normal(w_shape[3]).astype(np.float32)
    return x, w, b


def _run(x, w, b, strides, padding, dilation, activation=None):
    geo = dict(strides=strides, padding=padding, dilation_rate=dilation)
    y = ops.conv2d(x, w, b, activation=activation, variant=VARIANT, **geo)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    return y, dy, ops.conv2d_backward(dy, x, w, variant=VARIANT, **geo)


@pytest.mark.parametrize("path", SIMD_PATHS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_direct_matches_reference(rng, cfg, path):
    x_shape, w_shape, strides, padding, dilation = cfg
    x, w, b = _data(rng, x_shape, w_shape)
    with sinapse.cpu.use_simd(path):
        y, dy, (dx, dw, db) = _run(x, w, b, strides, padding, dilation)
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    geo = dict(strides=strides, padding=padding, dilation_rate=dilation)
    ry = reference.conv2d(f64(x), f64(w), f64(b), **geo)
    rdx, rdw, rdb = reference.conv2d_backward(f64(dy), f64(x), f64(w), **geo)
    depth = np.prod(w_shape[:3])
    # float32 sums of `depth` (forward), K*KH*KW (dx) and N*OH*OW (dW) terms of size ~1
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=2e-6 * np.sqrt(depth) + 1e-5, err_msg=f"y [{path}]")
    taps_k = w_shape[0] * w_shape[1] * w_shape[3]
    np.testing.assert_allclose(dx, rdx, rtol=1e-4, atol=2e-6 * np.sqrt(taps_k) + 1e-5, err_msg=f"dx [{path}]")
    np.testing.assert_allclose(dw, rdw, rtol=1e-4, atol=2e-6 * np.sqrt(dy[..., 0].size) + 1e-5, err_msg=f"dw [{path}]")
    np.testing.assert_allclose(db, rdb, rtol=1e-4, atol=1e-4, err_msg=f"db [{path}]")


@pytest.mark.parametrize("path", SIMD_PATHS)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_direct_forward_fuses_bias_and_activation(rng, path, activation):
    x, w, b = _data(rng, (1, 9, 11, 32), (3, 3, 32, 40))
    with sinapse.cpu.use_simd(path):
        y = ops.conv2d(x, w, b, padding="same", activation=activation, variant=VARIANT)
    z = reference.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), padding="same")
    ref = np.maximum(z, 0.0) if activation == "relu" else np.tanh(z)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cfg", [CONFIGS[2], CONFIGS[3], CONFIGS[10], CONFIGS[12]], ids=_ids)
def test_direct_is_deterministic_on_two_threads(rng, cfg):
    x_shape, w_shape, strides, padding, dilation = cfg
    x_shape = (5,) + x_shape[1:]  # several images: both threads hold a part of dW
    x, w, b = _data(rng, x_shape, w_shape)
    before = sinapse.get_num_threads()
    sinapse.set_num_threads(2)
    try:
        first = _run(x, w, b, strides, padding, dilation)
        second = _run(x, w, b, strides, padding, dilation)
    finally:
        sinapse.set_num_threads(before)
    for name, a, c in zip(("y", "dx", "dw", "db"), (first[0], *first[2]), (second[0], *second[2]), strict=True):
        np.testing.assert_array_equal(a, c, err_msg=name)
    # and the result on two threads is the reference's
    geo = dict(strides=strides, padding=padding, dilation_rate=dilation)
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    _, rdw, _ = reference.conv2d_backward(f64(first[1]), f64(x), f64(w), **geo)
    np.testing.assert_allclose(first[2][1], rdw, rtol=1e-4, atol=1e-4)
