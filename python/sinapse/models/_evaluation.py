"""evaluate, predict, model(x) and predict_on_batch of every model (a mixin of ModelBase): the
inference side of the training loops in models/training.py, sharded and gathered over the
processes of a model compiled with ``distribute=`` (models/_replicas.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import callbacks as callbacks_mod
from .. import devices
from ..distributed.strategy import shard_scope
from ..ops._checks import as_bool
from . import _arguments as args_mod
from ._data import ArrayData
from ._guard import guarded
from .training import _fresh_metric, _rows

if TYPE_CHECKING:
    from .training import TrainingMixin as _Base
else:
    _Base = object


class EvaluationMixin(_Base):
    # ------------------------------------------------------------------ evaluate
    def _run_evaluation(self, data, cbs) -> dict:
        plan = self._training_plan()
        metrics = [_fresh_metric(m) for m in self._resolve_metrics()]
        total, seen = 0.0, 0
        head_totals = [0.0] * len(plan.heads)
        logs = {}
        for step, (xb, yb, wb) in enumerate(data.batches()):
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            with shard_scope(data.batch_shard):
                out, mask = self._forward(xb, False, plan, with_mask=True)
            n = _rows(data, xb)
            loss = self._loss_and_grad(plan, out, yb, wb, grad=False, masks=mask)
            if self._replica_set is not None:
                with shard_scope(data.batch_shard):
                    self._shares = self._replica_set.loss_shares(plan, out, mask)
            term, head_terms = self._batch_terms(loss, n, data.batch_shard)
            total += term
            seen += n
            for k, v in enumerate(head_terms):
                head_totals[k] += v
            if n:  # (a rank of a distributed call may hold no rows of a short last batch)
                self._update_metrics(metrics, yb, out, mask)
            logs = self._logs(total, seen, head_totals, metrics)
            if cbs is not None:
                cbs.on_test_batch_end(step, logs)
        if not logs:
            raise ValueError(f"{type(self).__name__}.evaluate: no data to evaluate")
        return logs

    @guarded(changes=False)
    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: str | int = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: list[callbacks_mod.Callback] | None = None,
        return_dict: bool = False,
        **kwargs: Any,
    ) -> float | list[float] | dict[str, float]:
        """Loss and metrics over the data: a float (no metrics), a list [loss, *metrics], or a dict.

        Raises TypeError / ValueError for a bad argument (models/_arguments.py); thread-safe as predict."""
        where = f"{type(self).__name__}.evaluate"
        if kwargs:
            raise TypeError(f"{where}: unexpected keyword argument(s) {', '.join(map(repr, kwargs))}")
        self._check_compiled("evaluate")
        batch_size, verbose, steps, callbacks = args_mod.evaluate(
            self, batch_size, verbose, steps, callbacks, return_dict
        )
        with self.device.scope(), self._distributed_call(where) as reps:
            data = self._make_data(x, y, sample_weight, None, batch_size, False, steps, True, where)
            if reps is not None:
                callbacks, verbose = reps.begin_inference(where, data, batch_size, steps, callbacks, verbose)
            cbs = callbacks_mod.CallbackList(
                callbacks, model=self, verbose=verbose, steps=len(data) or None, mode="test"
            )
            cbs.on_test_begin()
            logs = self._run_evaluation(data, cbs)
            cbs.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ predict
    @guarded(changes=False)
    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: str | int = 0,
        steps: int | None = None,
        callbacks: list[callbacks_mod.Callback] | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """The model's outputs for x, batch by batch, as one NumPy array (N, *output_shape), float32.

        Thread-safe: calls from several threads on one model run one at a time and each gets
        its own rows; while another thread fits the model it raises RuntimeError (see
        models/_guard.py). Raises TypeError / ValueError for a bad argument (models/_arguments.py)."""
        where = f"{type(self).__name__}.predict"
        if kwargs:
            raise TypeError(f"{where}: unexpected keyword argument(s) {', '.join(map(repr, kwargs))}")
        batch_size, verbose, steps, callbacks = args_mod.predict(self, x, batch_size, verbose, steps, callbacks)
        with self.device.scope(), self._distributed_call(where) as reps:
            data = self._make_data(x, None, None, None, batch_size, False, steps, False, where)
            if reps is not None:
                callbacks, verbose = reps.begin_inference(where, data, batch_size, steps, callbacks, verbose)
            cbs = callbacks_mod.CallbackList(
                callbacks, model=self, verbose=verbose, steps=len(data) or None, mode="predict"
            )
            cbs.on_predict_begin()
            n_out = len(self._output_shapes())
            results: list = [None] * n_out
            parts: list = [[] for _ in range(n_out)]
            start = 0
            for step, (xb, _, _) in enumerate(data.batches()):
                cbs.on_predict_batch_begin(step)
                shard = data.batch_shard
                with shard_scope(shard):
                    outs = [devices.to_numpy(o) for o in self._forward(xb, False)]
                if shard is not None:
                    outs = [o[: shard.rows] for o in outs]  # (none of a stand-in row: models/_data.py)
                rows = len(outs[0]) if shard is None else shard.total  # this call's rows of the batch
                for k, out in enumerate(outs):
                    if isinstance(data, ArrayData):
                        if results[k] is None:
                            n_rows = min(data.n, len(data) * data.batch_size)
                            results[k] = np.empty((n_rows, *out.shape[1:]), np.float32)
                        if reps is not None:  # every rank's rows of this batch, in rank order
                            reps.gather(out, results[k], start, rows)
                        else:
                            results[k][start : start + len(out)] = out
                    else:
                        parts[k].append(np.array(out, copy=True) if reps is None else reps.gathered(out, rows))
                start += rows
                cbs.on_predict_batch_end(step, {})
            cbs.on_predict_end()
        for k, shape in enumerate(self._output_shapes()):
            if results[k] is None:
                results[k] = np.concatenate(parts[k]) if parts[k] else np.empty((0, *shape), np.float32)
        return self._output_structure(results)

    def _output_structure(self, arrays: list):
        """One array for a single output; else a list, or a dict when the outputs were given as one."""
        if len(arrays) == 1:
            return arrays[0]
        if getattr(self, "_outputs_struct", "list") == "dict":
            return dict(zip(self.output_names, arrays))
        return list(arrays)

    def __call__(self, x: Any, training: bool = False) -> Any:
        """``model(x)``: the forward pass on one batch, as a NumPy array (builds if needed).

        Safe to call from several threads (serialised, see models/_guard.py); with
        ``training=True`` (BatchNormalization statistics move) it raises RuntimeError while
        another thread uses the model."""
        training = as_bool(f"{type(self).__name__}.__call__", "training", training)
        return self._call_inference(x) if not training else self._call_training(x)

    @guarded(changes=False, name="__call__")
    def _call_inference(self, x):
        return self._predict_batch(x, "__call__")

    @guarded(changes=True, name="__call__")
    def _call_training(self, x):
        return self._predict_batch(x, "__call__", training=True)

    @guarded(changes=False)
    def predict_on_batch(self, x: Any) -> np.ndarray:
        """The outputs for one batch x (N, ...) as a float32 NumPy array (N, *output_shape)."""
        return self._predict_batch(x, "predict_on_batch")

    def _predict_batch(self, x, where, training=False):
        """predict_on_batch and model(x); ``where`` names the public method in errors."""
        where = f"{type(self).__name__}.{where}"
        xs = self._x_list(x, f"{where}")
        self._check_input_shapes([xi.shape[1:] for xi in xs], where)
        with self.device.scope():
            d = self.device
            outs = self._forward([d.asarray(xi, xi.dtype) for xi in xs] if d.is_cuda else xs, training)
            return self._output_structure([np.array(devices.to_numpy(o), copy=True) for o in outs])

    def predict_classes(self, x: Any, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """Class indices (argmax), or 0/1 of shape (N, 1) for a single sigmoid unit (Keras 2's rule: > 0.5)."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x: Any, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """``predict`` (Keras 2's name for it on probability outputs): (N, ...) float32."""
        return self.predict(x, batch_size=batch_size, verbose=verbose)
