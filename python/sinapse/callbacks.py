"""Keras callbacks (keras.callbacks): hooks the training loop calls, and the standard ones.

Write your own by subclassing ``Callback`` and overriding any of its ``on_*`` methods;
``self.model`` is the model being trained (set ``self.model.stop_training = True`` to stop
after the current batch/epoch) and ``self.params`` holds ``epochs``, ``steps`` and
``verbose``. ``logs`` are dicts of floats: per batch, running means over the epoch so far
(``loss`` and each metric); per epoch, the epoch's values plus ``val_*`` ones.

    class PrintLoss(sinapse.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            print(epoch, logs["loss"])
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from . import _callback_arguments as check
from .ops._checks import as_bool


def _say(message: str) -> None:
    """A callback's message (verbose=1): printed once, by rank 0, in distributed training."""
    from .distributed import _comm

    if _comm.initialized_rank() == 0:
        print(message)


class Callback:
    """Base class: every hook does nothing. Hooks: on_{train,test,predict}_{begin,end}(logs),
    on_epoch_{begin,end}(epoch, logs), on_{train,test,predict}_batch_{begin,end}(batch, logs).

    In distributed training (``compile(distribute=...)``) every rank runs the callbacks with the
    same logs (summed over ranks), except those whose ``main_process_only`` is True (they print
    or write files): only rank 0 runs those."""

    main_process_only = False

    def __init__(self):
        self.model: Any = None  # the Sequential being trained (set_model)
        self.params = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None:
        pass

    def on_train_end(self, logs: dict | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_test_begin(self, logs: dict | None = None) -> None:
        pass

    def on_test_end(self, logs: dict | None = None) -> None:
        pass

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_predict_begin(self, logs: dict | None = None) -> None:
        pass

    def on_predict_end(self, logs: dict | None = None) -> None:
        pass

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass

    # Keras 1/2 names of the training batch hooks
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass


def _fmt_logs(logs) -> str:
    return " - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in (logs or {}).items())


def _per_step(seconds, steps) -> str:
    if not steps:
        return ""
    t = seconds / steps
    return f"{t * 1e3:.0f}ms/step" if t >= 1e-3 else f"{t * 1e6:.0f}us/step"


class ProgbarLogger(Callback):
    """Keras's progress bar, drawn with tqdm; fit/evaluate/predict add one when ``verbose`` is not 0.

    On a terminal (verbose=1): "Epoch 3/10" then a bar with steps, ETA, time per step and the
    running loss and metrics, closed with the epoch's final values (validation included).
    When stdout is not a terminal (a log file, CI) or with verbose=2: one plain line per epoch.
    """

    main_process_only = True  # rank 0 only in distributed training

    def __init__(self, count_mode: str = "steps", stateful_metrics: Any = None, mode: str = "train") -> None:
        super().__init__()
        self.mode = mode
        self._bar = None

    def set_params(self, params: dict) -> None:
        self.params = params
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)
        self.steps = params.get("steps")
        self.interactive = self.verbose == 1 and sys.stdout.isatty()

    def _start(self):
        self._t0 = time.perf_counter()
        self._seen = 0
        self._last_draw = 0.0
        if self.interactive:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.steps,
                file=sys.stdout,
                unit="step",
                leave=True,
                dynamic_ncols=True,
                bar_format="{n_fmt}/{total_fmt} [{bar:30}] - ETA: {remaining} - {rate_inv_fmt}{postfix}",
                ascii=".=",
                mininterval=0.1,
            )

    def _step(self, logs):
        self._seen += 1
        if self._bar is not None:
            now = time.perf_counter()
            if now - self._last_draw > 0.1:  # formatting the metrics every step would cost more than a step
                self._bar.set_postfix_str(_fmt_logs(logs), refresh=False)
                self._last_draw = now
            self._bar.update(1)

    def _finish(self, logs, prefix=""):
        elapsed = time.perf_counter() - self._t0
        if self._bar is not None:
            self._bar.set_postfix_str(_fmt_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None
            print(
                f"{self._seen}/{self._seen} - {elapsed:.0f}s {_per_step(elapsed, self._seen)} - {_fmt_logs(logs)}",
                flush=True,
            )
        elif self.verbose:
            print(
                f"{prefix}{self._seen} steps - {elapsed:.1f}s - {_per_step(elapsed, self._seen)} - {_fmt_logs(logs)}",
                flush=True,
            )

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.interactive:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self._start()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._finish(logs, prefix=f"Epoch {epoch + 1}/{self.epochs} - ")

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._step(logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        if self.mode == "test":
            self._start()

    def on_test_end(self, logs: dict | None = None) -> None:
        if self.mode == "test":
            self._finish(logs, prefix="evaluate - ")

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.mode == "test":
            self._step(logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._start()

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._finish({}, prefix="predict - ")

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._step(logs)


_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
    "on_batch_begin",
    "on_batch_end",
)


class CallbackList:
    """Calls every callback's hook; per-batch hooks only on callbacks that override them (cheap steps)."""

    def __init__(self, callbacks=None, *, model, history=None, verbose="auto", epochs=1, steps=None, mode="train"):
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be sinapse.callbacks.Callback instances, got {cb!r}")
        verbose = 1 if verbose == "auto" else int(verbose)
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in callbacks):
            callbacks.insert(0, ProgbarLogger(mode=mode))
        if history is not None:
            callbacks.append(history)
        self.callbacks = callbacks
        params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        for cb in callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self._batch = {
            hook: [
                fn
                for fn in (getattr(cb, hook) for cb in callbacks)
                if getattr(fn, "__func__", fn) is not getattr(Callback, hook)
            ]
            for hook in _BATCH_HOOKS
        }

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._call("on_train_begin", logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._call("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._call("on_test_begin", logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._call("on_predict_end", logs)

    def _batch_hook(self, hook, batch, logs):
        for fn in self._batch[hook]:
            fn(batch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._batch_hook("on_train_batch_begin", batch, logs)
        self._batch_hook("on_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batch_hook("on_train_batch_end", batch, logs)
        self._batch_hook("on_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._batch_hook("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batch_hook("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._batch_hook("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batch_hook("on_predict_batch_end", batch, logs)


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]``, ``history.epoch``. fit returns it."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _monitor_op(callback_name, mode, monitor):
    check.string(callback_name, "monitor", monitor)
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{callback_name}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.startswith("fmeasure") or "auc" in monitor) else "min"
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights`` the weights of the best epoch are put back at the end of
    training — when it stops early and also when it runs to its last epoch (Keras 3's rule).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        cls = "EarlyStopping"
        self.monitor, self.mode = monitor, _monitor_op(cls, mode, monitor)
        self.patience, self.verbose = check.integer(cls, "patience", patience), check.verbosity(cls, verbose)
        self.baseline = check.optional_number(cls, "baseline", baseline)
        self.restore_best_weights = as_bool(cls, "restore_best_weights", restore_best_weights)
        self.start_from_epoch = check.integer(cls, "start_from_epoch", start_from_epoch)
        self.min_delta = abs(check.number(cls, "min_delta", min_delta)) * (1 if self.mode == "max" else -1)

    def _better(self, current, reference):
        if self.mode == "max":
            return current - self.min_delta > reference
        return current - self.min_delta < reference

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None:
            import warnings

            warnings.warn(
                f"EarlyStopping: metric {self.monitor!r} is not in the logs (available: {', '.join(logs or {})})",
                UserWarning,
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            _say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                _say(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after every epoch, or only when ``monitor`` improves.

    ``filepath`` may hold format fields: ``"ckpt-{epoch:02d}-{val_loss:.3f}.sinapse"``
    (epoch counts from 1, as Keras).
    """

    main_process_only = True  # rank 0 only in distributed training

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        cls = "ModelCheckpoint"
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: only `save_freq`='epoch' is supported, got {save_freq!r}")
        self.filepath = check.filepath_template(cls, filepath)
        self.monitor, self.verbose = monitor, check.verbosity(cls, verbose)
        self.save_best_only = as_bool(cls, "save_best_only", save_best_only)
        self.save_weights_only = as_bool(cls, "save_weights_only", save_weights_only)
        self.mode = _monitor_op(cls, mode, monitor)
        threshold = check.optional_number(cls, "initial_value_threshold", initial_value_threshold)
        self.best = threshold if threshold is not None else (math.inf if self.mode == "min" else -math.inf)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        path = check.format_filepath("ModelCheckpoint", self.filepath, epoch + 1, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                import warnings

                warnings.warn(
                    f"ModelCheckpoint: cannot save the best model, {self.monitor!r} is not in the logs",
                    UserWarning,
                    stacklevel=2,
                )
                return
            improved = current > self.best if self.mode == "max" else current < self.best
            if not improved:
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose:
                print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                    f"saving model to {path}"
                )
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:  # Keras 3 creates the checkpoint's folder too
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            _say(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if "epsilon" in kwargs:  # Keras 2.1's name of min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected keyword argument(s) {', '.join(map(repr, kwargs))}")
        cls = "ReduceLROnPlateau"
        # factor 0 would set the rate to min_lr at once, and 1 would never reduce it
        self.factor = check.number(cls, "factor", factor, 0.0, 1.0, open_low=True, open_high=True)
        self.monitor, self.mode = monitor, _monitor_op(cls, mode, monitor)
        self.patience, self.verbose = check.integer(cls, "patience", patience), check.verbosity(cls, verbose)
        self.min_delta = check.number(cls, "min_delta", min_delta)
        self.cooldown = check.integer(cls, "cooldown", cooldown)
        self.min_lr = check.number(cls, "min_lr", min_lr, 0.0)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait, self.cooldown_counter = 0, 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        opt = self.model.optimizer
        logs["lr"] = float(opt.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            import warnings

            warnings.warn(f"ReduceLROnPlateau: {self.monitor!r} is not in the logs", UserWarning, stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        better = (
            (current < self.best - self.min_delta) if self.mode == "min" else (current > self.best + self.min_delta)
        )
        if better:
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    opt.learning_rate = new
                    if self.verbose:
                        _say(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start to ``schedule(epoch, lr)`` (or ``schedule(epoch)``)."""

    def __init__(self, schedule: Callable[..., Any], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: `schedule` must be a function (epoch, lr) -> lr, got "
                f"{schedule!r} ({type(schedule).__name__})"
            )
        self.schedule, self.verbose = schedule, check.verbosity("LearningRateScheduler", verbose)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        opt = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(opt.learning_rate))
        except TypeError:  # the Keras 1 signature: schedule(epoch)
            lr = self.schedule(epoch)
        lr = _scheduled_rate(lr, epoch)
        opt.learning_rate = lr
        if self.verbose:
            _say(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["lr"] = float(self.model.optimizer.learning_rate)


def _scheduled_rate(lr, epoch) -> float:
    """The schedule's value as a float; errors name the scheduler (not the optimizer it feeds)."""
    size_one = isinstance(lr, np.ndarray) and lr.size == 1 and lr.dtype.kind in "iuf"
    if not (size_one or check._is_real(lr)):
        raise TypeError(
            f"LearningRateScheduler: the schedule returned {lr!r} ({type(lr).__name__}) for epoch "
            f"{epoch}; it must return a number (the learning rate)"
        )
    value = float(lr.reshape(())) if size_one else float(lr)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"LearningRateScheduler: the schedule returned {value} for epoch {epoch}; the learning "
            f"rate must be a finite number >= 0"
        )
    return value


class CSVLogger(Callback):
    """Append each epoch's logs as a CSV row (header: epoch and the log keys)."""

    main_process_only = True  # rank 0 only in distributed training

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        cls = "CSVLogger"
        if not isinstance(separator, str) or len(separator) != 1:  # the csv module's own rule, named here
            raise TypeError(f"CSVLogger: `separator` must be a 1-character str, got {separator!r}")
        self.filename, self.sep = check.filepath(cls, "filename", filename), separator
        self.append = as_bool(cls, "append", append)
        self._file: IO[str] | None = None
        self._writer: csv.DictWriter | None = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer, self._keys, self._header_done = None, None, exists

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        assert self._file is not None, "CSVLogger: on_train_begin opens the file"
        if self._writer is None or self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self._keys], delimiter=self.sep)
            if not self._header_done:
                self._writer.writeheader()
        row = {"epoch": epoch, **{k: logs.get(k, "NA") for k in self._keys}}
        self._writer.writerow({k: (float(v) if isinstance(v, (np.floating,)) else v) for k, v in row.items()})
        self._file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            if not callable(fn):
                raise TypeError(f"LambdaCallback: `{name}` must be a function, got {fn!r} ({type(fn).__name__})")
            setattr(self, name, fn)


__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "CSVLogger",
    "LambdaCallback",
    "ProgbarLogger",
    "TensorBoard",
    "BackupAndRestore",
]

# at the end: both modules subclass Callback from this one
from ._backup_and_restore import BackupAndRestore  # noqa: E402
from ._tensorboard import TensorBoard  # noqa: E402
