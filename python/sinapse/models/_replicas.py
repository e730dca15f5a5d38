"""What a model compiled with ``distribute=`` does differently in fit / evaluate / predict.

``Replicas`` exists for the duration of one call on a process group of more than one process
(models/training.py makes it; one process never builds one). Its parts, in the order a step
uses them:

- ``check_same_call``: the ranks' arguments and sampled data are compared (a ValueError naming
  what differs, on every rank);
- ``take_rank0_state``: rank 0's weights (trainable and not), optimizer state and random states
  (Dropout's Philox key and offset, the shuffling generator) are broadcast, so every replica
  starts identical and draws the same shuffles (fit always; evaluate / predict / *_on_batch
  when ``ensure_same_state`` finds the weights differ);
- the data objects (models/_data.py) cut each global batch into this rank's rows
  (``strategy.split``) and expose the batch's ``Shard``, which the training loop makes
  current (``strategy.shard_scope``) for the layers that need it;
- ``reducer``: the gradient buckets of the current training plan (distributed/_reducer.py);
- ``loss_shares``: each output's share of the global loss when it is not a mean over rows;
- ``sums``: the running loss, per-output losses and metric sums, summed over ranks before any
  callback sees them (so EarlyStopping and friends decide the same on every rank);
- ``any``: a flag raised on any rank (``stop_training``) stops every rank at the same step;
- ``gather``: this rank's predicted rows into every rank's copy of the whole output.
"""

from __future__ import annotations

