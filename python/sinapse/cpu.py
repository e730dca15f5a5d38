"""The CPU backend: which SIMD paths exist, which one the kernels use.

One dispatcher chooses the path of every CPU kernel (csrc/common/cpu_features.h), in order:
the ``simd=`` argument of an op that takes one (gemm, conv2d, the RNNs, the optimizers); else
the process setting — a path forced with :func:`set_simd_path` / :func:`use_simd`, else the
``SINAPSE_SIMD`` environment variable (generic | avx2 | avx512); else the fastest one this CPU
supports. The forced path is process-wide (every thread, every op), so a test can run any op
on any path without the op taking a ``simd=`` argument::

    with sinapse.cpu.use_simd("avx2"):
        y = sinapse.ops.softmax(x)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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


def _check(simd: object, source: str, prefix: str) -> str:
    if simd not in SIMD_PATHS:
        raise ValueError(f"{prefix}{source}={simd!r} is not a SIMD path; expected one of {', '.join(SIMD_PATHS)}")
    if simd not in _SUPPORTED:
        supported = _SUPPORTED
        raise ValueError(
            f"{prefix}{source}={simd!r}: this CPU does not support it; supported here: {', '.join(supported)}"
        )
    return str(simd)


def simd_path(simd: str | None = None, op: str | None = None) -> str:
    """The SIMD path an op will use, given its ``simd=`` argument (None = the process setting).

    ``op`` names the op in error messages. Raises ValueError for an unknown path, or one this
    CPU lacks, naming ``simd`` or ``SINAPSE_SIMD`` (whichever asked for it).
    """
    prefix = f"{op}: " if op else ""
    if simd is not None:
        return _check(simd, "simd", prefix)
    name, source = _cpu.simd_request(None)  # the forced path, else $SINAPSE_SIMD (the C++ order)
    if name is None:
        return best_simd_path()
    return _check(name, source, prefix)


def forced_simd_path() -> str | None:
    """The path forced with :func:`set_simd_path` / :func:`use_simd`, or None."""
    name, source = _cpu.simd_request(None)
    return name if source == "forced" else None


def set_simd_path(simd: str | None) -> None:
    """Force every CPU kernel of this process onto one SIMD path (None: stop forcing).

    An op's own ``simd=`` argument still wins. Raises ValueError for an unknown path or one
    this CPU lacks.
    """
    if simd is not None:
        _check(simd, "simd", "sinapse.cpu.set_simd_path: ")
    _cpu.force_simd_path(simd)


@contextlib.contextmanager
def use_simd(simd: str | None) -> Iterator[str]:
    """``with use_simd("avx2"):`` — :func:`set_simd_path` for the block, then the previous
    setting back. Process-wide: other threads' kernels see the forced path too. Yields the
    path now in use."""
    before = forced_simd_path()
    set_simd_path(simd)
    try:
        yield simd_path()
    finally:
        _cpu.force_simd_path(before)


def simd_paths_run() -> list[str]:
    """Debug hook: the SIMD paths CPU kernels dispatched to since the last call (slowest
    first), and clear the record. Kernels without per-path versions (axpy, embedding, the
    naive variants) record nothing."""
    return list(_cpu.take_simd_paths_run())


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
