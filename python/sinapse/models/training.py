"""fit / evaluate / predict and the *_on_batch methods of every model (a mixin of ModelBase).

One training step (``_train_step``): the graph's forward (models/graph.py: each layer's kernels
into reused buffers), each output's loss and its gradient (``ops.loss``; softmax/sigmoid heads
fused with a cross-entropy into the (p - y) gradient; loss weights folded into the per-sample
weights), the graph's backward in reverse (weight gradients of trainable layers, fan-out
gradients summed, no input gradient below the lowest trainable layer), then one
``optimizer.apply(params, grads)`` over the trainable weights in a fixed order. Data are lists,
one array per model input / output.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import callbacks as callbacks_mod
from .. import devices, utils
from .. import metrics as metrics_mod
from ..distributed.strategy import shard_scope
from ..layers.base import Layer
from . import _arguments as args_mod
from . import _replicas
from ._data import ArrayData, IterableData, as_inputs, class_weights_for, is_iterable_data
from ._guard import guarded
from .graph import Graph, mark_backward


class _Head:
    """One output's loss: which Loss, its weight, and whether its softmax/sigmoid fuses into it."""

    __slots__ = ("loss", "weight", "step", "fused", "name")

    def __init__(self, loss, weight, step, fused, name):
        self.loss, self.weight, self.step, self.fused, self.name = loss, weight, step, fused, name


class _Plan:
    """What a training step needs, computed once per (model structure, trainable flags, losses)."""

    __slots__ = ("graph", "weights", "heads", "regularized", "constrained", "masking")

    def __init__(self, model):
        graph = model._graph()
        mark_backward(graph)
        self.graph = graph
        self.weights = tuple(model.trainable_weights)
        producer = {step.out: step for step in graph.steps}
        readers = {s for step in graph.steps for s in step.ins}
        losses = model.compiled_losses or [None] * len(graph.outputs)
        weights = model.loss_weights or [1.0] * len(graph.outputs)
        names = model._output_labels()
        self.heads = []
        for k, slot in enumerate(graph.outputs):
            loss, step = losses[k], producer.get(slot)
            head = step.layer if step is not None else None
            fused = (
                loss is not None
                and step is not None
                and slot not in readers  # a fused head's output feeds nothing else
                and graph.outputs.count(slot) == 1
                and not loss.from_logits
                and loss.fusable_activation is not None
                and getattr(head, "output_activation", None) == loss.fusable_activation
                and hasattr(head, "backward_logits")
                and getattr(head, "activity_regularizer", None) is None  # its penalty's gradient needs dy
            )
            if step is not None:
                step.fused = fused
            self.heads.append(_Head(loss, weights[k], step, fused, names[k]))
        self.regularized = tuple(w for w in model.weights if w.regularizer is not None)
        self.constrained = tuple(w for w in self.weights if w.constraint is not None)  # projected after each update
        self.masking = graph.masking

    @property
    def fuse(self) -> bool:
        """The (first) output's activation is fused into its loss."""
        return bool(self.heads) and self.heads[0].fused


