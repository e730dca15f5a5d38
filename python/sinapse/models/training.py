"""fit / evaluate / predict and the *_on_batch methods of Sequential (a mixin).

One training step (``_train_step``): each layer's forward (kernels into reused buffers),
the loss and its gradient (``ops.loss``; softmax/sigmoid heads fused with a cross-entropy
into the (p - y) gradient), each layer's backward in reverse (weight gradients of
trainable layers; no input gradient below the lowest trainable layer), then one
``optimizer.apply(params, grads)`` over the trainable weights in a fixed order.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import callbacks as callbacks_mod
from .. import devices, utils
from ..layers.base import Layer
from ..ops._checks import as_bool
from . import _arguments as args_mod
from ._data import ArrayData, IterableData, as_inputs, class_weights_for, is_iterable_data
from ._guard import guarded


class _Plan:
    """What a training step needs, computed once per (model structure, trainable flags)."""

    __slots__ = ("layers", "weights", "need_dx", "lowest", "fuse", "regularized", "masking")

    def __init__(self, model):
        layers = model._layers
        self.layers = tuple(layers)
        self.weights = tuple(w for layer in layers for w in layer.trainable_weights)
        lowest = next((i for i, layer in enumerate(layers) if layer.trainable_weights), len(layers))
        self.lowest = lowest  # the backward stops at the lowest layer with trainable weights
        self.need_dx = tuple(i > lowest for i in range(len(layers)))
        loss, head = model.compiled_loss, layers[-1]
        self.fuse = (
            loss is not None
            and not loss.from_logits
            and loss.fusable_activation is not None
            and head.output_activation == loss.fusable_activation
            and hasattr(head, "backward_logits")
        )
        self.regularized = tuple(w for layer in layers for w in layer.weights if w.regularizer is not None)
        # Masks only flow when some layer makes one (Embedding(mask_zero=True), Masking).
        self.masking = any(type(layer).compute_mask is not Layer.compute_mask for layer in layers)


class TrainingMixin:
    # Set by Sequential (the one class this mixes into): declared here for the type checker.
    _layers: list[Layer]
    _input_shape: tuple | None
    _version: int
    built: bool
    device: devices.Device
    optimizer: Any
    compiled_loss: Any
    compiled_metrics: list
    _plan: _Plan | None
    history: callbacks_mod.History | None
    _plan_key: tuple | None
    _plan_params: list[int] | None

    if TYPE_CHECKING:

        def _ensure_input_shape(self, sample_shape, where=None) -> None: ...

        def _resolve_metrics(self) -> list: ...

    def _reset_plans(self):
        self._plan = None
        self._plan_key = None
        self._plan_params = None

    def _training_plan(self) -> _Plan:
        key = (self._version, Layer._trainable_version, id(self.compiled_loss))
        if self._plan_key != key:
            plan = _Plan(self)
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

    def _last_output_shape(self) -> tuple:
        """The last layer's output shape (no batch axis) of the built model."""
        shape = self._layers[-1].output_shape
        assert shape is not None, "the model is built"
        return shape

    def _check_compiled(self, what):
        if self.compiled_loss is None:
            raise RuntimeError(f"{type(self).__name__}.{what}: call compile(optimizer, loss, metrics) first")

    # ------------------------------------------------------------------ one step
    def _forward(self, x, training, plan=None, with_mask=False):
        """The output; with ``with_mask``, (output, its mask or None) for the loss and metrics."""
        mask = None
        layers = plan.layers if plan is not None else self._layers
        masking = (
            plan.masking
            if plan is not None
            else any(type(layer).compute_mask is not Layer.compute_mask for layer in layers)
        )
        if masking:  # predict and model(x) too: a padded sequence must predict as in fit/evaluate
            for layer in layers:
                y = layer.forward(x, training, mask)
                mask = layer.compute_mask(x, mask)
                x = y
            return (x, mask) if with_mask else x
        for layer in layers:
            x = layer.forward(x, training, mask)
        return (x, None) if with_mask else x

    def _loss_and_grad(self, plan, out, y, w, grad, mask=None):
        loss = self.compiled_loss
        if plan.fuse:
            logits = self._layers[-1].logits
            assert logits is not None  # the fused head's forward keeps its pre-activation
            if logits.shape != out.shape:
                logits = logits.reshape(out.shape)
            result = loss.compute(
                y,
                logits,
                w,
                from_logits=True,
                grad=grad,
                mask=mask,
                grad_out=self._layers[-1].buffer("dloss", out.shape) if grad else None,
            )
        else:
            result = loss.compute(
                y, out, w, grad=grad, mask=mask, grad_out=self._layers[-1].buffer("dloss", out.shape) if grad else None
            )
        if plan.regularized:
            penalty = sum(w.regularizer(w.value) for w in plan.regularized)
            if grad:
                return result[0] + penalty, result[1]
            return result + penalty
        return result

    def _train_step(self, x, y, w):
        plan = self._training_plan()
        out, mask = self._forward(x, True, plan, with_mask=True)  # Keras leaves masked steps out of the loss
        loss, g = self._loss_and_grad(plan, out, y, w, grad=True, mask=mask)
        layers, need_dx = plan.layers, plan.need_dx
        i = len(layers) - 1
        if plan.lowest <= i:
            g = layers[i].backward_logits(g, need_dx[i]) if plan.fuse else layers[i].backward(g, need_dx[i])
            for j in range(i - 1, plan.lowest - 1, -1):
                g = layers[j].backward(g, need_dx[j])
            self.optimizer.apply([w.value for w in plan.weights], [w.grad for w in plan.weights])
        return loss, out, mask

    def _update_metrics(self, metrics, y, out, mask=None):
        for m in metrics:
            m.update_state(y, out, mask=mask)

    # ------------------------------------------------------------------ data
    def _x_dtype(self):
        """None (keep x's dtype) when the first layer takes integer ids (Embedding: ids above 2**24
        must not go through float32), else float32."""
        first = next((layer for layer in self._layers if type(layer).__name__ != "InputLayer"), None)
        return None if getattr(first, "takes_ids", False) else np.float32

    def _prepare_arrays(self, x, y, sample_weight, class_weight, need_targets, where):
        """x, y, per-sample weights in the kernels' form; ``where`` ("Sequential.fit") starts every error."""
        x = as_inputs(x, f"{where}: `x`", dtype=self._x_dtype())
        self._ensure_input_shape(x.shape[1:], where)
        if need_targets and not len(x):
            raise ValueError(f"{where}: `x` holds no samples (shape {x.shape})")
        if y is None:
            if need_targets:
                raise ValueError(f"{where}: `y` (the targets) is needed to train or evaluate; got y=None")
            return x, None, None
        y = as_inputs(y, f"{where}: `y`", dtype=None)
        if len(y) != len(x):
            raise ValueError(f"{where}: `x` has {len(x)} samples but `y` has {len(y)}; they must match")
        try:
            y = self.compiled_loss.prepare_targets(y, (len(x), *self._last_output_shape()))
        except (TypeError, ValueError) as e:
            raise type(e)(f"{where}: `y` does not fit the loss and the output: {e}") from None
        lead = (len(x), *self._last_output_shape()[:-1])  # one weight per sample (and time step)
        w = args_mod.sample_weight(where, None if sample_weight is None else devices.to_numpy(sample_weight), lead)
        if class_weight is not None:
            class_weight = args_mod.class_weight(where, class_weight, self._layers[-1].output_shape)
            cw = class_weights_for(y, class_weight, self.compiled_loss.sparse)
            w = cw if w is None else w * cw.reshape(-1, *([1] * (w.ndim - 1)))
        if w is not None and w.shape != lead:
            w = np.broadcast_to(w.reshape(-1, *([1] * (len(lead) - 1))), lead)
        return x, y, (None if w is None else np.ascontiguousarray(w, dtype=np.float32))

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
            first = data.peek()
            self._ensure_input_shape(as_inputs(first[0], f"{where}: `x`").shape[1:], where)
            return data
        if x is None:
            raise ValueError(f"{where}: no input data: pass `x`")
        x, y, w = self._prepare_arrays(x, y, sample_weight, class_weight, need_targets, where)
        data = self._array_data(x, y, w, batch_size, shuffle)
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
            x, y = as_inputs(x, f"{where}: `x`", dtype=self._x_dtype()), as_inputs(y, f"{where}: `y`", dtype=None)
            n = len(x)
            if sample_weight is not None:  # checked whole here: it is split with x before _make_data sees it
                sample_weight = args_mod.sample_weight(where, devices.to_numpy(sample_weight), (n,) + y.shape[1:2])
            split = int(n * (1.0 - validation_split))
            if split == 0 or split == n:
                raise ValueError(
                    f"{where}: `validation_split`={validation_split} of {n} samples leaves an "
                    f"empty training or validation set"
                )
            validation_data = (x[split:], y[split:]) + ((sample_weight[split:],) if sample_weight is not None else ())
            x, y = x[:split], y[:split]
            sample_weight = sample_weight[:split] if sample_weight is not None else None
        with self.device.scope():
            data = self._make_data(
                x, y, sample_weight, class_weight, batch_size, a["shuffle"], steps_per_epoch, True, where
            )
            val = None
            if validation_data is not None:
                val = self._validation_data(
                    validation_data, validation_batch_size or batch_size, validation_steps, where
                )
            metrics = self._resolve_metrics()
            history = callbacks_mod.History()
            cbs = callbacks_mod.CallbackList(
                callbacks, model=self, history=history, verbose=verbose, epochs=epochs, steps=len(data) or None
            )
            self.stop_training = False
            self.history = history
            cbs.on_train_begin()
            logs = {}
            for epoch in range(initial_epoch, epochs):
                for m in metrics:
                    m.reset_state()
                cbs.on_epoch_begin(epoch)
                total, seen, step = 0.0, 0, 0
                for step, (xb, yb, wb) in enumerate(data.batches()):
                    cbs.on_train_batch_begin(step)
                    loss, out, mask = self._train_step(xb, yb, wb)
                    n = len(xb)
                    total += loss * n
                    seen += n
                    self._update_metrics(metrics, yb, out, mask)
                    logs = {"loss": total / seen, **{m.name: m.result() for m in metrics}}
                    cbs.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
                if seen == 0:
                    warnings.warn(
                        f"{type(self).__name__}.fit: the data yielded no batch in epoch {epoch + 1}; interrupting "
                        f"training (give steps_per_epoch and a repeating generator)",
                        UserWarning,
                        stacklevel=2,
                    )
                    break
                epoch_logs = dict(logs)
                if val is not None and (
                    epoch + 1 in validation_freq
                    if isinstance(validation_freq, frozenset)
                    else (epoch + 1) % validation_freq == 0
                ):
                    val_logs = self._run_evaluation(val, None)
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
            cbs.on_train_end(logs)
        return history

    def _validation_data(self, validation_data, batch_size, steps, where):
        where = f"{where} (`validation_data`)"
        if is_iterable_data(validation_data):
            return self._make_data(validation_data, None, None, None, batch_size, False, steps, True, where)
        xv, yv, *wv = validation_data  # its structure was checked by _arguments.validation_data
        return self._make_data(xv, yv, wv[0] if wv else None, None, batch_size, False, steps, True, where)

    # ------------------------------------------------------------------ evaluate
    def _run_evaluation(self, data, cbs) -> dict:
        plan = self._training_plan()
        metrics = [type(m)(**m.get_config()) for m in self._resolve_metrics()]
        total, seen = 0.0, 0
        logs = {}
        for step, (xb, yb, wb) in enumerate(data.batches()):
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            out, mask = self._forward(xb, False, plan, with_mask=True)
            loss = self._loss_and_grad(plan, out, yb, wb, grad=False, mask=mask)
            total += loss * len(xb)
            seen += len(xb)
            self._update_metrics(metrics, yb, out, mask)
            logs = {"loss": total / seen, **{m.name: m.result() for m in metrics}}
            if cbs is not None:
                cbs.on_test_batch_end(step, logs)
        if not seen:
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
        with self.device.scope():
            data = self._make_data(x, y, sample_weight, None, batch_size, False, steps, True, where)
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
        with self.device.scope():
            data = self._make_data(x, None, None, None, batch_size, False, steps, False, where)
            cbs = callbacks_mod.CallbackList(
                callbacks, model=self, verbose=verbose, steps=len(data) or None, mode="predict"
            )
            cbs.on_predict_begin()
            result, parts, start = None, [], 0
            for step, (xb, _, _) in enumerate(data.batches()):
                cbs.on_predict_batch_begin(step)
                out = devices.to_numpy(self._forward(xb, False))
                if isinstance(data, ArrayData):
                    if result is None:
                        result = np.empty((min(data.n, len(data) * data.batch_size), *out.shape[1:]), np.float32)
                    result[start : start + len(out)] = out
                    start += len(out)
                else:
                    parts.append(np.array(out, copy=True))
                cbs.on_predict_batch_end(step, {})
            cbs.on_predict_end()
        if result is None:
            result = np.concatenate(parts) if parts else np.empty((0, *self._last_output_shape()), np.float32)
        return result

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
        x = as_inputs(x, f"{type(self).__name__}.__call__: `x`", dtype=self._x_dtype())
        self._ensure_input_shape(x.shape[1:], f"{type(self).__name__}.__call__")
        with self.device.scope():
            return np.array(devices.to_numpy(self._forward(self.device.asarray(x, x.dtype), True)), copy=True)

    @guarded(changes=False)
    def predict_on_batch(self, x: Any) -> np.ndarray:
        """The outputs for one batch x (N, ...) as a float32 NumPy array (N, *output_shape)."""
        return self._predict_batch(x, "predict_on_batch")

    def _predict_batch(self, x, where):
        """predict_on_batch and model(x); ``where`` names the public method in errors."""
        x = as_inputs(x, f"{type(self).__name__}.{where}: `x`", dtype=self._x_dtype())
        if not self.built or x.shape[1:] != self._input_shape:
            self._ensure_input_shape(x.shape[1:], f"{type(self).__name__}.{where}")
        with self.device.scope():
            out = self._forward(self.device.asarray(x, x.dtype) if self.device.is_cuda else x, False)
            return np.array(devices.to_numpy(out), copy=True)

    def predict_classes(self, x: Any, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """Class indices (argmax), or 0/1 of shape (N, 1) for a single sigmoid unit (Keras 2's rule: > 0.5)."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x: Any, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """``predict`` (Keras 2's name for it on probability outputs): (N, ...) float32."""
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    # ------------------------------------------------------------------ on_batch
    def _one_batch(self, x, y, sample_weight, class_weight, where):
        x, y, w = self._prepare_arrays(x, y, sample_weight, class_weight, True, where)
        d = self.device
        if d.is_cuda:
            x, y, w = (None if a is None else d.asarray(a, a.dtype) for a in (x, y, w))
        return x, y, w

    def _batch_logs(self, loss, metrics, return_dict):
        logs = {"loss": loss, **{m.name: m.result() for m in metrics}}
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
        with self.device.scope():
            x, y, w = self._one_batch(x, y, sample_weight, class_weight, where)
            loss, out, mask = self._train_step(x, y, w)
            metrics = self._resolve_metrics()
            if reset_metrics:
                for m in metrics:
                    m.reset_state()
            self._update_metrics(metrics, y, out, mask)
        return self._batch_logs(loss, metrics, return_dict)

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
        with self.device.scope():
            x, y, w = self._one_batch(x, y, sample_weight, None, where)
            plan = self._training_plan()
            out, mask = self._forward(x, False, plan, with_mask=True)
            loss = self._loss_and_grad(plan, out, y, w, grad=False, mask=mask)
            metrics = self._resolve_metrics()
            if reset_metrics:
                for m in metrics:
                    m.reset_state()
            self._update_metrics(metrics, y, out, mask)
        return self._batch_logs(loss, metrics, return_dict)

    def reset_metrics(self) -> None:
        for m in self.compiled_metrics:
            m.reset_state()
