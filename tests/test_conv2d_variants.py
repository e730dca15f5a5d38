"""conv2d's CPU variants (naive, im2col, direct, winograd, tuned) against the float64
reference on every SIMD path, forward and backward; Winograd F(4x4, 3x3)'s error bound; the
variant errors (unknown, outside the domain, CPU-only on CUDA); the tuned variant's selection
(csrc/cpu/conv2d_select.cpp), tested as a function of the shape, never by timing."""

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, SIMD_PATHS, on
from sinapse import ops, reference
from sinapse.ops.conv2d import conv2d_algorithm, geometry

CPU_VARIANTS = sinapse.registry.OPS["conv2d"].variants

# (x shape, w shape, strides, padding, dilation)
LAYERS = [
    ((1, 13, 11, 20), (3, 3, 20, 19), 1, "same", 1),  # odd sizes, batch 1, C and K not multiples of 16
    ((2, 9, 10, 17), (3, 3, 17, 33), 1, "valid", 1),  # valid: OH = 7, OW = 8
    ((2, 6, 7, 5), (3, 3, 5, 6), 1, "same", 1),  # few channels: direct applies
    ((1, 8, 8, 3), (3, 3, 3, 4), 1, (2, 0, 3, 1), 1),  # explicit, uneven padding
    ((1, 10, 9, 4), (3, 3, 4, 7), 1, (3, 3, 3, 3), 1),  # padding > 2: the dx transform crops
    ((3, 5, 5, 70), (3, 3, 70, 12), 1, "same", 1),  # more channels than one 64-lane block
    ((1, 4, 4, 2), (3, 3, 2, 3), 1, "valid", 1),  # output 2x2: one partial tile
    ((2, 8, 7, 6), (5, 5, 6, 9), 1, "same", 1),  # 5x5: winograd does not apply
    ((1, 9, 9, 18), (3, 3, 18, 8), 2, "same", 1),  # stride 2: no winograd
    ((2, 5, 6, 3), (1, 1, 3, 5), 1, "valid", 1),  # pointwise: one GEMM
]


# ---- Winograd's error bound
#
# Winograd computes the same sums in a transformed basis: rounding in the transforms is
# amplified by the magnitudes of A, B and G (entries up to 8 in A^T, 5 in B^T; Lavin & Gray
# 2016, section 5), and it is shared by the 16 outputs of a 4x4 tile, which are computed
# together from one 6x6 input tile (an output whose own receptive field is all zeros can get
# rounding from its neighbours'). So the bound is per output, relative to the largest
# sum |x| |w| over a receptive field of its tile (tile_scale). Measured on 400 random small
# layers (1-4 channels, every padding, odd sizes, normal and ReLU-like inputs) and on
# 14x14x64 layers: at most 5.2e-6 (44 float32 epsilons) for y and dx on every SIMD path;
# WINOGRAD_BOUND is 4x that. im2col, per output relative to its own sum |x| |w|: 3.6e-7.
WINOGRAD_BOUND = 2e-5
IM2COL_BOUND = 1.5e-6


