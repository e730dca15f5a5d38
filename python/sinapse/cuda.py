"""The CUDA backend: whether it can be used here and, if not, why.

sinapse imports on any machine. CUDA ops need three things: sinapse built with CUDA
(nvcc present at install time), a GPU with a working driver whose compute capability the
build has kernels for (``build_info()``), and CuPy (``pip install sinapse[cuda]``) for the
arrays.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
from collections.abc import Iterator
from typing import Any

from . import _cuda_limits


@functools.cache
def _status() -> tuple[bool, str | None]:
    try:
        from . import _cuda
    except ImportError as exc:
        return False, f"sinapse was built without CUDA (no nvcc at install time, or SINAPSE_CUDA=OFF): {exc}"
    status = _cuda.device_status()  # (count, reason, (major, minor) of the current device or None)
    count, reason = status[0], status[1]
    if count == 0:
        return False, f"no usable CUDA device: {reason}"
    sass, ptx = _embedded(_cuda.archs)
    runs, how = _arch_supported(tuple(status[2]), sass, ptx)
    if not runs:
        return False, how
    try:
        from .devices import import_cupy

        import_cupy()
    except ImportError:
        return False, "CuPy is not installed (pip install 'sinapse[cuda]')"
    return True, None


def _embedded(archs: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The (SASS, PTX) compute capabilities in sinapse._cuda, from its ``archs``: the
    CUDA_ARCHITECTURES it was built with, comma-separated, in CMake's syntax ("80" = sm_80
    SASS + compute_80 PTX, "80-real" = SASS only, "80-virtual" = PTX only; "120" is 12.0).
    CMakeLists.txt builds SASS for each of SINAPSE_CUDA_ARCHS and PTX for the newest only."""
    sass, ptx = [], []
    for entry in filter(None, (e.strip() for e in archs.split(","))):
        number, _, kind = entry.partition("-")
        cc = (int(number) // 10, int(number) % 10)
        if kind in ("", "real"):
            sass.append(cc)
        if kind in ("", "virtual"):
            ptx.append(cc)
    return sass, ptx


def _arch_supported(cc: tuple[int, int], sass: list[tuple[int, int]], ptx: list[tuple[int, int]]) -> tuple[bool, str]:
    """Whether a GPU of compute capability ``cc`` (major, minor) can run kernels built as
    ``sass`` (machine code) and ``ptx`` (virtual ISA) for those compute capabilities, and how
    (or why not), by CUDA's compatibility rules (CUDA C++ Programming Guide, "Binary
    Compatibility" and "PTX Compatibility"; the driver prefers SASS to PTX):

    - SASS for X.Y runs on X.Z for Z >= Y only (sm_80 runs on 8.0, 8.6, 8.9; not on 7.5 or 9.0);
    - PTX for X.Y is JIT-compiled by the driver for any compute capability >= X.Y (compute_90
      on 10.0 and 12.0), at the first launch of each kernel (then cached).

    A V100 (7.0) or T4 (7.5) has no kernel image in the default build (SASS 8.0, 9.0, PTX 9.0).
    """

    def names(kind: str, ccs: list[tuple[int, int]]) -> str:
        return ", ".join(f"{kind}_{a}{b}" for a, b in ccs) or "none"

    device = f"compute capability {cc[0]}.{cc[1]}"
    for a, b in sass:
        if cc[0] == a and cc[1] >= b:
            return True, f"{device} runs the sm_{a}{b} SASS"
    usable = [p for p in ptx if cc >= p]
    if usable:
        a, b = max(usable)
        return (
            True,
            f"{device} JIT-compiles the compute_{a}{b} PTX (at each kernel's first launch; the driver caches it)",
        )
    return False, (
        f"the current CUDA device ({device}) cannot run this build's kernels: SASS {names('sm', sass)} runs "
        f"only on the same major version (minor >= the built one), PTX {names('compute', ptx)} only on a "
        f"compute capability >= its own. Rebuild with the device's architecture, e.g. "
        f'SINAPSE_CUDA_ARCHS="{cc[0]}{cc[1]};80;90" (CUDA 13 builds compute capability 7.5 and newer).'
    )


def built() -> bool:
    """True when this installation contains the CUDA extension sinapse._cuda."""
    try:
        from . import _cuda  # noqa: F401
    except ImportError:
        return False
    return True


def is_available() -> bool:
    """True when CUDA ops can run: CUDA built, a device and driver present, the current
    device's compute capability among those the build has kernels for (``build_info``: its
    SASS, or a PTX the driver can JIT-compile), CuPy installed. Decided once, for the device
    current at the first call (device 0 unless another was selected)."""
    return _status()[0]


def why_unavailable() -> str | None:
    """None when CUDA is available, otherwise a sentence saying why not."""
    return _status()[1]


def build_info() -> dict:
    """CUDA build facts (empty if not built): ``archs``, the CUDA architectures compiled for
    (CMake's syntax, "80-real,90"); ``sass`` and ``ptx``, the machine-code and PTX targets
    they embed (["sm_80", "sm_90"], ["compute_90"]); ``runtime``, the CUDA runtime version."""
    try:
        from . import _cuda
    except ImportError:
        return {}
    rt = _cuda.runtime_version
    sass, ptx = _embedded(_cuda.archs)
    return {
        "archs": _cuda.archs,
        "sass": [f"sm_{a}{b}" for a, b in sass],
        "ptx": [f"compute_{a}{b}" for a, b in ptx],
        "runtime": f"{rt // 1000}.{rt % 1000 // 10}",
    }


def set_sync_launches(enabled: bool | None) -> None:
    """Debug mode: wait for every CUDA kernel and check it before the launch returns.

    Kernels run asynchronously, so an error raised while one runs (an illegal address, a
    misaligned access) is otherwise reported by a later, unrelated CUDA call. With it on, the
    launch itself raises ``RuntimeError: CUDA kernel name<<<grid=..., block=..., shared=...>>>
    failed while running (SINAPSE_CUDA_SYNC=1): cudaErrorIllegalAddress: ...``. Slower: every
    launch waits for the GPU.

    The environment variable ``SINAPSE_CUDA_SYNC`` (1/true/yes/on or 0/false/no/off, any
    case) sets it at the first launch; ``enabled`` True or False overrides it, None re-reads
    the variable now. Applies to the CUDA module and the simulator (whose launches are
    synchronous already: there it is accepted and has no other effect).

    Raises:
        TypeError: ``enabled`` is not True, False or None.
        ValueError: ``enabled`` is None and SINAPSE_CUDA_SYNC holds anything else.
    """
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(
            f"sinapse.cuda.set_sync_launches: enabled must be True, False or None, got {type(enabled).__name__}"
        )
    for name in ("_cuda", "_cuda_sim"):
        try:
            module = importlib.import_module(f"sinapse.{name}")
        except ImportError:
            continue
        module.set_sync_launches(enabled)


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
    divergence) are filled when the block exits — see docs/cuda_profiler.md:

        with sinapse.cuda.simulate(profile=True) as prof:
            sinapse.ops.gemm(a, b)
        print(prof.table())

    ``sample_blocks=S`` traces at most S blocks of each launch (spread evenly, the grid's last
    block among them) and scales their counts to the grid, for large launches; every block still
    runs (results are complete), the others unobserved; DRAM bytes come from each buffer's
    distinct sectors in the traced blocks, scaled and capped at the buffer's size. Without
    ``profile`` the context yields None.
    """
    try:
        from . import _cuda_sim
    except ImportError as exc:
        raise RuntimeError(f"sinapse was built without the CUDA simulator (SINAPSE_CUDA_SIM=OFF): {exc}") from None
    modules = [_cuda_sim, _profiler_module()] if profile else [_cuda_sim]
    for m in modules:
        _cuda_limits.configure_simulator(m)  # the registers table, once per module
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
        if result is not None:
            result._fill(modules[1].profile_stop(), modules[1].__file__)
        if seed is not None or racecheck:
            for m in modules:
                m.configure(12345, racecheck=False)
