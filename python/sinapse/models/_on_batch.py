"""train_on_batch and test_on_batch of every model (a mixin of ModelBase): one step on one batch;
in a distributed model the batch is the global one and each process computes its rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..distributed.strategy import shard_scope
from . import _arguments as args_mod
from ._data import shard_rows
from ._guard import guarded

if TYPE_CHECKING:
    from .training import TrainingMixin as _Base
else:
    _Base = object


class OnBatchMixin(_Base):
    # ------------------------------------------------------------------ on_batch
    def _one_batch(self, x, y, sample_weight, class_weight, where):
        """The batch in the kernels' form; in a distributed call, this rank's rows of it (the batch
        is the global one, as fit's batch_size) and their Shard (else None)."""
        x, y, w = self._prepare_arrays(x, y, sample_weight, class_weight, True, where)
        shard = None
        reps = self._replica_set
        if reps is not None:
            reps.ensure_same_state()
            shard, (lo, hi) = shard_rows(len(x[0]), reps.shard_spec())
            x, y, w = ([None if a is None else a[lo:hi] for a in group] for group in (x, y, w))
        d = self.device
        if d.is_cuda:
            x, y, w = ([None if a is None else d.asarray(a, a.dtype) for a in group] for group in (x, y, w))
        return x, y, w, shard

    def _batch_logs(self, loss, batch, reset_metrics, return_dict, shard):
        """The logs of one batch (x, y, outputs, masks): its metrics, after a reset if asked; in a
        distributed call, of every rank's rows."""
        x, y, out, mask = batch
        metrics = self._resolve_metrics()
        if reset_metrics:
            for m in metrics:
                m.reset_state()
        n = len(x[0]) if shard is None else shard.rows
        if n:
            self._update_metrics(metrics, y, out, mask)
        term, head_terms = self._batch_terms(loss, n, shard)
        logs = self._logs(term, n, head_terms, metrics)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    @guarded(changes=True, structural=True, trains=True)
    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: dict[int, float] | None = None,
        reset_metrics: bool = True,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """One training step on one batch; returns the loss (and metrics) of that batch."""
        self._check_compiled("train_on_batch")
        where = args_mod.on_batch(self, "train_on_batch", x, reset_metrics, return_dict)
        with self.device.scope(), self._distributed_call(where):
            x, y, w, shard = self._one_batch(x, y, sample_weight, class_weight, where)
            with shard_scope(shard):
                loss, out, mask = self._train_step(x, y, w)
            return self._batch_logs(loss, (x, y, out, mask), reset_metrics, return_dict, shard)

    @guarded(changes=False)
    def test_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        reset_metrics: bool = True,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        self._check_compiled("test_on_batch")
        where = args_mod.on_batch(self, "test_on_batch", x, reset_metrics, return_dict)
        with self.device.scope(), self._distributed_call(where) as reps:
            x, y, w, shard = self._one_batch(x, y, sample_weight, None, where)
            plan = self._training_plan()
            with shard_scope(shard):
                out, mask = self._forward(x, False, plan, with_mask=True)
                loss = self._loss_and_grad(plan, out, y, w, grad=False, masks=mask)
                if reps is not None:
                    self._shares = reps.loss_shares(plan, out, mask)
            return self._batch_logs(loss, (x, y, out, mask), reset_metrics, return_dict, shard)