class TrainingMixin:
    # Set by ModelBase / Model / Sequential (the classes this mixes into): declared here for the type checker.
    _input_shape: tuple | None
    _version: int
    built: bool
    device: devices.Device
    optimizer: Any
    compiled_loss: Any
    compiled_losses: list
    loss_weights: list[float]
    compiled_metrics: list
    _metric_ids: list
    _metric_outputs: list[int]
    _head_losses: list[float]
    _plan: _Plan | None
    history: callbacks_mod.History | None
    _plan_key: tuple | None
    _plan_params: list[int] | None
    _replica_set: _replicas.Replicas | None = None  # during a distributed fit / evaluate / predict
    _shares: list[float] | None = None  # per head, this rank's share of the global batch's loss (ibid.)
    _penalty: float = 0.0  # the regularization penalty in the last loss

    if TYPE_CHECKING:

        def _graph(self) -> Graph: ...

        def _run_evaluation(self, data, cbs) -> dict: ...  # models/_evaluation.py

        def _n_inputs(self) -> int: ...

        def _input_names(self) -> list[str]: ...

        def _input_readers(self) -> list: ...

        def _check_input_shapes(self, shapes, where) -> None: ...

        def _output_shapes(self) -> list[tuple]: ...

        @property
        def output_names(self) -> list[str]: ...

        @property
        def trainable_weights(self) -> list: ...

        @property
        def weights(self) -> list: ...

    def _reset_plans(self):
        self._plan = None
        self._plan_key = None
        self._plan_params = None

    def _training_plan(self) -> _Plan:
        key = self._training_plan_key()
        if self._plan_key != key:
            plan = _Plan(self)
            self._head_losses = [0.0] * len(plan.heads)
            params = [id(w) for w in plan.weights]
            if self._plan_params is not None and params != self._plan_params and self.optimizer is not None:
                # The trainable set changed: the optimizer's slots (keyed by position) no longer fit.
                opt = self.optimizer
                if getattr(opt, "iterations", 0):
                    self.optimizer = type(opt).from_config(opt.get_config())
            self._plan, self._plan_key, self._plan_params = plan, key, params
            return plan
        assert self._plan is not None  # set with _plan_key
        return self._plan

    def _training_plan_key(self):
        return (self._version, Layer._trainable_version, id(self.compiled_loss), self.device.name)

    def _last_output_shape(self) -> tuple:
        """The (first) output's shape without the batch axis, of the built model."""
        return tuple(self._output_shapes()[0])

    def _output_labels(self) -> list[str]:
        """How History names each output's entries: "" for a single output, else its name."""
        names = list(getattr(self, "output_names", None) or ["output"])
        return [""] if len(names) == 1 else names

    def _check_compiled(self, what):
        if self.compiled_loss is None and not any(lo is not None for lo in self.compiled_losses):
            raise RuntimeError(f"{type(self).__name__}.{what}: call compile(optimizer, loss, metrics) first")

    # ------------------------------------------------------------------ one step
    def _forward(self, xs, training, plan=None, with_mask=False):
        """The outputs (a list) for the inputs ``xs`` (a list); with ``with_mask``, (outputs, their masks)."""
        graph = plan.graph if plan is not None else self._graph()
        outs, masks = graph.forward(xs, training, keep=with_mask or training)
        return (outs, masks) if with_mask else outs

    def _loss_and_grad(self, plan, outs, ys, ws, grad, masks=None):
        """The total loss ``sum(weight_k * loss_k) + penalties`` and, with ``grad``, dL/dy per output."""
        total = 0.0
        grads: list = []
        for k, head in enumerate(plan.heads):
            if head.loss is None:
                grads.append(None)
                continue
            out, mask = outs[k], None if masks is None else masks[k]
            pred = out
            if head.fused:
                pred = head.step.layer.logits
                assert pred is not None  # the fused head's forward keeps its pre-activation
                if pred.shape != out.shape:
                    pred = pred.reshape(out.shape)
            muted = head.weight == 0.0  # reported, but neither in the total nor in the gradient
            g = grad and not muted
            owner = head.step.layer if head.step is not None else None  # a nested model has no buffers
            buf = owner.buffer("dloss", out.shape) if g and owner is not None and hasattr(owner, "buffer") else None
            result = head.loss.compute(
                ys[k], pred, ws[k], from_logits=True if head.fused else None, grad=g, mask=mask, grad_out=buf
            )
            value = result[0] if g else result
            # The loss weight is folded into the per-sample weights (_sample_weights), so ``value``
            # is already weighted; History reports each output's loss unweighted, as Keras does.
            self._head_losses[k] = value / head.weight if not muted and head.weight != 1.0 else value
            total += 0.0 if muted else value
            if grad:
                grads.append(None if muted else result[1])
        self._penalty = sum(w.regularizer(w.value) for w in plan.regularized) if plan.regularized else 0.0
        self._penalty += plan.graph.activity_penalty  # the outputs' activity_regularizer penalties (Keras 3)
        total += self._penalty
        return (total, grads) if grad else total

    def _train_step(self, xs, ys, ws):
        """One step on one batch (lists, one entry per input / output): forward, loss, backward, update."""
        plan = self._training_plan()
        reducer = None if self._replica_set is None or not plan.weights else self._replica_set.reducer(plan)
        outs, masks = self._forward(xs, True, plan, with_mask=True)  # Keras leaves masked steps out of the loss
        loss, grads = self._loss_and_grad(plan, outs, ys, ws, grad=True, masks=masks)
        if self._replica_set is not None:  # a head that is not a mean over rows: its gradient's share
            self._shares = self._replica_set.loss_shares(plan, outs, masks)
            self._replica_set.rescale_head_gradients(grads, self._shares)
        if plan.weights:
            if reducer is not None:  # this rank's gradients count for its share of the global batch
                reducer.begin(_replicas.Replicas.shard_fraction())
            plan.graph.backward(grads, on_step=None if reducer is None else reducer.step_done)
            plan.graph.reduce_shared_gradients()
            if reducer is not None:
                reducer.finish()
            self.optimizer.apply([w.value for w in plan.weights], [w.grad for w in plan.weights])
            for w in plan.constrained:  # Keras's BaseOptimizer.apply: the constraints after the update
                w.constraint.apply_in_place(w.value)
        return loss, outs, masks

    def _update_metrics(self, metrics, ys, outs, masks=None):
        for k, m in zip(self._metric_outputs, metrics):
            m.update_state(ys[k], outs[k], mask=None if masks is None else masks[k])

    def _resolve_metrics(self) -> list:
        """The compiled Metric objects, created on first use (they need the output shapes);
        ``self._metric_outputs`` holds the output index of each."""
        if not self.compiled_metrics:
            self._metric_outputs = []
            per_output = getattr(self, "_metric_ids_per_output", None) or [self._metric_ids]
            labels = self._output_labels()
            shapes = self._output_shapes()
            for k, ids in enumerate(per_output):
                for mid in ids or []:
                    loss = self.compiled_losses[k] if self.compiled_losses else self.compiled_loss
                    m = metrics_mod.get(mid, loss, shapes[k])
                    if labels[k]:
                        m.name = f"{labels[k]}_{m.name}"
                    self.compiled_metrics.append(m)
                    self._metric_outputs.append(k)
        return self.compiled_metrics

    def _log_names(self, metrics) -> list[str]:
        labels = self._output_labels()
        heads = [f"{labels[k]}_loss" for k, lo in enumerate(self.compiled_losses) if labels[k] and lo is not None]
        return ["loss", *heads, *(m.name for m in metrics)]

    def _logs(self, total, seen, head_totals, metrics) -> dict:
        """The running logs; in a distributed call, of every rank's rows (one small allreduce)."""
        sums = [(m._total, m._count) for m in metrics]
        if self._replica_set is not None:
            k = len(head_totals)
            flat = self._replica_set.sums([total, seen, *head_totals, *(v for pair in sums for v in pair)])
            total, seen, head_totals, rest = flat[0], flat[1], flat[2 : 2 + k], flat[2 + k :]
            sums = list(zip(rest[::2], rest[1::2]))
        logs = {"loss": total / seen if seen else 0.0}
        labels = self._output_labels()
        for k, lo in enumerate(self.compiled_losses):
            if labels[k] and lo is not None:
                logs[f"{labels[k]}_loss"] = head_totals[k] / seen if seen else 0.0
        logs.update({m.name: metrics_mod.Metric.result_of(t, c) for m, (t, c) in zip(metrics, sums)})
        return logs

    @property
    def metrics_names(self) -> list[str]:
        return self._log_names(self._resolve_metrics()) if self.built else ["loss"]

    # ------------------------------------------------------------------ data
    def _x_dtypes(self) -> list:
        """Per input: None (keep x's dtype) when the layers reading it take integer ids (Embedding:
        ids above 2**24 must not go through float32), else float32."""
        return [None if getattr(first, "takes_ids", False) else np.float32 for first in self._input_readers()]

    def _x_list(self, x, where: str, dtypes=None) -> list:
        """``x`` as one array per model input: an array, a list/tuple (input order) or a dict (input names)."""
        n = self._n_inputs()
        dtypes = dtypes or self._x_dtypes()
        if isinstance(x, dict):
            names = self._input_names()
            missing = [k for k in names if k not in x]
            if missing or len(x) != len(names):
                raise ValueError(
                    f"{where}: `x` is a dict with keys {sorted(map(str, x))}; the model's inputs are {names}"
                )
            x = [x[k] for k in names]
        elif n > 1 or (isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape")):
            if not isinstance(x, (list, tuple)) or len(x) != n:
                got = f"a {type(x).__name__} of {len(x)}" if isinstance(x, (list, tuple)) else type(x).__name__
                raise ValueError(
                    f"{where}: the model has {n} inputs {self._input_names()}: pass a list or dict of {n} arrays as `x`, got {got}"
                )
        else:
            x = [x]
        xs = [
            as_inputs(xi, f"{where}: `x`" + (f"[{i}]" if n > 1 else ""), dtype=d)
            for i, (xi, d) in enumerate(zip(x, dtypes))
        ]
        if n > 1 and len({len(xi) for xi in xs}) > 1:
            raise ValueError(f"{where}: the inputs hold different numbers of samples: {[len(xi) for xi in xs]}")
        return xs

    def _y_list(self, y, where: str) -> list:
        """``y`` as one entry per output (None where the output has no loss)."""
        names = self._output_labels()
        n = len(names)
        if n == 1:
            if isinstance(y, (list, tuple)) and len(y) == 1 and hasattr(y[0], "shape"):
                y = y[0]
            elif isinstance(y, dict) and len(y) == 1:
                y = next(iter(y.values()))
            return [y]
        if isinstance(y, dict):
            unknown = [k for k in y if k not in names]
            if unknown:
                raise ValueError(f"{where}: `y` names unknown output(s) {unknown}; the outputs are {names}")
            return [y.get(k) for k in names]
        if not isinstance(y, (list, tuple)) or len(y) != n:
            got = f"a {type(y).__name__} of {len(y)}" if isinstance(y, (list, tuple)) else type(y).__name__
            raise ValueError(
                f"{where}: the model has {n} outputs {names}: pass `y` as a list or dict of {n} arrays, got {got}"
            )
        return list(y)

    def _prepare_arrays(self, x, y, sample_weight, class_weight, need_targets, where):
        """Lists (per input / output) of arrays in the kernels' form; ``where`` starts every error.
        Loss weights are folded into the per-sample weights here, once per call."""
        xs = self._x_list(x, where)
        self._check_input_shapes([xi.shape[1:] for xi in xs], where)
        n = len(xs[0])
        if need_targets and not n:
            raise ValueError(f"{where}: `x` holds no samples (shape {xs[0].shape})")
        if y is None:
            if need_targets:
                raise ValueError(f"{where}: `y` (the targets) is needed to train or evaluate; got y=None")
            return xs, None, None
        ylist = self._y_list(y, where)
        outputs = self._output_shapes()
        multi = len(outputs) > 1
        if class_weight is not None and multi:
            raise ValueError(f"{where}: `class_weight` is only supported for models with one output")
        swl = self._y_list(sample_weight, where) if multi and isinstance(sample_weight, (list, tuple, dict)) else None
        ys: list = []
        ws: list = []
        for k, (yk, shape) in enumerate(zip(ylist, outputs)):
            loss = self.compiled_losses[k] if self.compiled_losses else self.compiled_loss
            label = f"`y`[{self._output_labels()[k]!r}]" if multi else "`y`"
            if yk is None or loss is None:
                ys.append(None)
                ws.append(None)
                continue
            yk = as_inputs(yk, f"{where}: {label}", dtype=None)
            if len(yk) != n:
                raise ValueError(f"{where}: `x` has {n} samples but {label} has {len(yk)}; they must match")
            try:
                yk = loss.prepare_targets(yk, (n, *shape))
            except (TypeError, ValueError) as e:
                raise type(e)(f"{where}: {label} does not fit the loss and the output: {e}") from None
            swk = swl[k] if swl is not None else sample_weight
            ys.append(yk)
            ws.append(self._sample_weights(where, swk, class_weight, yk, loss, (n, *shape[:-1]), k))
        return xs, ys, ws

    def _sample_weights(self, where, sample_weight, class_weight, y, loss, lead, k):
        w = args_mod.sample_weight(where, None if sample_weight is None else devices.to_numpy(sample_weight), lead)
        if class_weight is not None:
            class_weight = args_mod.class_weight(where, class_weight, tuple(self._output_shapes()[k]))
            cw = class_weights_for(y, class_weight, loss.sparse)
            w = cw if w is None else w * cw.reshape(-1, *([1] * (w.ndim - 1)))
        if w is not None and w.shape != lead:
            w = np.broadcast_to(w.reshape(-1, *([1] * (len(lead) - 1))), lead)
        scale = self.loss_weights[k] if self.loss_weights else 1.0
        if scale not in (0.0, 1.0):  # Keras: total = sum(loss_weight * loss); folded into the per-sample weights
            w = np.full(lead, scale, np.float32) if w is None else w * np.float32(scale)
        return None if w is None else np.ascontiguousarray(w, dtype=np.float32)

    def _make_data(self, x, y, sample_weight, class_weight, batch_size, shuffle, steps, need_targets, where):
        if is_iterable_data(x):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    f"{where}: with a generator/iterable as `x`, do not pass `y` or `sample_weight` "
                    f"(yield (x, y) or (x, y, sample_weight) batches)"
                )

            def prepare(xb, yb, wb):
                return self._prepare_arrays(xb, yb, wb, class_weight, need_targets, where)

            data = IterableData(x, steps, prepare, self.device, need_targets, where)
            data.replicas = self._replica_set.shard_spec() if self._replica_set is not None else None
            first = data.peek()
            self._check_input_shapes([xi.shape[1:] for xi in self._x_list(first[0], where)], where)
            return data
        if x is None:
            raise ValueError(f"{where}: no input data: pass `x`")
        x, y, w = self._prepare_arrays(x, y, sample_weight, class_weight, need_targets, where)
        data = self._array_data(x, y, w, batch_size, shuffle)
        if self._replica_set is not None:
            data.replicas = self._replica_set.shard_spec()
        if steps is not None:
            data.limit_steps(
                steps,
                "validation_steps"
                if "validation_data" in where
                else "steps_per_epoch"
                if where.endswith(".fit")
                else "steps",
                where,
            )
        return data

    def _array_data(self, x, y, w, batch_size, shuffle):
        return ArrayData(
            x,
            y,
            w,
            batch_size if batch_size is not None else 32,
            shuffle,
            self.device,
            rng=utils.training_rng(self) if shuffle else None,
        )  # saved in checkpoints

    # ------------------------------------------------------------------ fit
    @guarded(changes=True, structural=True, trains=True)
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: str | int = "auto",
        callbacks: list[callbacks_mod.Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: Any = 1,  # an int, or a collection of epochs
        **kwargs: Any,
    ) -> callbacks_mod.History:
        """Train for ``epochs`` epochs; returns the History (``history.history``, ``history.epoch``).

        Raises RuntimeError when another thread is using the model (predict, evaluate, fit...):
        a model is trained by one thread at a time (models/_guard.py); its callbacks may call
        predict / evaluate.

        ``validation_split`` takes the *last* fraction of x/y (before any shuffling) as
        validation data, as Keras does. ``shuffle`` reshuffles the training samples every
        epoch with the model's generator (``sinapse.utils.training_rng``).

        Raises TypeError / ValueError, naming the argument, for a bad argument, before any step
        (models/_arguments.py: batch_size, epochs, class_weight keys in [0, n_classes), ...).
        """
        where = f"{type(self).__name__}.fit"
        if kwargs:
            raise TypeError(f"{where}: unexpected keyword argument(s) {', '.join(map(repr, kwargs))}")
        self._check_compiled("fit")
        a = args_mod.fit(
            self,
            x,
            y,
            batch_size,
            epochs,
            verbose,
            callbacks,
            validation_split,
            validation_data,
            shuffle,
            initial_epoch,
            steps_per_epoch,
            validation_steps,
            validation_batch_size,
            validation_freq,
        )
        batch_size, epochs, initial_epoch, validation_freq = (
            a["batch_size"],
            a["epochs"],
            a["initial_epoch"],
            a["validation_freq"],
        )
        if a["validation_split"] and validation_data is None:
            x, y, sample_weight, validation_data = self._split_validation(
                x, y, sample_weight, a["validation_split"], where
            )
        with self.device.scope(), self._distributed_call(where) as reps:
            data = self._make_data(
                x, y, sample_weight, class_weight, batch_size, a["shuffle"], steps_per_epoch, True, where
            )
            val = None
            if validation_data is not None:
                val = self._validation_data(
                    validation_data, validation_batch_size or batch_size, validation_steps, where
                )
            metrics = self._resolve_metrics()
            if reps is not None:
                reps.check_same_call(where, data, val, a)  # a clear error, not a hang, for differing arguments
                reps.take_rank0_state()  # rank 0's weights, optimizer and random states on every rank
                callbacks, verbose = reps.local_callbacks(callbacks, verbose)
            history = callbacks_mod.History()
            cbs = callbacks_mod.CallbackList(
                callbacks, model=self, history=history, verbose=verbose, epochs=epochs, steps=len(data) or None
            )
            self.stop_training = False
            self.history = history
            self._initial_epoch = None
            cbs.on_train_begin()
            if self._initial_epoch is not None:  # a callback restored a backup (callbacks.BackupAndRestore)
                initial_epoch, self._initial_epoch = min(self._initial_epoch, epochs), None
            logs = {}
            for epoch in range(initial_epoch, epochs):
                for m in metrics:
                    m.reset_state()
                cbs.on_epoch_begin(epoch)
                total, seen, step, batches = 0.0, 0, 0, 0
                head_totals = [0.0] * len(self._output_labels())
                for step, (xb, yb, wb) in enumerate(data.batches()):
                    cbs.on_train_batch_begin(step)
                    with shard_scope(data.batch_shard):
                        loss, out, mask = self._train_step(xb, yb, wb)
                    n = _rows(data, xb)
                    batches += 1
                    term, head_terms = self._batch_terms(loss, n, data.batch_shard)
                    total += term
                    seen += n
                    for k, v in enumerate(head_terms):
                        head_totals[k] += v
                    if n:
                        self._update_metrics(metrics, yb, out, mask)
                    logs = self._logs(total, seen, head_totals, metrics)
                    cbs.on_train_batch_end(step, logs)
                    if self._stops():
                        break
                if batches == 0:
                    warnings.warn(
                        f"{type(self).__name__}.fit: the data yielded no batch in epoch {epoch + 1}; interrupting "
                        f"training (give steps_per_epoch and a repeating generator)",
                        UserWarning,
                        stacklevel=2,
                    )
                    break
                epoch_logs = dict(logs)
                if reps is not None:
                    reps.average_moving_statistics()
                if val is not None and (
                    epoch + 1 in validation_freq
                    if isinstance(validation_freq, frozenset)
                    else (epoch + 1) % validation_freq == 0
                ):
                    val_logs = self._run_evaluation(val, None)
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                if self._stops():
                    break
            cbs.on_train_end(logs)
        return history

    def _validation_data(self, validation_data, batch_size, steps, where):
        where = f"{where} (`validation_data`)"
        if is_iterable_data(validation_data):
            return self._make_data(validation_data, None, None, None, batch_size, False, steps, True, where)
        xv, yv, *wv = validation_data  # its structure was checked by _arguments.validation_data
        return self._make_data(xv, yv, wv[0] if wv else None, None, batch_size, False, steps, True, where)

    def _batch_terms(self, loss, n, shard) -> tuple[float, list[float]]:
        """What a batch adds to the running loss sums: loss * rows (Keras's loss tracker weights each
        batch's mean by its rows); in a distributed call, this rank's part of that for the global
        batch (models/_replicas.py: batch_terms)."""
        if self._replica_set is None or shard is None:
            return loss * n, [v * n for v in self._head_losses]
        return self._replica_set.batch_terms(self._plan, loss, self._penalty, self._head_losses, self._shares, shard)

    def _distributed_call(self, where: str):
        """A context: ``self._replica_set`` is set for a distributed model run by several processes."""
        return _replicas.scope(self, where)

    def _stops(self) -> bool:
        """``stop_training``, agreed by every rank (any rank's request stops them all at once)."""
        if self._replica_set is not None:
            self.stop_training = self._replica_set.any(bool(self.stop_training))
        return bool(self.stop_training)

    def reset_metrics(self) -> None:
        for m in self.compiled_metrics:
            m.reset_state()

    def _split_validation(self, x, y, sample_weight, fraction, where):
        """Keras's validation_split: the *last* fraction of the samples (before any shuffling)."""
        xs = self._x_list(x, where)
        ys = self._y_list(y, where)
        n = len(xs[0])
        split = int(n * (1.0 - fraction))
        if split == 0 or split == n:
            raise ValueError(
                f"{where}: `validation_split`={fraction} of {n} samples leaves an empty training or validation set"
            )
        if sample_weight is not None:  # checked whole here: it is split with x before _make_data sees it
            ys0 = as_inputs(ys[0], f"{where}: `y`", dtype=None)
            sample_weight = args_mod.sample_weight(where, devices.to_numpy(sample_weight), (n,) + ys0.shape[1:2])
        ys = [None if yk is None else as_inputs(yk, f"{where}: `y`", dtype=None) for yk in ys]

        def part(items, sl):
            out = [None if a is None else a[sl] for a in items]
            return out[0] if len(out) == 1 else out

        val: tuple = (part(xs, slice(split, None)), part(ys, slice(split, None)))
        if sample_weight is not None:
            val += (sample_weight[split:],)
        train = (part(xs, slice(None, split)), part(ys, slice(None, split)))
        return (*train, None if sample_weight is None else sample_weight[:split], val)


def _rows(data, xb) -> int:
    """The rows of a batch that count: this rank's (0 for a stand-in row, models/_data.py)."""
    shard = data.batch_shard
    return len(xb[0]) if shard is None else shard.rows


def _fresh_metric(m):
    """A new metric of the same kind and name (evaluate must not disturb fit's running state)."""
    fresh = type(m)(**m.get_config())
    fresh.name = m.name
    return fresh
