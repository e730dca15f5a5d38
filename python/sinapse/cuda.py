"""The CUDA backend: whether it can be used here and, if not, why.

sinapse imports on any machine. CUDA ops need three things: sinapse built with CUDA
(nvcc present at install time), a GPU with a working driver, and CuPy (``pip install
sinapse[cuda]``) for the arrays.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
from collections.abc import Iterator

from . import _cuda_limits


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


@contextlib.contextmanager
def simulate(seed: int | None = None, checked: bool = False, racecheck: bool = False) -> Iterator[None]:
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
    """
    try:
        from . import _cuda_sim
    except ImportError as exc:
        raise RuntimeError(f"sinapse was built without the CUDA simulator (SINAPSE_CUDA_SIM=OFF): {exc}") from None
    _cuda_limits.configure_simulator(_cuda_sim)  # the registers table, once
    if seed is not None or racecheck:
        _cuda_sim.configure(int(seed) if seed is not None else 12345, racecheck=bool(racecheck))
    token, checked_token = _SIMULATING.set(True), _CHECKED.set(bool(checked))
    try:
        yield
    finally:
        _SIMULATING.reset(token)
        _CHECKED.reset(checked_token)
        if seed is not None or racecheck:
            _cuda_sim.configure(12345, racecheck=False)
