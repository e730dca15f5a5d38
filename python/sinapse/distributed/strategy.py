"""``DataParallel``: how ``model.compile(distribute=...)`` trains on several processes.

Chosen over a ``strategy.scope()`` block (tf.distribute) or a model wrapper (PyTorch's DDP):
distribution is one more choice about *how* a compiled model trains, like the optimizer and
the device, so it is a ``compile`` argument; the model, its layers, ``fit`` and the saved files
stay exactly as in a single process. The class is named after Keras 3's
``keras.distribution.DataParallel``.

What happens on each process (docs/distributed.md has the full model):
- at the start of ``fit``: rank 0's weights, optimizer state and random states (shuffling,
  dropout) are broadcast, so every replica starts identical;
- each global batch (``batch_size`` is the global size) is cut into contiguous row ranges, one
  per rank (``Shard``); every rank shuffles with the same generator, so together they see
  exactly the rows one process would;
- the gradients are averaged over the global batch (distributed/_reducer.py) before the
  optimizer step, which is then the same on every rank;
- loss and metrics are summed over ranks before any callback sees them; only rank 0 prints and
  runs the callbacks that write files; ``evaluate`` and ``predict`` shard and gather.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

_BACKENDS = ("auto", "mpi", "nccl")


class DataParallel:
    """Data-parallel training over the processes an MPI launcher started.

    Args:
        bucket_cap_mb: the size of a gradient bucket in MiB (> 0): gradients are averaged in
            buckets of about this size, each started as soon as the backward has produced it.
        sync_batch_norm: BatchNormalization uses the statistics of the whole global batch
            (an allgather per layer per step) instead of each replica's own rows (the default,
            as Horovod and tf.distribute do).
        backend: "auto" (MPI for CPU arrays, NCCL for CuPy arrays), "mpi" (MPI for both; CuPy
            gradients go through host memory) or "nccl".

    Raises ValueError for a bad argument.
    """

    def __init__(self, bucket_cap_mb: float = 4.0, sync_batch_norm: bool = False, backend: str = "auto"):
        where = "DataParallel"
        if (
            isinstance(bucket_cap_mb, bool)
            or not isinstance(bucket_cap_mb, (int, float))
            or not 0 < bucket_cap_mb <= 2**20  # 1 TiB: a bucket is one allocation
        ):
            raise ValueError(f"{where}: `bucket_cap_mb` must be a number in (0, 1048576], got {bucket_cap_mb!r}")
        if isinstance(sync_batch_norm, np.bool_):
            sync_batch_norm = bool(sync_batch_norm)
        if not isinstance(sync_batch_norm, bool):
            raise ValueError(f"{where}: `sync_batch_norm` must be True or False, got {sync_batch_norm!r}")
        if backend not in _BACKENDS:
            raise ValueError(f"{where}: `backend` must be one of {_BACKENDS}, got {backend!r}")
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.sync_batch_norm = sync_batch_norm
        self.backend = backend

    @property
    def bucket_bytes(self) -> int:
        return int(self.bucket_cap_mb * 2**20)

    def get_config(self) -> dict:
        return {"bucket_cap_mb": self.bucket_cap_mb, "sync_batch_norm": self.sync_batch_norm, "backend": self.backend}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"DataParallel({args})"

    def __eq__(self, other) -> bool:
        return isinstance(other, DataParallel) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))


def get(value, where: str) -> DataParallel | None:
    """``compile(distribute=...)``: None, "mpi" / "nccl" / "auto" (a DataParallel with that backend),
    or a DataParallel. Raises ValueError naming ``distribute`` for anything else."""
    if value is None or value is False:
        return None
    if isinstance(value, DataParallel):
        return value
    if isinstance(value, str) and value in _BACKENDS:
        return DataParallel(backend=value)
    raise ValueError(
        f"{where}: `distribute` must be None, one of {_BACKENDS} or a sinapse.distributed.DataParallel, got {value!r}"
    )


@dataclass(frozen=True)
class Shard:
    """This rank's rows of the current global batch: rows [start, start + rows) of ``total``."""

    start: int
    rows: int
    total: int
    sync_batch_norm: bool = False

    @property
    def fraction(self) -> float:
        """This rank's share of the global batch (its gradient is scaled by it before the sum)."""
        return self.rows / self.total if self.total else 0.0


def split(total: int, rank: int, size: int) -> tuple[int, int]:
    """(start, rows) of ``rank``'s contiguous part of ``total`` rows cut into ``size`` near-equal parts."""
    start = total * rank // size
    return start, total * (rank + 1) // size - start


_local = threading.local()


def current_shard() -> Shard | None:
    """The shard of the batch being processed by a distributed fit/evaluate/predict (None otherwise).
    Layers whose result depends on the rows of other ranks read it: Dropout (the Philox counters of
    its rows) and BatchNormalization (synchronised statistics)."""
    return getattr(_local, "shard", None)


class shard_scope:
    """``with shard_scope(shard):`` makes ``current_shard()`` return ``shard``."""

    def __init__(self, shard: Shard | None):
        self.shard = shard

    def __enter__(self):
        self.previous = getattr(_local, "shard", None)
        _local.shard = self.shard
        return self.shard

    def __exit__(self, *exc):
        _local.shard = self.previous
