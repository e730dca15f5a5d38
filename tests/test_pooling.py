"""Max and average pooling (NHWC) on the CPU kernels and the simulated CUDA kernels against
the reference: seed-model configurations, awkward shapes, random configurations
(hypothesis), identical tie-breaking on both backends, Keras's "same" averaging, gradient
checks, and bad input. Every kernel variant of the registry (naive, tuned) on every backend,
and the variants against each other (same bits)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.ops.pooling import geometry
from sinapse.registry import OPS

KINDS = ["max", "avg"]
VARIANTS = OPS["pooling"].variants
# (input shape, pool, strides, padding): the seed models' layers, then awkward cases.
CONFIGS = [
    ((2, 26, 26, 32), 2, None, "valid"),  # Keras MNIST convnet
    ((1, 55, 55, 3), 3, 2, "valid"),  # AlexNet's overlapping 3x3 stride 2 (3 channels)
    ((2, 28, 28, 6), 2, 2, "valid"),  # LeNet-5 average pooling
    ((1, 7, 5, 65), 3, 2, "same"),  # 65 channels, odd sizes, same padding
    ((3, 4, 4, 1), 4, 1, "valid"),  # output size 1
    ((1, 5, 5, 2), (2, 3), (3, 1), "same"),  # rectangular window and strides
    ((1, 1, 1, 4), 1, 1, "valid"),  # 1x1 image
    ((2, 6, 6, 3), 3, 1, "same"),  # window larger than stride
]


def run(kind, backend, x, dy_seed, pool, strides, padding, variant=None):
    with on(backend):
        y = getattr(ops, f"{kind}_pool2d")(x, pool, strides, padding, variant=variant)
        dy = np.random.default_rng(dy_seed).standard_normal(y.shape).astype(np.float32)
        dx = getattr(ops, f"{kind}_pool2d_backward")(dy, x, pool, strides, padding, variant=variant)
    return y, dy, dx


def check_against_reference(kind, backend, x, pool, strides, padding, variant=None):
    y, dy, dx = run(kind, backend, x, 0, pool, strides, padding, variant)
    ry = getattr(reference, f"{kind}_pool2d")(x.astype(np.float64), pool, strides, padding)
    rdx = getattr(reference, f"{kind}_pool2d_backward")(
        dy.astype(np.float64), x.astype(np.float64), pool, strides, padding
    )
    np.testing.assert_allclose(y, ry, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, rdx, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape,pool,strides,padding", CONFIGS)
def test_configs_match_reference(rng, backend, kind, shape, pool, strides, padding, variant):
    x = rng.standard_normal(shape).astype(np.float32)
    check_against_reference(kind, backend, x, pool, strides, padding, variant)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape,pool,strides,padding", CONFIGS[3:])
def test_variants_agree(backend, kind, shape, pool, strides, padding):
    """Max: the same bits (a selection, and the same additions in the same order). Average:
    the same sums in the same order, but the tuned CPU code may fuse a multiply-add (FMA on
    the AVX paths): within an ulp."""
    # Integers: many equal maxima, so the tie rule is exercised; a NaN: the first NaN rule.
    x = np.random.default_rng(3).integers(0, 3, shape).astype(np.float32)
    x.flat[x.size // 2] = np.nan
    runs = [run(kind, backend, x, 7, pool, strides, padding, v) for v in VARIANTS]
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            if kind == "max":
                np.testing.assert_array_equal(a, b)
            else:
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_variant_reaches_the_cuda_kernel():
    """Each variant name launches its own kernels (the simulator names the latest launch)."""
    import sinapse

    x = np.random.default_rng(0).standard_normal((1, 5, 5, 3)).astype(np.float32)
    for kind in KINDS:
        for v in VARIANTS:
            with on("cuda_sim"):
                y = getattr(ops, f"{kind}_pool2d")(x, 3, 2, "same", variant=v)
                forward = sinapse._cuda_sim.last_launch()
                getattr(ops, f"{kind}_pool2d_backward")(y, x, 3, 2, "same", variant=v)
                backward = sinapse._cuda_sim.last_launch()
            suffix = "_naive_kernel" if v == "naive" else "_kernel"
            assert forward.startswith(f"{kind}_pool2d_forward{suffix}<<<"), forward
            assert backward.startswith(f"{kind}_pool2d_backward{suffix}<<<"), backward


def test_variant_from_environment(rng, monkeypatch):
    x = rng.standard_normal((1, 6, 6, 3)).astype(np.float32)
    monkeypatch.setenv("SINAPSE_POOLING", "naive")
    naive = ops.max_pool2d(x, 3, 2, "same")
    monkeypatch.setenv("SINAPSE_POOLING", "fastest")
    with pytest.raises(ValueError, match=r"avg_pool2d: \$SINAPSE_POOLING='fastest' is not a variant of pooling"):
        ops.avg_pool2d(x)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: `variant`='slow' is not a variant of pooling"):
        ops.max_pool2d_backward(naive, x, 3, 2, "same", variant="slow")
    monkeypatch.delenv("SINAPSE_POOLING")
    np.testing.assert_array_equal(naive, ops.max_pool2d(x, 3, 2, "same"))


@given(
    n=st.integers(1, 2),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    c=st.integers(1, 5),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
    kind=st.sampled_from(KINDS),
    backend=st.sampled_from(BACKENDS),
    variant=st.sampled_from(VARIANTS),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=60)  # plus the "sinapse" profile of conftest.py
def test_random_configurations(n, h, w, c, kh, kw, sh, sw, padding, kind, backend, variant, seed):
    if padding == "valid" and (h < kh or w < kw):
        return  # refused (tested below)
    x = np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(np.float32)
    check_against_reference(kind, backend, x, (kh, kw), (sh, sw), padding, variant)


def test_ties_resolve_identically_on_both_backends():
    if "cuda_sim" not in BACKENDS:
        pytest.skip("built without the CUDA simulator")
    x = np.random.default_rng(1).integers(0, 3, (2, 9, 9, 4)).astype(np.float32)  # many equal maxima
    cpu = run("max", "cpu", x, 5, 3, 2, "same")
    cuda = run("max", "cuda_sim", x, 5, 3, 2, "same")
    for a, b in zip(cpu, cuda):
        np.testing.assert_array_equal(a, b)
    # ...and the first maximum in row-major order is the one that receives the gradient:
    np.testing.assert_array_equal(cpu[2], reference.max_pool2d_backward(cpu[1], x, 3, 2, "same"))


def test_same_average_divides_by_real_pixels():
    x = np.ones((1, 3, 3, 1), np.float32)
    y = ops.avg_pool2d(x, 2, 2, "same")  # windows at the border hold 2 or 1 real pixels
    np.testing.assert_array_equal(y, np.ones((1, 2, 2, 1), np.float32))


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_matches_finite_differences(rng, kind):
    x = rng.standard_normal((1, 5, 6, 2))  # continuous values: no ties, max is differentiable
    g = geometry("test", x.shape, 3, 2, "same")
    f = getattr(reference, f"{kind}_pool2d")
    dy = rng.standard_normal((1, g.OH, g.OW, 2))
    analytic = getattr(ops, f"{kind}_pool2d_backward")(dy.astype(np.float32), x.astype(np.float32), 3, 2, "same")
    h = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        numeric[idx] = ((f(x + e, 3, 2, "same") - f(x - e, 3, 2, "same")) * dy).sum() / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda x: ops.max_pool2d(x[0]),
            ValueError,
            r"max_pool2d: `x` must be 4-D \(N, H, W, C\), got shape \(4, 4, 1\)",
        ),
        (lambda x: ops.max_pool2d(x, 2, 0), ValueError, r"max_pool2d: `strides` must be a positive int or a pair"),
        (lambda x: ops.avg_pool2d(x, (2, -1)), ValueError, r"avg_pool2d: `pool_size` must be a positive int"),
        (
            lambda x: ops.max_pool2d(x, 5),
            ValueError,
            r"max_pool2d: `pool_size` \(5, 5\) is larger than the input's \(4, 4\)",
        ),
        (
            lambda x: ops.max_pool2d(x, 2, padding="full"),
            ValueError,
            r"max_pool2d: `padding` must be 'valid' or 'same'",
        ),
        (lambda x: ops.max_pool2d(x.astype(np.float64)), TypeError, r"max_pool2d: `x` must be float32"),
        (
            lambda x: ops.max_pool2d_backward(np.ones((1, 3, 3, 1), np.float32), x),
            ValueError,
            r"max_pool2d_backward: `dy` must have shape \(1, 2, 2, 1\)",
        ),
        (
            lambda x: ops.max_pool2d(x, out=np.empty((1, 3, 3, 1), np.float32)),
            ValueError,
            r"max_pool2d: `out` must have shape \(1, 2, 2, 1\)",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(np.ones((1, 4, 4, 1), np.float32))
