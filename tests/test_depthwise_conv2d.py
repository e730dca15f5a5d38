"""depthwise_conv2d (depthwise and grouped convolution, NHWC) forward and backward on every
backend and variant against the NumPy reference: MobileNet's layers, awkward shapes (channel
blocks of 16 and their tails, borders, strides, dilation, depth multipliers, groups), the
deterministic dW, gradient checks against finite differences, and every bad input."""

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.registry import OPS

VARIANTS = OPS["depthwise_conv2d"].variants_on("cpu")
# (x shape, w shape, groups, strides, padding, dilation_rate)
CONFIGS = [
    ((2, 9, 10, 32), (3, 3, 32, 1), None, 1, "same", 1),  # MobileNet's 3x3 stride 1, small
    ((1, 9, 9, 16), (3, 3, 16, 1), None, 2, "same", 1),  # MobileNet's stride 2 (odd size)
    ((1, 8, 8, 16), (3, 3, 16, 1), None, 2, "same", 1),  # stride 2, even size
    ((1, 7, 11, 37), (3, 3, 37, 1), None, 1, "valid", 1),  # a 16-channel block tail of 5
    ((2, 6, 7, 5), (3, 2, 5, 2), None, (2, 1), "same", 1),  # depth multiplier 2, rectangular
    ((1, 8, 9, 3), (3, 3, 3, 3), None, 1, "same", (2, 1)),  # multiplier 3, dilation
    ((1, 5, 5, 20), (5, 5, 20, 1), None, 1, (1, 0, 2, 3), 1),  # explicit padding, 5x5
    ((1, 1, 1, 4), (1, 1, 4, 1), None, 1, "valid", 1),  # 1x1 image
    ((2, 6, 6, 8), (3, 3, 4, 6), 2, 1, "same", 1),  # Conv2D(groups=2)
    ((1, 7, 5, 12), (3, 3, 3, 8), 4, 2, "valid", 1),  # groups=4, stride 2
    ((1, 5, 6, 6), (2, 2, 6, 4), 1, 1, "same", 1),  # groups=1: a plain conv2d
    ((1, 6, 6, 4), (3, 3, 1, 8), 4, 1, "same", 1),  # groups = C: depthwise spelled grouped
]
IDS = [f"{c[0]}-{c[1]}-g{c[2]}" for c in CONFIGS]


def inputs(rng, xs, ws):
    return rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)


