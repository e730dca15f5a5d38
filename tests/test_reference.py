"""sinapse.reference: the yardstick the kernels are checked against must itself be right."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from conftest import random_f32
from sinapse import reference

TRANSPOSES = list(itertools.product([False, True], repeat=2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
def test_gemm_matches_matmul(rng, dtype, trans_a, trans_b):
    M, N, K = 7, 11, 13
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(dtype)
    c = rng.standard_normal((M, N)).astype(dtype)
    bias = rng.standard_normal(N).astype(dtype)
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    rtol = 1e-5 if dtype == np.float32 else 1e-12

    got = reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    assert got.dtype == dtype and got.shape == (M, N)
    np.testing.assert_allclose(got, op_a @ op_b, rtol=rtol, atol=rtol)

    got = reference.gemm(a, b, c, alpha=-2.0, beta=0.5, trans_a=trans_a, trans_b=trans_b, bias=bias)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, -2 * (op_a @ op_b) + 0.5 * c + bias, rtol=rtol, atol=10 * rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_beta_zero_does_not_read_c(rng, dtype):
    a, b = rng.standard_normal((4, 6)).astype(dtype), rng.standard_normal((6, 5)).astype(dtype)
    c = np.full((4, 5), np.nan, dtype)
    got = reference.gemm(a, b, c, beta=0.0)
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, a @ b, rtol=1e-5)
    assert np.isnan(reference.gemm(a, b, c, beta=1.0)).all()  # but beta != 0 does read it


def test_gemm_k_zero_and_mismatch():
    got = reference.gemm(np.zeros((3, 0)), np.zeros((0, 4)), np.ones((3, 4)), beta=2.0, bias=np.ones(4))
    np.testing.assert_array_equal(got, 3.0)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        reference.gemm(np.zeros((3, 2)), np.zeros((3, 4)))


def test_gemm_activation(rng):
    a, b = random_f32(rng, (5, 4)), random_f32(rng, (4, 6))
    plain = reference.gemm(a, b)
    np.testing.assert_allclose(reference.gemm(a, b, activation="relu"), np.maximum(plain, 0))
    np.testing.assert_allclose(reference.gemm(a, b, activation="tanh"), np.tanh(plain), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_textbook_values(dtype):
    x = np.array([-2.0, -0.0, 0.0, 0.5, math.log(3.0), 3.0], dtype)
    relu, sigmoid, tanh = (reference.activation(n) for n in ("relu", "sigmoid", "tanh"))
    np.testing.assert_array_equal(relu(x), np.array([0, 0, 0, 0.5, math.log(3.0), 3.0], dtype))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(
        sigmoid(x), [1 / (1 + math.e**2), 0.5, 0.5, 1 / (1 + math.exp(-0.5)), 0.75, 1 / (1 + math.exp(-3))], rtol=tol
    )
    np.testing.assert_allclose(
        tanh(x), [math.tanh(-2), 0, 0, math.tanh(0.5), 0.8, math.tanh(3)], rtol=tol, atol=tol
    )  # tanh(ln 3) = (9 - 1) / (9 + 1)
    for f in (relu, sigmoid, tanh):
        assert f(x).dtype == dtype
    assert np.isnan(relu(np.array([np.nan])))[0]  # NaN stays NaN
    assert reference.activation(None)(x) is x
    assert reference.activation("linear")(x) is x


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'mish'"):
        reference.activation("mish")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy(rng, dtype):
    x, y = rng.standard_normal(10).astype(dtype), rng.standard_normal(10).astype(dtype)
    got = reference.axpy(0.3, x, y)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, 0.3 * x.astype(np.float64) + y, rtol=1e-6 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    # filterwarnings=error: an overflow RuntimeWarning from exp would fail this test.
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype)
    y = reference.activation("sigmoid")(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, [0.0, math.exp(-30.0), 0.5, 1.0, 1.0], rtol=1e-6, atol=0)
