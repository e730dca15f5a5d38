"""The CPU backend: which SIMD paths exist, which one the kernels use.

The path in use is, in order: the ``simd=`` argument of an op, the ``SINAPSE_SIMD``
environment variable (generic | avx2 | avx512), or the fastest one this CPU supports.
"""

from __future__ import annotations

import os

from . import _cpu

SIMD_PATHS = ("generic", "avx2", "avx512")
SIMD_ENV = "SINAPSE_SIMD"


def supported_simd_paths() -> list[str]:
    """SIMD paths this CPU (and this build) can run, slowest first."""
    return list(_cpu.supported_simd_paths())


def best_simd_path() -> str:
    """The fastest SIMD path this CPU supports."""
    return _cpu.best_simd_path()


def simd_path(simd: str | None = None) -> str:
    """The SIMD path an op will use, given its ``simd=`` argument (None = default)."""
    source = "simd"
    if simd is None:
        simd = os.environ.get(SIMD_ENV) or None
        source = SIMD_ENV
    if simd is None:
        return best_simd_path()
    if simd not in SIMD_PATHS:
        raise ValueError(f"{source}={simd!r} is not a SIMD path; expected one of {', '.join(SIMD_PATHS)}")
    supported = supported_simd_paths()
    if simd not in supported:
        raise ValueError(
            f"{source}={simd!r}: this CPU does not support it; supported here: {', '.join(supported)}"
        )
    return simd


def fma_peak(simd: str | None = None, threads: int | None = None, iterations: int = 50_000_000) -> dict:
    """Measure this machine's FMA throughput (GFLOP/s) on a SIMD path: the 100% of the GEMM bench."""
    return dict(_cpu.fma_peak(simd_path(simd), threads or 0, iterations))
