"""This machine's FMA peak, per SIMD path: the 100% the GEMM table reports against.

How: sinapse._cpu.fma_peak runs, on every thread, a loop of independent FMAs on
registers only (16 accumulator chains for AVX-512, 12 for AVX2, 48 scalar ones for the
generic path — enough to cover 2 pipes x 4 cycles of latency — and no memory traffic), times the team with a wall clock, and
counts 2 flops per lane per FMA. Each run lasts about half a second, like a benchmark row,
so the cores are at the clock they sustain under load (short bursts read higher or lower
while the clock settles); we take the best of a few runs: the peak is a ceiling, and a
noisy neighbour can only lower a run.
"""

from __future__ import annotations

import sinapse

METHOD = (
    "FMA peak: best of {runs} runs of ~{seconds} s each of sinapse.cpu.fma_peak (independent "
    "register-only FMA chains on every thread, wall-clock timed, 2 flops per lane per FMA)"
)


def measure(threads: int, runs: int = 3, seconds: float = 0.5) -> dict[str, float]:
    """GFLOP/s per supported SIMD path with ``threads`` threads."""
    peaks = {}
    for path in sinapse.cpu.supported_simd_paths():
        probe = sinapse.cpu.fma_peak(path, threads, 5_000_000)  # calibrate the run length
        iterations = max(1_000_000, int(5_000_000 * seconds / max(probe["seconds"], 1e-6)))
        peaks[path] = max(sinapse.cpu.fma_peak(path, threads, iterations)["gflops"] for _ in range(runs))
    return peaks


def describe(runs: int = 3, seconds: float = 0.5) -> str:
    return METHOD.format(runs=runs, seconds=seconds)
