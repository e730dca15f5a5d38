"""The CPU backend: which SIMD paths exist, which one the kernels use.

The path in use is, in order: the ``simd=`` argument of an op, the ``SINAPSE_SIMD``
environment variable (generic | avx2 | avx512), or the fastest one this CPU supports.
"""

from __future__ import annotations

import os

from . import _cpu

SIMD_PATHS = ("generic", "avx2", "avx512")
SIMD_ENV = "SINAPSE_SIMD"


# The CPU does not change under a running process: ask CPUID once.
_SUPPORTED = tuple(_cpu.supported_simd_paths())
_BEST = _cpu.best_simd_path()


def supported_simd_paths() -> list[str]:
    """SIMD paths this CPU (and this build) can run, slowest first."""
    return list(_SUPPORTED)


def best_simd_path() -> str:
    """The fastest SIMD path this CPU supports."""
    return _BEST


def simd_path(simd: str | None = None, op: str | None = None) -> str:
    """The SIMD path an op will use, given its ``simd=`` argument (None = default).

    ``op`` names the op in error messages.
    """
    prefix = f"{op}: " if op else ""
    source = "simd"
    if simd is None:
        simd = os.environ.get(SIMD_ENV) or None
        source = SIMD_ENV
    if simd is None:
        return best_simd_path()
    if simd not in SIMD_PATHS:
        raise ValueError(f"{prefix}{source}={simd!r} is not a SIMD path; expected one of {', '.join(SIMD_PATHS)}")
    if simd not in _SUPPORTED:
        supported = _SUPPORTED
        raise ValueError(
            f"{prefix}{source}={simd!r}: this CPU does not support it; supported here: {', '.join(supported)}"
        )
    return simd


def fma_peak(simd: str | None = None, threads: int | None = None, iterations: int = 50_000_000) -> dict:
    """Measure this machine's FMA throughput (GFLOP/s) on a SIMD path: the 100% of the GEMM bench."""
    return dict(_cpu.fma_peak(simd_path(simd), threads or 0, iterations))


def gemm_blocking(simd: str | None = None) -> dict:
    """The GEMM blocksizes (MR, NR, KC, MC, NC) and micro-kernel name of a SIMD path."""
    return dict(_cpu.gemm_blocking(simd_path(simd)))


def set_gemm_blocking(
    simd: str | None = None, *, KC: int | None = None, MC: int | None = None, NC: int | None = None
) -> None:
    """Override KC/MC/NC of a path's tuned GEMM, for experiments (no rebuild needed).

    MC must be a multiple of MR and NC of NR (see gemm_blocking()); reset_gemm_blocking()
    restores the built-in values. bench/suites/gemm_blocking.py sweeps these.
    """
    path = simd_path(simd)
    cur = _cpu.gemm_blocking(path)
    _cpu.set_gemm_blocking(path, KC or cur["KC"], MC or cur["MC"], NC or cur["NC"])


def reset_gemm_blocking(simd: str | None = None) -> None:
    """Restore the built-in blocksizes of a SIMD path."""
    _cpu.reset_gemm_blocking(simd_path(simd))
