"""softmax / log_softmax and their gradients on the CPU kernels and the simulated CUDA
kernels, against the reference (whose gradients go through the explicit Jacobian), plus a
finite-difference check of the reference itself. Every kernel variant of the registry (naive,
tuned) on every backend, and the variants against each other."""

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.registry import OPS

VARIANTS = OPS["softmax"].variants

# (rows..., cols): 1 column, a block of 128 threads +-1, the MNIST and ImageNet heads.
SHAPES = [(1, 1), (3, 1), (5, 7), (2, 127), (2, 128), (3, 129), (128, 10), (4, 1000), (2, 3, 5), (0, 4)]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("log", [False, True])
def test_forward_and_backward_match_reference(rng, backend, shape, log, variant):
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    fwd, bwd = (ops.log_softmax, ops.log_softmax_backward) if log else (ops.softmax, ops.softmax_backward)
    rfwd, rbwd = (
        (reference.log_softmax, reference.log_softmax_backward)
        if log
        else (reference.softmax, reference.softmax_backward)
    )
    with on(backend):
        y = fwd(x, variant=variant)
        dx = bwd(dy, y, variant=variant)
    y64 = rfwd(x.astype(np.float64))
    np.testing.assert_allclose(y, y64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, rbwd(dy.astype(np.float64), y64), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_large_logits_are_stable(backend, variant):
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]], np.float32)
    with on(backend):
        p, lp = ops.softmax(x, variant=variant), ops.log_softmax(x, variant=variant)
    assert np.isfinite(p).all() and np.isfinite(lp).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(lp[1], np.log(1 / 3), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("log", [False, True])
def test_variants_agree(rng, backend, log):
    """naive and tuned within a few float32 ulps of each other, in place too (out=x, out=dy),
    with the special rows of the NaN rules (NaN, +inf, all -inf) NaN in both."""
    x = (rng.standard_normal((9, 300)) * 4).astype(np.float32)
    x[6, 5], x[7, 9], x[8, :] = np.nan, np.inf, -np.inf
    dy = rng.standard_normal(x.shape).astype(np.float32)
    fwd, bwd = (ops.log_softmax, ops.log_softmax_backward) if log else (ops.softmax, ops.softmax_backward)
    got = {}
    with on(backend):
        for v in VARIANTS:
            y = fwd(x, variant=v)
            inplace = x.copy()
            fwd(inplace, out=inplace, variant=v)
            np.testing.assert_array_equal(inplace, y)
            g = dy.copy()
            got[v] = (y, bwd(g, y, out=g, variant=v))
    (y0, dx0), *others = got.values()
    assert np.isnan(y0[6:]).all()
    for y1, dx1 in others:
        np.testing.assert_array_equal(np.isnan(y1), np.isnan(y0))
        np.testing.assert_allclose(y1[:6], y0[:6], rtol=2e-6, atol=1e-7)
        np.testing.assert_allclose(dx1[:6], dx0[:6], rtol=1e-5, atol=1e-6)


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_variant_reaches_the_cuda_kernel():
    """Each variant name launches its own kernels (the simulator names the latest launch)."""
    import sinapse

    x = np.random.default_rng(0).standard_normal((3, 7)).astype(np.float32)
    for v in VARIANTS:
        with on("cuda_sim"):
            y = ops.log_softmax(x, variant=v)
            forward = sinapse._cuda_sim.last_launch()
            ops.log_softmax_backward(x, y, variant=v)
            backward = sinapse._cuda_sim.last_launch()
        suffix = "_naive_kernel" if v == "naive" else "_kernel"
        assert forward.startswith(f"softmax_forward{suffix}<<<"), forward
        assert backward.startswith(f"softmax_backward{suffix}<<<"), backward


def test_variant_from_environment(rng, monkeypatch):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    monkeypatch.setenv("SINAPSE_SOFTMAX", "naive")
    naive = ops.softmax(x)
    monkeypatch.setenv("SINAPSE_SOFTMAX", "fastest")
    with pytest.raises(ValueError, match=r"log_softmax: \$SINAPSE_SOFTMAX='fastest' is not a variant of softmax"):
        ops.log_softmax(x)
    with pytest.raises(ValueError, match=r"softmax_backward: `variant`='slow' is not a variant of softmax"):
        ops.softmax_backward(x, naive, variant="slow")
    monkeypatch.delenv("SINAPSE_SOFTMAX")
    np.testing.assert_allclose(naive, ops.softmax(x), rtol=2e-6)


@pytest.mark.parametrize("log", [False, True])
def test_reference_gradient_matches_finite_differences(rng, log):
    x = rng.standard_normal((3, 6))
    dy = rng.standard_normal((3, 6))
    f = reference.log_softmax if log else reference.softmax
    grad = (reference.log_softmax_backward if log else reference.softmax_backward)(dy, f(x))
    h = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        numeric[idx] = ((f(x + e) - f(x - e)) * dy).sum() / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match=r"softmax: `x` must have at least 1 dimension"):
        ops.softmax(np.ones((), np.float32))
    with pytest.raises(TypeError, match=r"log_softmax: `x` must be float32"):
        ops.log_softmax(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"softmax_backward: `y` must have shape \(2, 3\)"):
        ops.softmax_backward(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))
