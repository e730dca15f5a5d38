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

import numpy as np

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


def microarchitecture() -> dict:
    """The detected CPU: {'name', 'vendor', 'family', 'model', 'model_name', 'caches'}.

    name: skylake_x | icelake_server | sapphire_rapids (incl. Emerald Rapids) | zen3 | zen4 |
    zen5 | generic_avx512 | generic_avx2 | generic, from the CPUID vendor and display
    family/model. caches: {'l1d'|'l2'|'l3': {'size' (bytes), 'ways', 'line', 'shared_by'
    (logical CPUs)}, 'source': 'cpuid' | 'sysfs' | 'default'} from CPUID leaf 4 (Intel) /
    0x8000001D (AMD), else /sys/devices/system/cpu/cpu0/cache.
    """
    return dict(_cpu.microarchitecture())


def gemm_ukernels(simd: str | None = None) -> list[dict]:
    """The micro-kernel shapes compiled for a SIMD path: [{'name', 'MR', 'NR', ...}]."""
    return [dict(u) for u in _cpu.gemm_ukernels(simd_path(simd))]


def gemm_blocking(simd: str | None = None) -> dict:
    """The GEMM configuration of a SIMD path: micro-kernel name, MR, NR, KC, MC, NC, the
    threading split ('rows' | 'cols'), and its source ('table: zen4', 'model', 'tuned cache
    <path>', 'set_gemm_blocking')."""
    return dict(_cpu.gemm_blocking(simd_path(simd)))


def set_gemm_blocking(
    simd: str | None = None,
    *,
    KC: int | None = None,
    MC: int | None = None,
    NC: int | None = None,
    ukernel: str | None = None,
    split: str | None = None,
) -> None:
    """Override a path's tuned-GEMM configuration, for experiments (no rebuild needed).

    ukernel: a shape of gemm_ukernels() ('12x32' or its full name); MC and NC not given are
    then rounded to its MR and NR. MC must be a multiple of MR and NC of NR (see
    gemm_blocking()); split: 'rows' or 'cols'. reset_gemm_blocking() restores the default.
    bench/suites/gemm_blocking.py sweeps these. Raises ValueError naming the bad argument.
    """
    path = simd_path(simd, op="sinapse.cpu.set_gemm_blocking")
    for name, value in (("KC", KC), ("MC", MC), ("NC", NC)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"sinapse.cpu.set_gemm_blocking: {name}={value!r} must be a positive integer")
    if split not in (None, "rows", "cols"):
        raise ValueError(f"sinapse.cpu.set_gemm_blocking: split={split!r} must be 'rows' or 'cols'")
    _cpu.set_gemm_blocking(path, int(KC or 0), int(MC or 0), int(NC or 0), ukernel or "", split or "")


def reset_gemm_blocking(simd: str | None = None, builtin: bool = False) -> None:
    """Restore a SIMD path's default configuration: the tuned cache loaded at import if any,
    else the per-architecture table / model row (builtin=True: the table/model row always)."""
    _cpu.reset_gemm_blocking(simd_path(simd), builtin)


def tune(budget_s: float = 120.0, simd: str | None = None, **kwargs) -> dict:
    """Auto-tune the GEMM of a SIMD path on this machine and cache the winner (sinapse.tune.tune)."""
    from . import tune as _tune

    return _tune.tune(budget_s, simd, **kwargs)


def _load_tune_cache() -> None:
    from . import tune as _tune

    _tune.load_cache()


_load_tune_cache()