def tile_scale(scale):
    """Each output's scale replaced by the largest in its Winograd tile (4x4 blocks from (0, 0))."""
    n, h, w, k = scale.shape
    hp, wp = -(-h // 4) * 4, -(-w // 4) * 4
    s = np.zeros((n, hp, wp, k))
    s[:, :h, :w] = scale
    m = s.reshape(n, hp // 4, 4, wp // 4, 4, k).max(axis=(2, 4))
    return np.repeat(np.repeat(m, 4, axis=1), 4, axis=2)[:, :h, :w]


def filter_scale(dy, x, w, geo):
    """dw's scale: sum |x| |dy| per weight, the largest over the 3x3 taps of each (c, k) (the
    inverse transform mixes the 36 points into all nine taps)."""
    scale = reference.conv2d_backward(np.abs(f64(dy)), np.abs(f64(x)), np.abs(f64(w)), **geo)[1]
    return scale.max(axis=(0, 1), keepdims=True)


def applies(variant, x_shape, w_shape, strides, padding, dilation):
    g = geometry("test", x_shape, w_shape, strides, padding, dilation)
    return variant not in ("direct", "winograd") or not sinapse._cpu.conv2d_variant_refusal(g, variant)


def f64(a):
    return a.astype(np.float64)


def check(rng, x_shape, w_shape, strides, padding, dilation, variant, activation=None):
    """y, dx, dw, db of ``variant`` against the float64 reference. Winograd's y, dx and dw (and
    tuned's, which may run it) are held to WINOGRAD_BOUND relative to sum |x||w| per output,
    the others to the plain fp32 tolerances of tests/test_conv2d.py."""
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[3]).astype(np.float32)
    geo = dict(strides=strides, padding=padding, dilation_rate=dilation)
    y = ops.conv2d(x, w, b, activation=activation, variant=variant, **geo)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw, db = ops.conv2d_backward(dy, x, w, variant=variant, **geo)
    depth = w_shape[0] * w_shape[1] * w_shape[2]
    tol = 1e-5 * np.sqrt(depth) + 1e-5
    pre = reference.conv2d(f64(x), f64(w), f64(b), **geo)
    ref = reference.activation(activation)(pre) if activation else pre
    rdx, rdw, rdb = reference.conv2d_backward(f64(dy), f64(x), f64(w), **geo)
    if variant in ("winograd", "tuned"):
        # the activations used (relu, sigmoid, tanh) have slopes <= 1: the bound carries over
        scale_y = reference.conv2d(np.abs(f64(x)), np.abs(f64(w)), np.abs(f64(b)), **geo)
        scale_dx = reference.conv2d_backward(np.abs(f64(dy)), np.abs(f64(x)), np.abs(f64(w)), **geo)[0]
        assert np.all(np.abs(y - ref) <= WINOGRAD_BOUND * tile_scale(scale_y)), f"y {variant}"
        assert np.all(np.abs(dx - rdx) <= WINOGRAD_BOUND * tile_scale(scale_dx)), f"dx {variant}"
        assert np.all(np.abs(dw - rdw) <= WINOGRAD_BOUND * filter_scale(dy, x, w, geo)), f"dw {variant}"
    else:
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=tol, err_msg=f"y {variant}")
        np.testing.assert_allclose(dx, rdx, rtol=1e-4, atol=tol * 4, err_msg=f"dx {variant}")
        np.testing.assert_allclose(dw, rdw, rtol=1e-4, atol=1e-4 * np.sqrt(dy.size), err_msg=f"dw {variant}")
    np.testing.assert_allclose(db, rdb, rtol=1e-4, atol=1e-4 * np.sqrt(dy.size), err_msg=f"db {variant}")


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", CPU_VARIANTS)
@pytest.mark.parametrize("x_shape,w_shape,strides,padding,dilation", LAYERS)
def test_every_variant_matches_reference(rng, simd, variant, x_shape, w_shape, strides, padding, dilation):
    if not applies(variant, x_shape, w_shape, strides, padding, dilation):
        pytest.skip(f"{variant} does not apply (test_variant_outside_its_domain)")
    with sinapse.cpu.use_simd(simd):
        check(rng, x_shape, w_shape, strides, padding, dilation, variant)


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("variant", ["im2col", "winograd", "tuned"])
def test_fused_bias_and_activation(rng, simd, activation, variant):
    with sinapse.cpu.use_simd(simd):
        check(rng, (2, 7, 9, 24), (3, 3, 24, 20), 1, "same", 1, variant, activation)