def run(backend, x, w, bias, dy_seed, variant=None, **geo):
    with on(backend):
        y = ops.depthwise_conv2d(x, w, bias, variant=variant, **geo)
        dy = np.random.default_rng(dy_seed).standard_normal(y.shape).astype(np.float32)
        grads = ops.depthwise_conv2d_backward(dy, x, w, variant=variant, **geo)
    return y, dy, grads


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("xs,ws,groups,strides,padding,dilation", CONFIGS, ids=IDS)
def test_matches_reference(rng, backend, variant, xs, ws, groups, strides, padding, dilation):
    x, w = inputs(rng, xs, ws)
    geo = dict(strides=strides, padding=padding, dilation_rate=dilation, groups=groups)
    k = ws[3] if groups is not None else xs[3] * ws[3]
    bias = rng.standard_normal(k).astype(np.float32)
    y, dy, (dx, dw, db) = run(backend, x, w, bias, 1, variant, **geo)
    f64 = [a.astype(np.float64) for a in (x, w, bias, dy)]
    np.testing.assert_allclose(y, reference.depthwise_conv2d(*f64[:3], **geo), rtol=1e-5, atol=1e-5)
    rdx, rdw, rdb = reference.depthwise_conv2d_backward(f64[3], f64[0], f64[1], **geo)
    for got, want in ((dx, rdx), (dw, rdw), (db, rdb)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_depthwise_is_grouped_with_groups_equal_channels(rng):
    """Keras's (KH, KW, C, M) layout is grouped (KH, KW, 1, C * M) weights with groups = C."""
    x, w = inputs(rng, (1, 6, 5, 3), (3, 3, 3, 2))
    a = ops.depthwise_conv2d(x, w, padding="same")
    b = ops.depthwise_conv2d(x, w.reshape(3, 3, 1, 6), padding="same", groups=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1, 6, 5, 6)


def test_output_channel_order_is_keras(rng):
    """Output channel c * M + m is input channel c convolved with w[:, :, c, m]."""
    x, w = inputs(rng, (1, 4, 4, 3), (1, 1, 3, 2))
    y = ops.depthwise_conv2d(x, w)
    for c in range(3):
        for m in range(2):
            np.testing.assert_allclose(y[..., c * 2 + m], x[..., c] * w[0, 0, c, m], rtol=1e-6)


def test_groups_one_is_conv2d(rng):
    x, w = inputs(rng, (2, 7, 6, 5), (3, 3, 5, 4))
    np.testing.assert_allclose(
        ops.depthwise_conv2d(x, w, groups=1, padding="same"), ops.conv2d(x, w, padding="same"), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("groups,ws", [(None, (3, 3, 40, 1)), (4, (3, 3, 10, 8))])
def test_dw_is_deterministic_across_thread_counts(rng, backend, groups, ws):
    import sinapse

    x = rng.standard_normal((3, 20, 18, 40)).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        sinapse.set_num_threads(threads)
        try:
            _, _, grads = run(backend, x, w, None, 5, strides=1, padding="same", groups=groups)
        finally:
            sinapse.set_num_threads(2)
        results.append(grads)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_need_flags_and_out(rng, backend):
    x, w = inputs(rng, (1, 6, 6, 4), (3, 3, 4, 1))
    with on(backend):
        y = ops.depthwise_conv2d(x, w, padding="same")
        out = np.full_like(y, np.nan)
        assert ops.depthwise_conv2d(x, w, padding="same", out=out) is out
        np.testing.assert_array_equal(out, y)
        dx, dw, db = ops.depthwise_conv2d_backward(y, x, w, padding="same", need_dx=False, need_db=False)
        assert dx is None and db is None and dw.shape == w.shape
        dws = np.zeros_like(w)
        _, got, _ = ops.depthwise_conv2d_backward(y, x, w, padding="same", need_dx=False, out=(None, dws, None))
        assert got is dws
        np.testing.assert_array_equal(dws, dw)


def test_empty_batch(rng):
    x, w = inputs(rng, (0, 5, 5, 3), (3, 3, 3, 1))
    assert ops.depthwise_conv2d(x, w, padding="same").shape == (0, 5, 5, 3)
    dx, dw, db = ops.depthwise_conv2d_backward(np.zeros((0, 5, 5, 3), np.float32), x, w, padding="same")
    assert dx.shape == (0, 5, 5, 3)
    np.testing.assert_array_equal(dw, 0)
    np.testing.assert_array_equal(db, 0)


def test_variant_from_environment(monkeypatch):
    monkeypatch.setenv("SINAPSE_DEPTHWISE_CONV2D", "fast")
    x = np.zeros((1, 3, 3, 2), np.float32)
    with pytest.raises(ValueError, match=r"SINAPSE_DEPTHWISE_CONV2D='fast'"):
        ops.depthwise_conv2d(x, np.zeros((1, 1, 2, 1), np.float32))


def test_gradient_matches_finite_differences(rng):
    """The reference's gradient against central differences in float64, depthwise and grouped."""
    for ws, groups in (((3, 2, 2, 2), None), ((2, 2, 2, 4), 2)):
        x, w = rng.standard_normal((1, 5, 4, 4 if groups else 2)), rng.standard_normal(ws)
        geo = dict(strides=(2, 1), padding="same", dilation_rate=(1, 2), groups=groups)
        y = reference.depthwise_conv2d(x, w, **geo)
        dy = rng.standard_normal(y.shape)
        dx, dw, _ = reference.depthwise_conv2d_backward(dy, x, w, **geo)
        h = 1e-6
        for arr, grad in ((x, dx), (w, dw)):
            numeric = np.zeros_like(arr)
            for idx in np.ndindex(arr.shape):
                orig = arr[idx]
                arr[idx] = orig + h
                plus = (reference.depthwise_conv2d(x, w, **geo) * dy).sum()
                arr[idx] = orig - h
                minus = (reference.depthwise_conv2d(x, w, **geo) * dy).sum()
                arr[idx] = orig
                numeric[idx] = (plus - minus) / (2 * h)
            np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_kernels_match_finite_differences(rng):
    """The CPU kernels' gradient of sum(y * dy) against central differences (float32, loose)."""
    x, w = inputs(rng, (1, 5, 5, 3), (3, 3, 3, 2))
    dy = rng.standard_normal((1, 3, 3, 6)).astype(np.float32)
    geo = dict(strides=2, padding="same")
    dx, dw, _ = ops.depthwise_conv2d_backward(dy, x, w, **geo)
    h = 1e-2
    for arr, grad in ((x, dx), (w, dw)):
        for idx in list(np.ndindex(arr.shape))[::7]:
            orig = arr[idx]
            arr[idx] = orig + h
            plus = float((ops.depthwise_conv2d(x, w, **geo).astype(np.float64) * dy).sum())
            arr[idx] = orig - h
            minus = float((ops.depthwise_conv2d(x, w, **geo).astype(np.float64) * dy).sum())
            arr[idx] = orig
            assert abs((plus - minus) / (2 * h) - grad[idx]) < 2e-2


CUDA = pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")


@CUDA
@pytest.mark.parametrize("variant", VARIANTS)
def test_plain_simulation_matches_reference(rng, variant):
    """The CUDA kernels under the plain simulator (no guard pages, no race check), around the
    tuned tile's edges: 4 x 8 output tiles, 32-channel blocks (40 channels: one tail block)."""
    import sinapse

    x, w = inputs(rng, (2, 9, 17, 40), (3, 3, 40, 1))
    geo = dict(strides=1, padding="same")
    with sinapse.cuda.simulate():
        y = ops.depthwise_conv2d(x, w, variant=variant, **geo)
        dx, dw, db = ops.depthwise_conv2d_backward(y, x, w, variant=variant, **geo)
    f64 = [a.astype(np.float64) for a in (x, w, y)]
    np.testing.assert_allclose(y, reference.depthwise_conv2d(f64[0], f64[1], **geo), rtol=1e-5, atol=1e-5)
    for got, want in zip((dx, dw, db), reference.depthwise_conv2d_backward(f64[2], f64[0], f64[1], **geo)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


@CUDA
def test_variant_reaches_the_cuda_kernel(rng):
    """tuned runs the shared-memory tile kernel (the forward, and dx of unit-stride layers) and the
    block reductions; naive its own kernels; a layer whose tile does not fit (dilation 40) runs the
    naive forward under tuned too, and a strided layer's dx the gather."""
    import sinapse

    x, w = inputs(rng, (1, 6, 90, 4), (3, 3, 4, 1))
    launched = {}
    for v in VARIANTS:
        with on("cuda_sim"):
            y = ops.depthwise_conv2d(x, w, padding="same", variant=v)
            launched[v, "forward"] = sinapse._cuda_sim.last_launch()
            ops.depthwise_conv2d_backward(y, x, w, padding="same", variant=v, need_dx=False, need_db=False)
            launched[v, "dw"] = sinapse._cuda_sim.last_launch()
            ops.depthwise_conv2d_backward(y, x, w, padding="same", variant=v, need_dw=False, need_db=False)
            launched[v, "dx"] = sinapse._cuda_sim.last_launch()
            ops.depthwise_conv2d_backward(
                np.ascontiguousarray(y[:, ::2]),
                x,
                w,
                strides=(2, 1),
                padding="same",
                variant=v,
                need_dw=False,
                need_db=False,
            )
            launched[v, "dx strided"] = sinapse._cuda_sim.last_launch()
            ops.depthwise_conv2d(x, w, padding="same", dilation_rate=(1, 40), variant=v)
            launched[v, "wide"] = sinapse._cuda_sim.last_launch()
    assert launched["tuned", "forward"].startswith("depthwise_conv2d_forward_tiled_kernel<<<")
    assert launched["naive", "forward"].startswith("depthwise_conv2d_forward_naive_kernel<<<")
    assert launched["tuned", "dw"].startswith("depthwise_conv2d_dw_tuned_kernel<<<")
    assert launched["naive", "dw"].startswith("depthwise_conv2d_dw_naive_kernel<<<")
    assert launched["tuned", "wide"].startswith("depthwise_conv2d_forward_naive_kernel<<<")
    assert launched["tuned", "dx"].startswith("depthwise_conv2d_dx_tiled_kernel<<<")
    assert launched["naive", "dx"].startswith("depthwise_conv2d_dx_kernel<<<")
    assert launched["tuned", "dx strided"].startswith("depthwise_conv2d_dx_kernel<<<")


@CUDA
def test_mutant_is_caught(rng):
    """The tiled forward without its barrier between loading the tile and reading it: the race
    check names the race, and the plain simulator's result is wrong (the tests would fail)."""
    import sinapse
    from sinapse.ops.depthwise_conv2d import geometry

    x, w = inputs(rng, (1, 6, 9, 8), (3, 3, 8, 1))
    g = geometry("test", x.shape, w.shape, 1, "same", 1, None)
    y = np.zeros(g.out_shape, np.float32)
    with sinapse.cuda.simulate(racecheck=True):
        with pytest.raises(RuntimeError, match=r"shared-memory race on `tile`"):
            sinapse._cuda_sim.depthwise_conv2d_mutant(g, x, w, y, "nosync")
    with sinapse.cuda.simulate():
        sinapse._cuda_sim.depthwise_conv2d_mutant(g, x, w, y, "nosync")
    want = reference.depthwise_conv2d(x.astype(np.float64), w.astype(np.float64), padding="same")
    assert not np.allclose(y, want, rtol=1e-4, atol=1e-4)


BAD = [
    (dict(x=(5, 5, 3)), ValueError, r"depthwise_conv2d: `x` must be 4-D"),
    (dict(w=(3, 3, 3)), ValueError, r"`w` must be 4-D \(KH, KW, C, depth_multiplier\)"),
    (dict(w=(3, 3, 4, 1)), ValueError, r"`w` must be \(KH, KW, C, depth_multiplier\) for `x` with 3 channels"),
    (dict(w=(3, 3, 1, 4), groups=2), ValueError, r"`groups`=2 must divide the input channels \(3\)"),
    (dict(w=(3, 3, 2, 3), groups=3), ValueError, r"`w` must be \(KH, KW, C // groups, K\) = \(KH, KW, 1, K\)"),
    (dict(groups=0), ValueError, r"`groups`"),
    (dict(groups=1.5), TypeError, r"`groups`"),
    (dict(w=(9, 9, 3, 1)), ValueError, r"kernel .* is larger than the padded input"),
    (dict(strides=0), ValueError, r"`strides`"),
    (dict(padding="full"), ValueError, r"`padding`"),
    (dict(variant="fast"), ValueError, r"`variant`='fast' is not a variant of depthwise_conv2d"),
]


@pytest.mark.parametrize("kw,exc,match", BAD)
def test_bad_input(kw, exc, match):
    kw = dict(kw)
    x = np.zeros(kw.pop("x", (1, 5, 5, 3)), np.float32)
    w = np.zeros(kw.pop("w", (3, 3, 3, 1)), np.float32)
    with pytest.raises(exc, match=match):
        ops.depthwise_conv2d(x, w, **kw)


def test_bad_dtype_bias_dy_and_out():
    x, w = np.zeros((1, 5, 5, 3), np.float32), np.zeros((3, 3, 3, 2), np.float32)
    with pytest.raises(TypeError, match="depthwise_conv2d"):
        ops.depthwise_conv2d(x.astype(np.float64), w)
    with pytest.raises(ValueError, match=r"depthwise_conv2d: `bias`"):
        ops.depthwise_conv2d(x, w, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"depthwise_conv2d: `out`"):
        ops.depthwise_conv2d(x, w, out=np.zeros((1, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"depthwise_conv2d_backward: `dy`"):
        ops.depthwise_conv2d_backward(np.zeros((1, 3, 3, 3), np.float32), x, w)
