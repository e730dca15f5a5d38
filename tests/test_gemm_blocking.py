"""Run-time blocksize overrides (sinapse.cpu.set_gemm_blocking): tiny blocks force every
loop of the tuned GEMM to run many times on small matrices, a strong test of the blocking
logic; bad overrides are refused; reset restores the built-in table."""

import numpy as np
import pytest

import sinapse
from conftest import SIMD_PATHS, gemm_tolerance, random_f32
from sinapse import ops, reference


@pytest.fixture
def restore_blocking():
    yield
    for path in SIMD_PATHS:
        sinapse.cpu.reset_gemm_blocking(path)


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True)])
def test_tiny_blocks_still_correct(simd, trans_a, trans_b, restore_blocking, rng):
    bk = sinapse.cpu.gemm_blocking(simd)
    sinapse.cpu.set_gemm_blocking(simd, KC=5, MC=bk["MR"], NC=bk["NR"])
    assert sinapse.cpu.gemm_blocking(simd)["KC"] == 5
    M, N, K = 2 * bk["MR"] + 3, 3 * bk["NR"] + 1, 23
    a = random_f32(rng, (K, M) if trans_a else (M, K))
    b = random_f32(rng, (N, K) if trans_b else (K, N))
    c = random_f32(rng, (M, N))
    bias = random_f32(rng, (N,))
    got = ops.gemm(
        a,
        b,
        c,
        alpha=0.5,
        beta=-1.5,
        trans_a=trans_a,
        trans_b=trans_b,
        bias=bias,
        activation="tanh",
        simd=simd,
        variant="tuned",
    )
    want = reference.gemm(
        a.astype(np.float64),
        b.astype(np.float64),
        c.astype(np.float64),
        alpha=0.5,
        beta=-1.5,
        trans_a=trans_a,
        trans_b=trans_b,
        bias=bias,
        activation="tanh",
    )
    tol = gemm_tolerance(a.T if trans_a else a, b.T if trans_b else b, c, 0.5, -1.5, K, bias=bias)
    assert np.all(np.abs(got - want) <= tol)


@pytest.mark.parametrize("simd", SIMD_PATHS)
def test_reset_restores_builtin(simd, restore_blocking):
    before = sinapse.cpu.gemm_blocking(simd)
    sinapse.cpu.set_gemm_blocking(simd, KC=7)
    assert sinapse.cpu.gemm_blocking(simd)["KC"] == 7
    sinapse.cpu.reset_gemm_blocking(simd)
    assert sinapse.cpu.gemm_blocking(simd) == before


@pytest.mark.parametrize("simd", SIMD_PATHS)
def test_bad_overrides_raise(simd, restore_blocking):
    bk = sinapse.cpu.gemm_blocking(simd)
    for kwargs in ({"KC": -1}, {"MC": bk["MR"] + 1}, {"NC": bk["NR"] + 1}):
        with pytest.raises(ValueError, match="set_gemm_blocking"):
            sinapse.cpu.set_gemm_blocking(simd, **kwargs)
    assert sinapse.cpu.gemm_blocking(simd) == bk