@pytest.mark.parametrize("threads", [1, 2])
def test_winograd_across_threads_and_chunks(rng, threads):
    # 4 x 16 x 16 x 96 -> 128: 64 tiles per image, V + M of 36 x (96 + 128) floats per tile
    # fill the 4 MiB chunk after 130 tiles: the 256 tiles run as two chunks and a remainder.
    old = sinapse.get_num_threads()
    sinapse.set_num_threads(threads)
    try:
        check(rng, (4, 16, 18, 96), (3, 3, 96, 128), 1, "same", 1, "winograd")
    finally:
        sinapse.set_num_threads(old)


def normalised_error(x, w, y, pad="same", tiles=True):
    ref = reference.conv2d(f64(x), f64(w), padding=pad)
    scale = reference.conv2d(np.abs(f64(x)), np.abs(f64(w)), padding=pad)
    return float(np.max(np.abs(y - ref) / (tile_scale(scale) if tiles else scale)))


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("relu_like", [False, True])
def test_winograd_error_bound(rng, simd, relu_like):
    x = rng.standard_normal((2, 14, 14, 64)).astype(np.float32)
    if relu_like:
        x = np.maximum(x, 0)
    w = (rng.standard_normal((3, 3, 64, 64)) * np.sqrt(2 / (9 * 64))).astype(np.float32)
    with sinapse.cpu.use_simd(simd):
        err_w = normalised_error(x, w, ops.conv2d(x, w, padding="same", variant="winograd"))
        err_i = normalised_error(x, w, ops.conv2d(x, w, padding="same", variant="im2col"), tiles=False)
        dy = x  # the input gradient: a Winograd forward of dy with the rotated filter
        dx, dw, _ = ops.conv2d_backward(dy, x, w, padding="same", need_db=False, variant="winograd")
    assert err_w < WINOGRAD_BOUND, err_w
    assert err_i < IM2COL_BOUND, err_i
    w_rot = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))
    assert normalised_error(dy, w_rot, dx) < WINOGRAD_BOUND
    rdw = reference.conv2d_backward(f64(dy), f64(x), f64(w), padding="same")[1]
    assert np.max(np.abs(dw - rdw) / filter_scale(dy, x, w, dict(padding="same"))) < WINOGRAD_BOUND


# ---- variant errors


def test_unknown_variant():
    x, w = np.ones((1, 6, 6, 3), np.float32), np.ones((3, 3, 3, 4), np.float32)
    with pytest.raises(
        ValueError, match=r"conv2d: `variant`='fft' is not a variant of conv2d; expected one of naive, im2col"
    ):
        ops.conv2d(x, w, variant="fft")


@pytest.mark.parametrize("backward", [False, True])
def test_variant_outside_its_domain(backward):
    x, w = np.ones((1, 8, 8, 16), np.float32), np.ones((5, 5, 16, 4), np.float32)
    op = "conv2d_backward" if backward else "conv2d"
    call = (
        (lambda v: ops.conv2d_backward(np.ones((1, 4, 4, 4), np.float32), x, w, variant=v))
        if backward
        else (lambda v: ops.conv2d(x, w, variant=v))
    )
    with pytest.raises(
        ValueError,
        match=rf"{op}: variant='winograd' cannot run this layer: the winograd variant needs a 3x3 kernel "
        r"with stride 1 and dilation 1 \(x.shape=\(1, 8, 8, 16\), w.shape=\(5, 5, 16, 4\)",
    ):
        call("winograd")
    # the direct kernels refuse only geometries whose padded rows would dwarf the data: refused
    # before anything is allocated (the output would be 20 million pixels)
    x1, w1, pad = np.ones((1, 1, 1, 1), np.float32), np.ones((1, 1, 1, 1), np.float32), (0, 0, 0, 20_000_000)
    with pytest.raises(
        ValueError, match=r"conv2d: variant='direct' cannot run this layer: the direct variant needs its"
    ):
        ops.conv2d(x1, w1, padding=pad, variant="direct")


