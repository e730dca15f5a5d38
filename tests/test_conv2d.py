"""conv2d (NHWC, HWIO) forward and backward on the CPU (im2col + GEMM) and on the simulated
CUDA kernels, against the einsum reference: seed-model layers, awkward configurations,
random configurations (hypothesis), the batch-tiled workspace, a mutant kernel the tests
must catch, the reference's own gradient by finite differences, and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sinapse
from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.ops.conv2d import geometry

# (x shape, w shape, strides, padding, dilation)
CONFIGS = [
    ((2, 28, 28, 1), (3, 3, 1, 8), 1, "valid", 1),  # Keras MNIST convnet, 1 input channel
    ((1, 13, 13, 8), (3, 3, 8, 16), 1, "valid", 1),  # ... its second layer (fewer channels)
    ((2, 28, 28, 1), (7, 7, 1, 4), 1, "same", 1),  # Géron's Fashion-MNIST CNN, 7x7 same
    ((1, 32, 32, 1), (5, 5, 1, 6), 1, "valid", 1),  # LeNet-5 C1
    ((1, 14, 14, 6), (5, 5, 6, 16), 1, "valid", 1),  # LeNet-5 C3
    ((1, 35, 35, 3), (11, 11, 3, 4), 4, "valid", 1),  # AlexNet conv1 geometry (small)
    ((1, 7, 7, 65), (3, 3, 65, 3), 1, "same", 1),  # 65 channels
    ((2, 5, 6, 3), (1, 1, 3, 5), 1, "valid", 1),  # 1x1 stride 1: the GEMM path
    ((1, 6, 5, 2), (1, 1, 2, 3), 2, "valid", 1),  # 1x1 stride 2: not a plain GEMM
    ((1, 9, 9, 2), (3, 3, 2, 2), (2, 1), "same", (2, 3)),  # dilation and rectangular strides
    ((1, 4, 4, 1), (3, 3, 1, 1), 1, (2, 3, 0, 4), 1),  # explicit padding larger than needed
    ((1, 3, 3, 2), (3, 3, 2, 4), 1, "valid", 1),  # output size 1
    ((3, 8, 8, 2), (2, 2, 2, 3), 3, "same", 1),  # kernel smaller than stride
]


def run(backend, x, w, b, dy_seed, strides, padding, dilation, activation=None, variant=None):
    with on(backend):
        y = ops.conv2d(
            x, w, b, strides=strides, padding=padding, dilation_rate=dilation, activation=activation, variant=variant
        )
        dy = np.random.default_rng(dy_seed).standard_normal(y.shape).astype(np.float32)
        grads = ops.conv2d_backward(dy, x, w, strides=strides, padding=padding, dilation_rate=dilation, variant=variant)
    return y, dy, grads


def check(rng, backend, x_shape, w_shape, strides, padding, dilation, variant=None):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[3]).astype(np.float32)
    y, dy, (dx, dw, db) = run(backend, x, w, b, 1, strides, padding, dilation, variant=variant)
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    geo = dict(strides=strides, padding=padding, dilation_rate=dilation)
    depth = w_shape[0] * w_shape[1] * w_shape[2]
    tol = 1e-5 * np.sqrt(depth) + 1e-5
    np.testing.assert_allclose(y, reference.conv2d(f64(x), f64(w), f64(b), **geo), rtol=1e-4, atol=tol)
    rdx, rdw, rdb = reference.conv2d_backward(f64(dy), f64(x), f64(w), **geo)
    np.testing.assert_allclose(dx, rdx, rtol=1e-4, atol=tol * 4)
    np.testing.assert_allclose(dw, rdw, rtol=1e-4, atol=1e-4 * np.sqrt(dy.size))
    np.testing.assert_allclose(db, rdb, rtol=1e-4, atol=1e-4 * np.sqrt(dy.size))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x_shape,w_shape,strides,padding,dilation", CONFIGS)
def test_configs_match_reference(rng, backend, x_shape, w_shape, strides, padding, dilation):
    check(rng, backend, x_shape, w_shape, strides, padding, dilation)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x_shape,w_shape,strides,padding,dilation", CONFIGS)
def test_naive_variant_matches_reference(rng, backend, x_shape, w_shape, strides, padding, dilation):
    check(rng, backend, x_shape, w_shape, strides, padding, dilation, variant="naive")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh"])
def test_pointwise_variants_agree(rng, backend, activation):
    """A 1x1 stride-1 convolution: tuned runs one GEMM (bias and activation in its epilogue,
    dx and dW GEMMs too), naive the direct kernels; the two agree on every output."""
    x = rng.standard_normal((3, 5, 7, 6)).astype(np.float32)
    w = rng.standard_normal((1, 1, 6, 9)).astype(np.float32)
    b = rng.standard_normal(9).astype(np.float32)
    dy = rng.standard_normal((3, 5, 7, 9)).astype(np.float32)
    got = []
    with on(backend):
        for v in ("naive", "tuned"):
            y = ops.conv2d(x, w, b, activation=activation, variant=v)
            got.append((y, *ops.conv2d_backward(dy, x, w, variant=v)))
    for label, a, c in zip(("y", "dx", "dw", "db"), *got):
        np.testing.assert_allclose(c, a, rtol=1e-5, atol=1e-5, err_msg=label)


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_cuda_variant_reaches_the_kernel(rng):
    """CUDA conv2d honours variant=: a pointwise convolution is one GEMM when tuned, the
    direct kernel when naive (the simulator names the latest launch)."""
    import sinapse

    x = rng.standard_normal((1, 4, 4, 3)).astype(np.float32)
    w = rng.standard_normal((1, 1, 3, 5)).astype(np.float32)
    for v, kernel in (("naive", "conv2d_forward_kernel"), ("tuned", "gemm_tuned_kernel")):
        with on("cuda_sim"):
            ops.conv2d(x, w, variant=v)
            launch = sinapse._cuda_sim.last_launch()
        assert launch.startswith(kernel + "<"), launch


def test_variant_from_environment(rng, monkeypatch):
    x = rng.standard_normal((1, 6, 6, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    monkeypatch.setenv("SINAPSE_CONV2D", "naive")
    naive = ops.conv2d(x, w)
    monkeypatch.setenv("SINAPSE_CONV2D", "fastest")
    with pytest.raises(ValueError, match=r"\$SINAPSE_CONV2D='fastest' is not a variant"):
        ops.conv2d(x, w)
    monkeypatch.delenv("SINAPSE_CONV2D")
    np.testing.assert_allclose(naive, ops.conv2d(x, w), rtol=1e-5, atol=1e-5)


@given(
    n=st.integers(1, 2),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    c=st.integers(1, 11),
    k=st.integers(1, 20),
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    dh=st.integers(1, 2),
    dw=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same", "explicit"]),
    backend=st.sampled_from(BACKENDS),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=80)  # C up to 11: both the direct (C <= 8) and the im2col path
def test_random_configurations(n, h, w, c, k, kh, kw, sh, sw, dh, dw, padding, backend, seed):
    rng = np.random.default_rng(seed)
    pad = tuple(int(v) for v in rng.integers(0, 3, 4)) if padding == "explicit" else padding
    try:
        geometry("test", (n, h, w, c), (kh, kw, c, k), (sh, sw), pad, (dh, dw))
    except ValueError:
        return  # kernel larger than the padded input: refused (tested below)
    check(rng, backend, (n, h, w, c), (kh, kw, c, k), (sh, sw), pad, (dh, dw))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_fused_bias_and_activation(rng, backend, activation):
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    with on(backend):
        fused = ops.conv2d(x, w, b, padding="same", activation=activation)
        plain = ops.conv2d(x, w, b, padding="same")
    np.testing.assert_allclose(fused, reference.activation(activation)(plain.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_batch_tiles_bound_the_workspace(rng):
    # 64x64x128 images: one image's im2col rows take 18.9 MB, more than the 4 MB
    # workspace: each tile is one image (the minimum) and the 3 images run as 3 tiles (dW accumulates across them).
    check(rng, "cpu", (3, 64, 64, 128), (3, 3, 128, 2), 1, "same", 1)


def test_pointwise_convolution_reads_x_in_place(rng):
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((1, 1, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ops.conv2d(x, w), ops.gemm(x.reshape(-1, 6), w.reshape(6, 3)).reshape(2, 4, 5, 3), rtol=1e-6
    )


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_mutant_is_caught(rng):
    x = rng.standard_normal((1, 6, 6, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 2)).astype(np.float32)
    g = geometry("test", x.shape, w.shape, 1, "same", 1)
    y = np.zeros((1, 6, 6, 2), np.float32)
    sinapse._cuda_sim.conv2d_mutant(g, x, w, y, "forward_nopad")
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(
            y, reference.conv2d(x.astype(np.float64), w.astype(np.float64), padding="same"), rtol=1e-4, atol=1e-4
        )


def test_reference_gradient_matches_finite_differences(rng):
    x, w = rng.standard_normal((1, 5, 4, 2)), rng.standard_normal((3, 2, 2, 2))
    g = geometry("test", x.shape, w.shape, (2, 1), "same", (1, 2))
    dy = rng.standard_normal((1, g.OH, g.OW, 2))
    geo = dict(strides=(2, 1), padding="same", dilation_rate=(1, 2))
    dx, dw, _ = reference.conv2d_backward(dy, x, w, **geo)
    h = 1e-6
    for arr, grad in ((x, dx), (w, dw)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            arr[idx] = orig + h
            plus = (reference.conv2d(x, w, **geo) * dy).sum()
            arr[idx] = orig - h
            minus = (reference.conv2d(x, w, **geo) * dy).sum()
            arr[idx] = orig
            numeric[idx] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


X4, W4 = np.ones((1, 4, 4, 2), np.float32), np.ones((3, 3, 2, 5), np.float32)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: ops.conv2d(X4[0], W4), ValueError, r"conv2d: `x` must be 4-D \(N, H, W, C\)"),
        (lambda: ops.conv2d(X4, W4[0]), ValueError, r"conv2d: `w` must be 4-D \(KH, KW, C, K\)"),
        (
            lambda: ops.conv2d(X4, np.ones((3, 3, 3, 5), np.float32)),
            ValueError,
            r"conv2d: `x` has 2 channels but `w` expects 3",
        ),
        (
            lambda: ops.conv2d(X4, np.ones((5, 5, 2, 1), np.float32)),
            ValueError,
            r"conv2d: the kernel \(5x5 with dilation\) is larger than the padded input \(4x4\)",
        ),
        (lambda: ops.conv2d(X4, W4, strides=0), ValueError, r"conv2d: `strides` must be a positive int"),
        (lambda: ops.conv2d(X4, W4, padding=(1, -1, 0, 0)), ValueError, r"conv2d: `padding` must not be negative"),
        (lambda: ops.conv2d(X4, W4, padding="full"), ValueError, r"conv2d: `padding` must be 'valid', 'same'"),
        (lambda: ops.conv2d(X4, W4, np.ones(4, np.float32)), ValueError, r"conv2d: `bias` must have shape \(5,\)"),
        (lambda: ops.conv2d(X4.astype(np.float64), W4), TypeError, r"conv2d: `x` must be float32"),
        (lambda: ops.conv2d(X4, W4, activation="gelu"), ValueError, r"conv2d: unknown activation 'gelu'"),
        (
            lambda: ops.conv2d_backward(np.ones((1, 3, 3, 5), np.float32), X4, W4),
            ValueError,
            r"conv2d_backward: `dy` must have shape \(1, 2, 2, 5\)",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("threads", [1, 2])
def test_direct_filter_gradient_across_threads(rng, threads):
    # Few input channels take the direct dW kernel (per-thread accumulators added in thread
    # order); big enough here that two threads really split the images. K = 20 pads to 32
    # lanes, OW = 13 leaves a partial tile of 4 pixels.
    old = sinapse.get_num_threads()
    sinapse.set_num_threads(threads)
    try:
        check(rng, "cpu", (16, 15, 15, 3), (5, 5, 3, 20), 1, "same", 1)
    finally:
        sinapse.set_num_threads(old)
