"""Data-parallel training over several processes: MPI (mpi4py) on CPUs, NCCL on GPUs.

    # train.py, started with:  mpirun -np 2 python train.py
    import sinapse
    from sinapse import distributed

    distributed.init()                       # join the processes mpirun started
    model = ...                              # the same model on every process
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  distribute="mpi")          # or distributed.DataParallel(sync_batch_norm=True)
    model.fit(x, y, batch_size=128)          # 128 = the global batch: 64 rows per process
    if distributed.is_main():
        model.save("model.sinapse")

The process group: ``init``, ``rank``, ``size``, ``local_rank``, ``is_main``, ``barrier``;
collectives on arrays: ``allreduce(array, op)``, ``broadcast(array, root)``. Every
collective waits at most ``timeout`` seconds (``init(timeout=...)``, ``SINAPSE_DIST_TIMEOUT``,
default 600) and an exception nothing catches on any rank ends every rank (MPI_Abort): a
failing process never leaves the others blocked. Outside an MPI launcher everything works
as one process (rank 0 of 1) and mpi4py is not imported unless ``init()`` is called (it then
starts a one-process MPI group). Under a launcher, ``device="cuda"`` takes GPU
``local_rank() % device count`` (one process per GPU). docs/distributed.md tells the model
(what is averaged, when), the launch on one machine, on several (hostfile) and under Slurm.
"""

from ._comm import (
    abort,
    allreduce,
    barrier,
    broadcast,
    init,
    is_initialized,
    is_main,
    launched_by_mpi,
    local_rank,
    local_size,
    rank,
    size,
)
from .strategy import DataParallel, current_shard

__all__ = [
    "DataParallel",
    "abort",
    "allreduce",
    "barrier",
    "broadcast",
    "current_shard",
    "init",
    "is_initialized",
    "is_main",
    "launched_by_mpi",
    "local_rank",
    "local_size",
    "rank",
    "size",
]
