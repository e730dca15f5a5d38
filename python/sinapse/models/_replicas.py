"""What a model compiled with ``distribute=`` does differently in fit / evaluate / predict.

``Replicas`` exists for the duration of one call on a process group of more than one process
(models/training.py makes it; one process never builds one). Its parts, in the order a step
uses them:

- ``start``: rank 0's weights (trainable and not), optimizer state and random states
  (Dropout's Philox key and offset, the shuffling generator) are broadcast, so every replica
  starts identical and draws the same shuffles;
- the data objects (models/_data.py) cut each global batch into this rank's rows
  (``strategy.split``) and expose the batch's ``Shard``, which the training loop makes
  current (``strategy.shard_scope``) for the layers that need it;
- ``reducer``: the gradient buckets of the current training plan (distributed/_reducer.py);
- ``logs``: the running loss, per-output losses and metric sums, summed over ranks before any
  callback sees them (so EarlyStopping and friends decide the same on every rank);
- ``any``: a flag raised on any rank (``stop_training``) stops every rank at the same step;
- ``gather``: this rank's predicted rows into every rank's copy of the whole output.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import devices
from ..distributed import _comm
from ..distributed._reducer import GradientReducer, transport_for
from ..distributed.strategy import current_shard, split


class Replicas:
    def __init__(self, model, strategy, group):
        self.model, self.strategy, self.group = model, strategy, group
        self.rank, self.size = group.rank, group.size
        self._reducers: dict = {}

    def shard_spec(self) -> tuple[int, int, bool]:
        """What the data objects need to cut batches (models/_data.py)."""
        return self.rank, self.size, self.strategy.sync_batch_norm

    @staticmethod
    def shard_fraction() -> float:
        shard = current_shard()
        return 1.0 if shard is None else shard.fraction

    def local_callbacks(self, callbacks, verbose):
        """Only rank 0 prints and runs the callbacks that write files (``main_process_only``)."""
        if self.rank == 0:
            return callbacks, verbose
        return [cb for cb in callbacks or [] if not getattr(cb, "main_process_only", False)], 0

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Make every replica identical to rank 0's (weights, optimizer state, random states)."""
        self._sync_from_main()

    def _sync_from_main(self) -> None:
        from . import _state

        model = self.model
        opt = model.optimizer
        gen = getattr(model, "_shuffle_rng", None)
        mine = {
            "weights": [devices.to_numpy(w.value) for w in model.weights],
            "optimizer": opt.get_state() if opt is not None else None,
            "rng": {k: v for k, v in _state.rng_tensors(model).items() if k != _state.SHUFFLE},
            "shuffle": None if gen is None else gen.bit_generator.state,
        }
        theirs = _comm.broadcast_object(mine if self.rank == 0 else None)
        if self.rank == 0:
            return
        if len(theirs["weights"]) != len(model.weights):
            raise RuntimeError(
                f"{type(model).__name__}.fit: rank 0's model has {len(theirs['weights'])} weights and rank "
                f"{self.rank}'s {len(model.weights)}: every process must build the same model"
            )
        for w, value in zip(model.weights, theirs["weights"]):
            if tuple(value.shape) != tuple(w.value.shape):
                raise RuntimeError(
                    f"{type(model).__name__}.fit: weight {w.name!r} is {tuple(value.shape)} on rank 0 and "
                    f"{tuple(w.value.shape)} on rank {self.rank}: every process must build the same model"
                )
            w.value[...] = value if isinstance(w.value, np.ndarray) else model.device.asarray(value)
        state = theirs["optimizer"]
        if opt is not None and state is not None and (int(state["iterations"]) or len(state) > 2):
            opt.set_state(state)  # (a fresh optimizer has only its step count and learning rate)
        _state.restore_rng(model, theirs["rng"], "(rank 0's random state)")
        if gen is not None and theirs["shuffle"] is not None:
            gen.bit_generator.state = theirs["shuffle"]  # in place: the data objects hold this generator

    def average_moving_statistics(self) -> None:
        """Per-replica BatchNormalization moves each rank's moving mean and variance with its own
        rows; at the end of every epoch they are replaced by their mean over the ranks (as
        tf.distribute's MEAN aggregation of non-trainable variables), so every rank then holds
        the same model and rank 0 saves statistics of the whole data. (With sync_batch_norm they
        are already identical and left alone.)"""
        if self.strategy.sync_batch_norm:
            return
        trainable = {id(w) for w in self.model.trainable_weights}
        moving = [w for w in self.model.weights if id(w) not in trainable]
        if not moving:
            return
        flat = np.concatenate([devices.to_numpy(w.value).astype(np.float64).ravel() for w in moving])
        _comm.sum_over_ranks(flat, "the allreduce of the moving statistics")
        flat /= self.size
        offset = 0
        for w in moving:
            n = w.value.size
            part = flat[offset : offset + n].reshape(w.value.shape).astype(np.float32)
            w.value[...] = part if isinstance(w.value, np.ndarray) else self.model.device.asarray(part)
            offset += n

    # ------------------------------------------------------------------ gradients
    def reducer(self, plan) -> GradientReducer:
        r = self._reducers.get(id(plan))
        if r is None:
            transport = transport_for(self.group, self.model.device, self.strategy.backend)
            r = self._reducers[id(plan)] = GradientReducer(
                plan.graph, plan.weights, transport, self.strategy.bucket_bytes
            )
        return r

    # ------------------------------------------------------------------ logs
    def sums(self, values: list[float]) -> list[float]:
        """The element-wise sums over ranks of a few float64 numbers (one small allreduce)."""
        g = self.group
        buf = np.array(values, np.float64)
        _comm.wait(g.comm.Iallreduce(g.MPI.IN_PLACE, buf, op=g.MPI.SUM), "the allreduce of the loss and metrics")
        return buf.tolist()

    def any(self, flag: bool) -> bool:
        return self.sums([1.0 if flag else 0.0])[0] > 0

    # ------------------------------------------------------------------ predict
    def gather(self, out: np.ndarray, result: np.ndarray, start: int, total: int) -> None:
        """Write every rank's rows of one global batch of ``total`` rows into ``result[start:start+total]``
        (each rank's ``out`` holds its ``split`` of them)."""
        g = self.group
        feature = int(np.prod(out.shape[1:]))
        parts = [split(total, r, self.size) for r in range(self.size)]
        counts = [rows * feature for _, rows in parts]
        displs = [s * feature for s, _ in parts]
        target = result[start : start + total].reshape(-1)
        send = np.ascontiguousarray(out, np.float32).reshape(-1)
        _comm.wait(
            g.comm.Iallgatherv(send, [target, counts, displs, g.MPI.FLOAT]),
            f"the gather of predictions ({total} rows)",
        )

    def gathered(self, out: np.ndarray, total: int) -> np.ndarray:
        """Every rank's rows of one global batch of ``total`` rows, as a new array."""
        result = np.empty((total, *out.shape[1:]), np.float32)
        self.gather(out, result, 0, total)
        return result


@contextlib.contextmanager
def scope(model):
    """``model._replica_set`` is a Replicas while the block runs (None for one process)."""
    reps = make(model)
    previous = model._replica_set
    model._replica_set = reps
    try:
        yield reps
    finally:
        model._replica_set = previous


def make(model):
    """A Replicas for ``model`` when it was compiled with ``distribute=`` and more than one process runs."""
    strategy = getattr(model, "_distribute", None)
    if strategy is None:
        return None
    g = _comm.group()
    if g is None or g.size == 1:
        return None
    return Replicas(model, strategy, g)