def test_binding_refuses_a_variant_outside_its_domain():
    x, w = np.ones((1, 8, 8, 2), np.float32), np.ones((3, 3, 2, 4), np.float32)
    g = geometry("test", x.shape, w.shape, 2, "valid", 1)
    y = np.zeros(g.out_shape, np.float32)
    with pytest.raises(ValueError, match="conv2d: the winograd variant needs a 3x3 kernel with stride 1"):
        sinapse._cpu.conv2d_forward(g, x, w, None, 0, y, "winograd", "generic")


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
@pytest.mark.parametrize("variant", ["im2col", "direct", "winograd"])
def test_cpu_only_variants_on_cuda(variant, monkeypatch):
    x, w = np.ones((1, 6, 6, 3), np.float32), np.ones((3, 3, 3, 4), np.float32)
    with on("cuda_sim"):
        with pytest.raises(
            ValueError,
            match=rf"conv2d: `variant`='{variant}' runs on the CPU only; on the cuda_sim device conv2d has naive, tuned",
        ):
            ops.conv2d(x, w, variant=variant)
        with pytest.raises(ValueError, match=rf"conv2d_backward: `variant`='{variant}' runs on the CPU only"):
            ops.conv2d_backward(np.ones((1, 4, 4, 4), np.float32), x, w, variant=variant)
        monkeypatch.setenv("SINAPSE_CONV2D", variant)
        with pytest.raises(ValueError, match=rf"\$SINAPSE_CONV2D='{variant}' runs on the CPU only"):
            ops.conv2d(x, w)
    g = geometry("test", x.shape, w.shape, 1, "valid", 1)
    with pytest.raises(ValueError, match=f"conv2d: variant '{variant}' runs on the CPU only"):
        sinapse._cuda_sim.conv2d_forward(g, x, w, None, 0, np.zeros(g.out_shape, np.float32), variant, "generic")


def test_variant_from_environment(rng, monkeypatch):
    x = rng.standard_normal((1, 9, 9, 16)).astype(np.float32)
    w = rng.standard_normal((3, 3, 16, 16)).astype(np.float32)
    want = ops.conv2d(x, w, variant="im2col")
    for variant in CPU_VARIANTS:
        monkeypatch.setenv("SINAPSE_CONV2D", variant)
        assert ops.conv2d_variant() == variant
        np.testing.assert_allclose(ops.conv2d(x, w), want, rtol=1e-4, atol=1e-4)


# ---- the selection (the cost model as a function of the shape; no timing)


@pytest.mark.parametrize(
    "x_shape,w_shape,strides,padding,pass_,want",
    [
        ((128, 14, 14, 64), (3, 3, 64, 128), 1, "same", "forward", "winograd"),
        ((128, 14, 14, 64), (3, 3, 64, 128), 1, "same", "dx", "winograd"),
        ((128, 14, 14, 64), (3, 3, 64, 128), 1, "same", "dw", "winograd"),
        ((128, 7, 7, 128), (3, 3, 128, 256), 1, "same", "forward", "winograd"),
        ((128, 13, 13, 32), (3, 3, 32, 64), 1, "valid", "forward", "winograd"),
        ((32, 27, 27, 96), (5, 5, 96, 256), 1, "same", "forward", "direct"),  # 5x5: no winograd
        ((32, 55, 55, 64), (3, 3, 64, 64), 2, "same", "forward", "direct"),  # stride 2: no winograd
        ((32, 55, 55, 3), (3, 3, 3, 64), 2, "same", "dw", "im2col"),  # C = 3: no direct dW
        ((64, 28, 28, 64), (1, 1, 64, 32), 1, "valid", "forward", "im2col"),  # pointwise: one GEMM
        ((64, 28, 28, 64), (1, 1, 64, 32), 1, "valid", "dx", "im2col"),
        ((128, 28, 28, 1), (3, 3, 1, 32), 1, "valid", "forward", "direct"),  # 1 channel
        ((128, 32, 32, 1), (5, 5, 1, 6), 1, "valid", "forward", "direct"),  # LeNet C1
        ((128, 32, 32, 1), (5, 5, 1, 6), 1, "valid", "dx", "direct"),
        ((32, 227, 227, 3), (11, 11, 3, 96), 4, "valid", "forward", "direct"),  # AlexNet conv1
        ((32, 227, 227, 3), (11, 11, 3, 96), 4, "valid", "dw", "im2col"),  # dW too big for the direct dw
        ((128, 16, 16, 16), (3, 3, 16, 8), 1, "same", "forward", "direct"),  # K < 16: no winograd
        ((128, 28, 28, 16), (3, 3, 16, 16), 1, "same", "dw", "direct"),  # dW: winograd from 32 channels
        ((128, 28, 28, 16), (3, 3, 16, 32), 1, "same", "dw", "direct"),
        ((128, 13, 13, 32), (3, 3, 32, 64), 1, "valid", "dw", "winograd"),
    ],
)
def test_selection(x_shape, w_shape, strides, padding, pass_, want):
    assert conv2d_algorithm(x_shape, w_shape, strides=strides, padding=padding, pass_=pass_) == want


