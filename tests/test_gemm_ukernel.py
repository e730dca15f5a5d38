"""Each SIMD path's GEMM micro-kernel on its own, and the blocksize table behind it."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EPS32, SIMD_PATHS, assert_within, random_f32
from sinapse import _cpu

KCS = [0, 1, 3, 4, 17, 256, "KC"]  # "KC": the path's own panel depth


def _blocking(simd):
    bk = _cpu.gemm_blocking(simd)
    return bk["MR"], bk["NR"]


# Every path's main kernel, and the left-half edge kernel of the paths that have one.
KERNELS = [(simd, False) for simd in SIMD_PATHS] + [
    (simd, True) for simd in SIMD_PATHS if _cpu.gemm_blocking(simd)["has_left_half"]
]


@pytest.mark.parametrize("simd,left_half", KERNELS)
@pytest.mark.parametrize("kc", KCS)
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 0.0), (1.0, 1.0), (2.0, -0.75)])
def test_ukernel(rng, simd, left_half, kc, alpha, beta):
    MR, NR = _blocking(simd)
    if kc == "KC":
        kc = _cpu.gemm_blocking(simd)["KC"]
    ldc = NR + 5  # columns NR..ldc-1 are not part of the tile and must stay untouched
    ap, bp = random_f32(rng, (kc, MR)), random_f32(rng, (kc, NR))
    if beta == 0:
        c = np.full((MR, ldc), np.nan, np.float32)  # not read when beta == 0
    else:
        c = random_f32(rng, (MR, ldc))
    sentinel = np.float32(1234.5)
    c[:, NR:] = sentinel
    c0 = c.copy()
    ap0, bp0 = ap.copy(), bp.copy()

    ret = _cpu.gemm_ukernel(simd, ap, bp, c, alpha, beta, left_half)
    assert ret is None
    if left_half:  # only columns [0, NR/2) are the tile; the rest must stay untouched
        NR //= 2
        bp = bp[:, :NR]
        bp0 = bp0[:, :NR]

    A, B = ap.astype(np.float64), bp.astype(np.float64)
    ref = alpha * (A.T @ B)
    mag = abs(alpha) * (np.abs(A).T @ np.abs(B))
    if beta != 0:
        ref = ref + beta * c0[:, :NR].astype(np.float64)
        mag = mag + abs(beta) * np.abs(c0[:, :NR].astype(np.float64))
    tol = 4 * (kc + 2) * EPS32 * mag + 1e-6
    assert_within(np.ascontiguousarray(c[:, :NR]), ref, tol, f"{simd} ukernel kc={kc}")
    np.testing.assert_array_equal(c[:, NR:], c0[:, NR:], err_msg="columns beyond NR were written")
    np.testing.assert_array_equal(ap, ap0)
    np.testing.assert_array_equal(bp, bp0)


@pytest.mark.parametrize("simd", SIMD_PATHS)
def test_ukernel_exact_small_integers(simd):
    """Small integers are exact in float32: the tile must match bit for bit, row by row."""
    MR, NR = _blocking(simd)
    kc = 3
    ap = (np.arange(kc * MR, dtype=np.float32).reshape(kc, MR) % 7) - 3
    bp = (np.arange(kc * NR, dtype=np.float32).reshape(kc, NR) % 5) - 2
    c = np.ones((MR, NR), np.float32)
    _cpu.gemm_ukernel(simd, ap, bp, c, 2.0, 3.0)
    np.testing.assert_array_equal(c, 2 * ap.T @ bp + 3)


@pytest.mark.parametrize("simd", SIMD_PATHS)
def test_ukernel_rejects_wrong_panel_shapes(simd):
    MR, NR = _blocking(simd)
    ok_a, ok_b, ok_c = np.zeros((4, MR), np.float32), np.zeros((4, NR), np.float32), np.zeros((MR, NR), np.float32)
    with pytest.raises(ValueError, match="a_packed must be"):
        _cpu.gemm_ukernel(simd, np.zeros((4, MR + 1), np.float32), ok_b, ok_c)
    with pytest.raises(ValueError, match="b_packed must be"):
        _cpu.gemm_ukernel(simd, ok_a, np.zeros((4, NR - 1), np.float32), ok_c)
    with pytest.raises(ValueError, match="same kc"):
        _cpu.gemm_ukernel(simd, ok_a, np.zeros((5, NR), np.float32), ok_c)
    with pytest.raises(ValueError, match="c must be"):
        _cpu.gemm_ukernel(simd, ok_a, ok_b, np.zeros((MR, NR - 1), np.float32))
    with pytest.raises(ValueError, match="c must be"):
        _cpu.gemm_ukernel(simd, ok_a, ok_b, np.zeros((MR + 1, NR), np.float32))
    with pytest.raises(TypeError):  # float64: refused, not converted
        _cpu.gemm_ukernel(simd, ok_a.astype(np.float64), ok_b, ok_c)


@pytest.mark.parametrize("simd", SIMD_PATHS)
def test_blocking_table(simd):
    bk = _cpu.gemm_blocking(simd)
    assert set(bk) >= {"simd", "ukernel", "MR", "NR", "KC", "MC", "NC"}
    MR, NR, KC, MC, NC = (bk[k] for k in ("MR", "NR", "KC", "MC", "NC"))
    assert bk["simd"] == simd
    assert min(MR, NR, KC, MC, NC) >= 1
    assert MC % MR == 0, f"MC={MC} not a multiple of MR={MR}"
    assert NC % NR == 0, f"NC={NC} not a multiple of NR={NR}"
    assert MR * NR <= 1024, "edge tiles go through a 1024-float scratch tile (gemm_tuned.cpp)"
    assert f"{MR}x{NR}" in bk["ukernel"]
    assert simd in bk["ukernel"]


def test_blocking_unknown_path():
    with pytest.raises(ValueError, match="unknown SIMD path 'sse9'"):
        _cpu.gemm_blocking("sse9")
