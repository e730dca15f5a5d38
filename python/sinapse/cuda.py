"""The CUDA backend: whether it can be used here and, if not, why.

sinapse imports on any machine. CUDA ops need three things: sinapse built with CUDA
(nvcc present at install time), a GPU with a working driver, and CuPy (``pip install
sinapse[cuda]``) for the arrays.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from typing import Any


@functools.cache
def _status() -> tuple[bool, str | None]:
    try:
        from . import _cuda
    except ImportError as exc:
        return False, f"sinapse was built without CUDA (no nvcc at install time, or SINAPSE_CUDA=OFF): {exc}"
    count, reason = _cuda.device_status()
    if count == 0:
        return False, f"no usable CUDA device: {reason}"
    try:
        from .devices import import_cupy

        import_cupy()
    except ImportError:
        return False, "CuPy is not installed (pip install 'sinapse[cuda]')"
    return True, None


def built() -> bool:
    """True when this installation contains the CUDA extension sinapse._cuda."""
    try:
        from . import _cuda  # noqa: F401
    except ImportError:
        return False
    return True


def is_available() -> bool:
    """True when CUDA ops can run: CUDA built, a device and driver present, CuPy installed."""
    return _status()[0]


def why_unavailable() -> str | None:
    """None when CUDA is available, otherwise a sentence saying why not."""
    return _status()[1]


def build_info() -> dict:
    """CUDA build facts: architectures compiled for and the runtime version (empty if not built)."""
    try:
        from . import _cuda
    except ImportError:
        return {}
    rt = _cuda.runtime_version
    return {"archs": _cuda.archs, "runtime": f"{rt // 1000}.{rt % 1000 // 10}"}


_SIMULATING = contextvars.ContextVar("sinapse_cuda_simulating", default=False)
_CHECKED = contextvars.ContextVar("sinapse_cuda_sim_checked", default=False)
_PROFILING = contextvars.ContextVar("sinapse_cuda_sim_profiling", default=False)


def simulator_built() -> bool:
    """True when this installation contains the SIMT simulator sinapse._cuda_sim."""
    try:
        from . import _cuda_sim  # noqa: F401
    except ImportError:
        return False
    return True


def simulating() -> bool:
    """True inside ``with sinapse.cuda.simulate():``."""
    return _SIMULATING.get()


def simulating_checked() -> bool:
    """True inside ``with sinapse.cuda.simulate(checked=True):``."""
    return _SIMULATING.get() and _CHECKED.get()


def simulating_profiled() -> bool:
    """True inside ``with sinapse.cuda.simulate(profile=True):``."""
    return _SIMULATING.get() and _PROFILING.get()


def _profiler_module():
    """sinapse._cuda_prof, the simulator with instrumented kernels; RuntimeError saying why not."""
    try:
        from . import _cuda_prof
    except ImportError as exc:
        raise RuntimeError(
            "simulate(profile=True): sinapse was built without the profiler (SINAPSE_CUDA_PROFILER=OFF, "
            f"a compiler other than GCC, or a sanitizer build): {exc}"
        ) from None
    from . import cpu

    if "avx2" not in cpu.supported_simd_paths():  # the module is compiled with -mfma
        raise RuntimeError("simulate(profile=True): the profiler needs an x86-64 CPU with AVX2 and FMA")
    return _cuda_prof


def _checked_sample(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"simulate: sample_blocks must be a positive integer or None, got {n!r}")
    return n


@contextlib.contextmanager
def simulate(
    seed: int | None = None,
    checked: bool = False,
    racecheck: bool = False,
    profile: bool = False,
    sample_blocks: int | None = None,
) -> Iterator[Any]:
    """Run ops on NumPy arrays through the CUDA kernels, on the CPU, in the SIMT simulator.

        with sinapse.cuda.simulate():
            c = sinapse.ops.gemm(a, b, variant="tuned")   # the CUDA tuned kernel, simulated

    Every CUDA thread is a fiber; a different ``seed`` gives a different interleaving of
    them. Errors a GPU would hit (divergent __syncthreads, bad warp masks, deadlocks) raise
    RuntimeError naming the kernel, block and thread. No GPU, driver or CuPy is needed.

    ``checked=True`` copies every array argument into a buffer fenced by PROT_NONE guard
    pages (and copies results back): a kernel reading or writing past either end of a
    buffer fails with an out-of-bounds error instead of touching other memory.

    ``racecheck=True`` tracks, for every 4 bytes of static shared memory, the last writer
    and readers since the last __syncthreads, and fails on a read-after-write,
    write-after-read or write-after-write between two threads with no barrier in between.
    (Shared-memory indices are always bounds-checked.)

    ``profile=True`` runs the kernels compiled with load/store and basic-block
    instrumentation (sinapse._cuda_prof) and yields a ``sinapse.profiler.Profile`` whose
    ``records`` (one dict per launch: sectors per request, bank conflicts, FLOPs, DRAM bytes,
    divergence) are filled when the block exits — see docs/kernels/cuda_profiler.md:

        with sinapse.cuda.simulate(profile=True) as prof:
            sinapse.ops.gemm(a, b)
        print(prof.table())

    ``sample_blocks=S`` traces at most S blocks of each launch (spread evenly, the grid's last
    block among them) and scales their counts to the grid, for large launches; every block still
    runs and the distinct sectors (DRAM bytes) are counted over all of them. Without ``profile``
    the context yields None.
    """
    try:
        from . import _cuda_sim
    except ImportError as exc:
        raise RuntimeError(f"sinapse was built without the CUDA simulator (SINAPSE_CUDA_SIM=OFF): {exc}") from None
    modules = [_cuda_sim, _profiler_module()] if profile else [_cuda_sim]
    if seed is not None or racecheck:
        for m in modules:
            m.configure(int(seed) if seed is not None else 12345, racecheck=bool(racecheck))
    result = None
    if profile:
        from .profiler import Profile

        result = Profile()
        modules[1].profile_start(0 if sample_blocks is None else _checked_sample(sample_blocks))
    tokens = _SIMULATING.set(True), _CHECKED.set(bool(checked)), _PROFILING.set(bool(profile))
    try:
        yield result
    finally:
        _SIMULATING.reset(tokens[0])
        _CHECKED.reset(tokens[1])
        _PROFILING.reset(tokens[2])
        if profile:
            result._fill(modules[1].profile_stop(), modules[1].__file__)
        if seed is not None or racecheck:
            for m in modules:
                m.configure(12345, racecheck=False)