def test_selection_never_picks_outside_the_domain():
    rng = np.random.default_rng(0)
    for _ in range(300):
        c, k, kh = (int(v) for v in (rng.integers(1, 300), rng.integers(1, 300), rng.integers(1, 6)))
        s = int(rng.integers(1, 3))
        x_shape, w_shape = (int(rng.integers(1, 64)), 16, 16, c), (kh, kh, c, k)
        g = geometry("test", x_shape, w_shape, s, "same", 1)
        for pass_ in ("forward", "dx", "dw"):
            got = conv2d_algorithm(x_shape, w_shape, strides=s, padding="same", pass_=pass_)
            assert got in ("im2col", "direct", "winograd")
            if got != "im2col":
                assert sinapse._cpu.conv2d_variant_refusal(g, got) == "", (x_shape, w_shape, s, pass_, got)


def test_cost_model_is_infinite_outside_the_domain():
    g = geometry("test", (1, 8, 8, 32), (5, 5, 32, 32), 1, "same", 1)
    assert sinapse._cpu.conv2d_cost(g, "forward", "winograd") == float("inf")
    assert 0 < sinapse._cpu.conv2d_cost(g, "forward", "im2col") < float("inf")
    huge = geometry("test", (1, 1, 1, 1), (1, 1, 1, 1), 1, (0, 0, 0, 20_000_000), 1)
    assert sinapse._cpu.conv2d_cost(huge, "forward", "direct") == float("inf")
    assert conv2d_algorithm((1, 1, 1, 1), (1, 1, 1, 1), padding=(0, 0, 0, 20_000_000)) == "im2col"


def test_conv2d_algorithm_bad_pass():
    with pytest.raises(ValueError, match=r"conv2d_algorithm: `pass_`='backward'; expected one of forward, dx, dw"):
        conv2d_algorithm((1, 4, 4, 1), (3, 3, 1, 1), pass_="backward")


@pytest.mark.parametrize("simd", SIMD_PATHS)
def test_winograd_nan_reaches_at_least_the_reference_outputs(rng, simd):
    # A NaN or Inf input reaches every output whose receptive field holds it, as in the
    # reference, and possibly other outputs of the same 4x4 tile (the transforms mix the
    # whole 6x6 input tile); every finite output still matches.
    x = rng.standard_normal((1, 10, 11, 16)).astype(np.float32)
    w = rng.standard_normal((3, 3, 16, 16)).astype(np.float32)
    x[0, 4, 6, 3], x[0, 9, 0, 7] = np.nan, np.inf
    with sinapse.cpu.use_simd(simd):
        y = ops.conv2d(x, w, padding="same", variant="winograd")
    ref = reference.conv2d(f64(x), f64(w), padding="same")
    assert np.all(~np.isfinite(y)[~np.isfinite(ref)])
    finite = np.isfinite(y)
    np.testing.assert_allclose(y[finite], ref[finite], rtol=1e-4, atol=1e-4)
