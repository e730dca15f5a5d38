"""sinapse.ops.axpy against the reference, for every way of receiving the result."""

from __future__ import annotations

import numpy as np
import pytest

import sinapse
from conftest import EPS32, random_f32
from sinapse import ops, reference

# 200_000 elements crosses the kernel's threading threshold (2 x 65536 per thread).
SIZES = [0, 1, 7, 1000, 200_000]
ALPHAS = [2.5, -1.0, 0.0, np.float32(0.1), 3]


def _expected(alpha, x, y):
    ref = reference.axpy(float(alpha), x.astype(np.float64), y.astype(np.float64))
    # one multiply and one add in float32
    tol = 2 * EPS32 * (abs(float(alpha)) * np.abs(x.astype(np.float64)) + np.abs(y.astype(np.float64)))
    return ref, tol + 1e-30


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("out_mode", ["none", "y", "separate"])
def test_axpy(rng, n, alpha, out_mode):
    x, y = random_f32(rng, n), random_f32(rng, n)
    x0, y0 = x.copy(), y.copy()
    ref, tol = _expected(alpha, x0, y0)
    if out_mode == "none":
        got = ops.axpy(alpha, x, y)
        assert got is not y and not np.shares_memory(got, y)
        np.testing.assert_array_equal(y, y0, err_msg="y changed although out was not given")
    elif out_mode == "y":
        got = ops.axpy(alpha, x, y, out=y)
        assert got is y
    else:
        out = np.full(n, np.nan, np.float32)
        got = ops.axpy(alpha, x, y, out=out)
        assert got is out
        np.testing.assert_array_equal(y, y0, err_msg="y changed although out was a separate array")
    np.testing.assert_array_equal(x, x0, err_msg="x changed")
    assert got.shape == (n,) and got.dtype == np.float32
    err = np.abs(got.astype(np.float64) - ref)
    assert (err <= tol).all(), f"max error {err.max()} at {np.argmax(err - tol)}"


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4), (0, 4)])
def test_axpy_nd(rng, shape):
    x, y = random_f32(rng, shape), random_f32(rng, shape)
    got = ops.axpy(-0.5, x, y)
    assert got.shape == shape
    ref, tol = _expected(-0.5, x, y)
    assert (np.abs(got - ref) <= tol).all()


def test_axpy_sgd_step(rng):
    """The documented use: w -= lr * g, in place."""
    w, g = random_f32(rng, 1000), random_f32(rng, 1000)
    w0 = w.copy()
    assert ops.axpy(-0.01, g, w, out=w) is w
    np.testing.assert_allclose(w, w0 - np.float32(0.01) * g, rtol=1e-6, atol=1e-7)


def test_axpy_threads_agree(rng, restore_threads):
    x, y = random_f32(rng, 200_000), random_f32(rng, 200_000)
    sinapse.set_num_threads(1)
    one = ops.axpy(1.5, x, y)
    sinapse.set_num_threads(2)
    two = ops.axpy(1.5, x, y)
    np.testing.assert_array_equal(one, two)  # elementwise: no reduction, so bitwise equal
