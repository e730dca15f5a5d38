"""Gradient buckets of CuPy arrays: NCCL through CuPy (``cupy.cuda.nccl``), one process per GPU.

Imported only when a distributed model runs on ``device="cuda"``: CPU-only machines never
import CuPy or NCCL. The NCCL communicator is created once per process group: rank 0 makes a
unique id, MPI broadcasts it, and every rank joins with its rank (the standard bootstrap, as
Horovod and PyTorch's ``init_process_group(backend="nccl")`` do). Each process uses the GPU
``local_rank() % device_count`` (``sinapse.distributed.init`` leaves that choice to
``devices``: see docs/distributed.md).

The allreduce runs on its own CUDA stream, after an event recorded on the compute stream (so
it reads the bucket only once the packing kernels wrote it); ``wait`` polls an event recorded
after it, with the same deadline as the MPI collectives.
"""

from __future__ import annotations

import time

import numpy as np

from . import _comm

_communicators: dict = {}


def _nccl():
    from .. import devices

    cupy = devices.import_cupy()
    try:
        from cupy.cuda import nccl
    except ImportError as e:  # CuPy without NCCL support
        raise ModuleNotFoundError(
            f"sinapse.distributed: NCCL is not available to CuPy ({e}); install it with "
            f"pip install nvidia-nccl-cu13, or pass DataParallel(backend='mpi') to reduce through the host"
        ) from None
    if not nccl.available:
        raise ModuleNotFoundError(
            "sinapse.distributed: CuPy was built without NCCL; pip install nvidia-nccl-cu13, or pass "
            "DataParallel(backend='mpi') to reduce through the host"
        )
    return cupy, nccl


def communicator(group):
    """The NCCL communicator of ``group`` (made on first use, collectively)."""
    comm = _communicators.get(id(group))
    if comm is None:
        cupy, nccl = _nccl()
        uid = nccl.get_unique_id() if group.rank == 0 else None
        uid = _comm.broadcast_object(uid)
        comm = _communicators[id(group)] = nccl.NcclCommunicator(group.size, uid, group.rank)
    return comm


class NcclTransport:
    def __init__(self, group, device):
        self.cupy, self.nccl = _nccl()
        self.comm = communicator(group)
        self.stream = self.cupy.cuda.Stream(non_blocking=True)
        self.group = group

    def xp(self, _array):
        return self.cupy

    def start(self, buffer):
        cp, nccl = self.cupy, self.nccl
        ready = cp.cuda.Event(disable_timing=True)
        ready.record(cp.cuda.get_current_stream())
        self.stream.wait_event(ready)
        self.comm.allReduce(
            buffer.data.ptr, buffer.data.ptr, buffer.size, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, self.stream.ptr
        )
        done = cp.cuda.Event(disable_timing=True)
        done.record(self.stream)
        return done

    @staticmethod
    def test(event) -> bool:
        return bool(event.done)

    def wait(self, event, what: str) -> None:
        deadline = time.monotonic() + self.group.timeout
        while not event.done:
            if time.monotonic() > deadline:
                _comm.abort(f"waited {self.group.timeout:g} s in {what} (NCCL): another rank is not responding")
            time.sleep(1e-4)
        self.cupy.cuda.get_current_stream().wait_event(event)


class HostStagedTransport:
    """CuPy buckets reduced by MPI through host memory (``DataParallel(backend="mpi")`` on GPUs)."""

    def __init__(self, group):
        from .. import devices

        self.cupy = devices.import_cupy()
        self.group = group
        self._host: dict = {}

    def xp(self, _array):
        return self.cupy

    def start(self, buffer):
        host = self._host.get(buffer.data.ptr)
        if host is None or host.size != buffer.size:
            host = self._host[buffer.data.ptr] = np.empty(buffer.size, np.float32)
        buffer.get(out=host)
        g = self.group
        return (g.grad_comm.Iallreduce(g.MPI.IN_PLACE, host, op=g.MPI.SUM), host, buffer)

    @staticmethod
    def test(request) -> bool:
        return bool(request[0].Test())

    @staticmethod
    def wait(request, what: str) -> None:
        req, host, buffer = request
        _comm.wait(req, what)
        buffer.set(host)