import contextlib
import json
import traceback
import zlib

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
    def begin_inference(self, where, data, batch_size, steps, callbacks, verbose):
        """evaluate / predict: the same call on every rank, rank 0's weights, rank-0-only printing;
        returns this rank's (callbacks, verbose)."""
        self.check_same_call(where, data, None, {"batch_size": batch_size, "steps": steps})
        self.ensure_same_state()
        return self.local_callbacks(callbacks, verbose)

    def ensure_same_state(self) -> None:
        """Before evaluate / predict / *_on_batch: if the ranks' weights differ (a rank loaded other
        weights, an unseeded model never fitted), take rank 0's, as fit does — checked by a CRC of
        every weight, so an identical model costs one small allreduce and no copy."""
        crc = 0
        for w in self.model.weights:
            crc = zlib.crc32(np.ascontiguousarray(devices.to_numpy(w.value)).data, crc)
        if _comm.differ([crc], "the comparison of the ranks' weights")[0]:
            self.take_rank0_state()

    def check_same_call(self, where: str, data, val, arguments: dict) -> None:
        """Every rank must call fit / evaluate / predict with the same arguments and the same data
        (the global data: sinapse cuts each batch itself). Compared by CRCs in one allreduce;
        differences raise ValueError on every rank, naming what differs, instead of a collective
        that waits for ever or ranks that silently train different models."""
        items: dict[str, object] = {"the model's weights (shapes)": [tuple(w.value.shape) for w in self.model.weights]}
        items.update({f"`{k}`": v for k, v in sorted(arguments.items()) if k in _COMPARED})
        items["`x` (shape and sampled rows)"] = _data_signature(getattr(data, "x", None), data)
        items["`y` (shape and sampled rows)"] = _data_signature(getattr(data, "y", None), data)
        items["`validation_data`"] = None if val is None else _data_signature(getattr(val, "x", None), val)
        opt = self.model.optimizer
        items["the optimizer"] = (
            None if opt is None else (type(opt).__name__, json.dumps(opt.get_config(), default=str))
        )
        items["the loss and metrics (compile)"] = json.dumps(getattr(self.model, "_compile_config", None), default=str)
        crcs = [float(zlib.crc32(repr(v).encode())) for v in items.values()]
        differ = [name for name, d in zip(items, _comm.differ(crcs, "the comparison of the ranks' calls")) if d]
        if differ:
            error = ValueError(
                f"{where}: {', '.join(differ)} differ between the {self.size} processes. With distribute=, every "
                f"process runs the same call with the same whole data set: sinapse gives each process its rows "
                f"of every global batch (do not shard the data yourself)"
            )
            setattr(error, "all_ranks", True)  # raised on every rank alike: nobody is left in a collective  # noqa: B010
            raise error

    def take_rank0_state(self) -> None:
        """Make every replica identical to rank 0's: weights (trainable and not), optimizer state,
        random states (Dropout's Philox key and offset, the shuffling generator)."""
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
                f"{type(model).__name__}: rank 0's model has {len(theirs['weights'])} weights and rank "
                f"{self.rank}'s {len(model.weights)}: every process must build the same model"
            )
        for w, value in zip(model.weights, theirs["weights"]):
            if tuple(value.shape) != tuple(w.value.shape):
                raise RuntimeError(
                    f"{type(model).__name__}: weight {w.name!r} is {tuple(value.shape)} on rank 0 and "
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
        _comm.reduce_in_place(flat, "sum", "the allreduce of the moving statistics")
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

    # ------------------------------------------------------------------ losses
    def loss_shares(self, plan, outs, masks) -> list[float] | None:
        """Per output, this rank's share of the global batch's loss, or None when every loss is the
        mean over rows (the share is then this rank's fraction of the rows, which the gradient
        buckets apply: no collective is needed).

        A loss reduced by "sum_over_batch_size" divides by its entries (rows x steps), and with a
        mask by the valid ones (losses.apply_mask): the global loss divides by the sum over ranks,
        so rank r's share is D_r / sum(D) — one small allreduce per step. A "sum" loss adds the
        ranks' sums: share 1. A stand-in row (models/_data.py) has share 0."""
        from .. import losses

        def is_sum(head):
            return losses._REDUCTIONS.get(head.loss.reduction, head.loss.reduction) == "sum"

        if not any(
            head.loss is not None and (is_sum(head) or (masks is not None and masks[k] is not None))
            for k, head in enumerate(plan.heads)
        ):
            return None
        shard = current_shard()
        real = shard is None or shard.rows > 0
        counts = []
        for k, head in enumerate(plan.heads):
            mask = None if masks is None else masks[k]
            if head.loss is None or not real:
                counts.append(0.0)
            elif mask is not None:
                counts.append(float(mask.sum()))
            else:
                counts.append(float(np.prod(outs[k].shape[:-1])))
        totals = self.sums(counts)
        return [
            0.0
            if head.loss is None or not real
            else 1.0
            if is_sum(head)
            else (counts[k] / totals[k] if totals[k] else 0.0)
            for k, head in enumerate(plan.heads)
        ]

    @staticmethod
    def rescale_head_gradients(grads, shares) -> None:
        """Make each output's loss gradient count for its share: the buckets multiply every gradient
        by the rank's row fraction f (right for the regularization gradients, which every rank adds),
        so a head's dL/dy is multiplied by share / f here."""
        shard = current_shard()
        if shares is None or shard is None or not shard.rows:
            return
        f = shard.fraction
        for g, share in zip(grads, shares):
            if g is not None and share != f:
                g *= np.float32(share / f)

    @staticmethod
    def batch_terms(plan, loss, penalty, head_losses, shares, shard) -> tuple[float, list[float]]:
        """This rank's part of (global batch loss x global rows) and of each output's: summed over
        ranks, the running sums one process keeps (loss x rows per batch)."""
        if shares is None:  # every loss a mean over rows: this rank's part is its rows' mean x rows
            return loss * shard.rows, [v * shard.rows for v in head_losses]
        rows = shard.total
        part = shard.fraction * penalty
        for head, share, value in zip(plan.heads, shares, head_losses):
            if head.loss is not None and head.weight != 0.0:
                part += share * head.weight * value
        return part * rows, [share * value * rows for share, value in zip(shares, head_losses)]

    # ------------------------------------------------------------------ logs
    def sums(self, values: list[float]) -> list[float]:
        """The element-wise sums over ranks of a few float64 numbers (one small allreduce)."""
        return _comm.reduce_in_place(
            np.array(values, np.float64), "sum", "the allreduce of the loss and metrics"
        ).tolist()

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


_COMPARED = {
    "batch_size",
    "epochs",
    "initial_epoch",
    "shuffle",
    "steps",
    "steps_per_epoch",
    "validation_freq",
    "validation_steps",
}


def _data_signature(arrays, data):
    """Shapes, dtypes and three sampled rows of each array (a CRC of all would read the whole data
    set): enough to tell the same data set from per-rank shards or another split."""
    if arrays is None:
        first = getattr(data, "_first", None)  # a generator: its first batch
        return None if first is None else repr(first)[:4096]
    out: list = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        n = len(a)
        rows = [a[i] for i in sorted({0, n // 2, n - 1})] if n else []
        out.append((a.shape, a.dtype.str, [zlib.crc32(np.ascontiguousarray(r).data) for r in rows]))
    return out


@contextlib.contextmanager
def scope(model, where: str):
    """``model._replica_set`` is a Replicas while the block runs (None for one process).

    An exception that leaves a distributed call on one rank (an error in a callback, sys.exit,
    KeyboardInterrupt, an error in a thread running fit) would leave the other ranks waiting in
    the step's collectives: it ends every rank at once (MPI_Abort) with its traceback — unless it
    is raised on every rank alike (``all_ranks``: the argument checks)."""
    reps = make(model, where)
    previous = model._replica_set
    model._replica_set = reps
    try:
        yield reps
    except BaseException as e:
        if reps is not None and not getattr(e, "all_ranks", False):
            code = e.code if isinstance(e, SystemExit) and isinstance(e.code, int) and e.code else 1
            _comm.abort(
                f"{where} stopped on this rank with {type(e).__name__}: {e}; the other ranks would wait for "
                f"it in the step's collectives. Stopping all {reps.size} processes.\n{traceback.format_exc()}",
                code,
            )
        raise
    finally:
        model._replica_set = previous


def make(model, where: str):
    """A Replicas for ``model`` when it was compiled with ``distribute=`` and more than one process runs."""
    strategy = getattr(model, "_distribute", None)
    if strategy is None:
        return None
    if strategy.backend == "nccl" and not model.device.is_cuda:
        raise ValueError(
            f"{where}: distribute='nccl' reduces CuPy arrays on GPUs, but the model is on device "
            f"{model.device.name!r}: compile with device='cuda', or distribute='mpi'"
        )
    g = _comm.group()
    if g is None or g.size == 1:
        return None
    return Replicas(model, strategy, g)
