"""This machine's FMA peak, per SIMD path: the 100% the GEMM table reports against.

How: sinapse._cpu.fma_peak runs, on every thread, a loop of independent FMAs on
registers only (16 accumulator chains for AVX-512, 12 for AVX2 — enough to cover 2 FMA
pipes x 4 cycles of latency — and no memory traffic), times the team with a wall clock, and
counts 2 flops per lane per FMA. We take the best of a few runs: the peak is a ceiling, and
a noisy neighbour can only lower a run.
"""

from __future__ import annotations

import sinapse

METHOD = (
    "FMA peak: best of 5 runs of sinapse.cpu.fma_peak (independent register-only FMA chains on "
    "every thread, wall-clock timed, 2 flops per lane per FMA)"
)


def measure(threads: int, runs: int = 5, iterations: int = 30_000_000) -> dict[str, float]:
    """GFLOP/s per supported SIMD path with ``threads`` threads."""
    peaks = {}
    for path in sinapse.cpu.supported_simd_paths():
        best = max(sinapse.cpu.fma_peak(path, threads, iterations)["gflops"] for _ in range(runs))
        peaks[path] = best
    return peaks
