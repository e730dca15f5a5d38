"""Keras metrics (keras.metrics): running means over an epoch, reported in the History.

Strings: "accuracy"/"acc" (any case; resolved from the shapes as Keras 3 does, see
``resolve_accuracy``), "sparse_categorical_accuracy", "categorical_accuracy",
"binary_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
"mae"/"mean_absolute_error", "mse"/"mean_squared_error".

A metric works on the model's device arrays with their array module (NumPy or CuPy):
comparisons and means only, no training arithmetic. ``update_state`` follows Keras 3's
``MeanMetricWrapper`` and ``Mean`` (keras/src/metrics/reduction_metrics.py): the mask of
the outputs (Keras's ``y_pred._keras_mask``; here the ``mask=`` argument) is merged into
``sample_weight`` by ``losses.apply_mask`` with reduction "sum"; each sample's values are
averaged over its non-batch axes, weighted; ``result = total / count``. Models pass the
mask but, as Keras's ``compile(metrics=...)``, no sample or class weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .devices import array_module as _xp
from .layers.base import _snake
from .losses import apply_mask


def _samplewise(values, sample_weight, xp):
    """Keras 3's ``reduce_to_samplewise_values`` with ``reduce_fn=mean``: per-sample (N,)
    values and, when weighted, per-sample weights (N,)."""
    values = values.astype(np.float32)
    if sample_weight is not None:
        w = xp.asarray(sample_weight, dtype=np.float32)
        if values.ndim == w.ndim + 1 and values.shape[-1] == 1:  # squeeze_or_expand_to_same_rank
            values = values.reshape(values.shape[:-1])
        elif w.ndim == values.ndim + 1 and w.shape[-1] == 1:
            w = w.reshape(w.shape[:-1])
        if values.ndim > w.ndim:
            values = values.mean(axis=tuple(range(w.ndim, values.ndim)))
        w = xp.broadcast_to(w, values.shape)
        values = values * w
        sample_weight = w.mean(axis=tuple(range(1, w.ndim))) if w.ndim > 1 else w
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Metric:
    """Base class: ``update_state(y_true, y_pred, sample_weight=None, mask=None)``,
    ``result() -> float``, ``reset_state()``.

    Subclasses implement ``values(y_true, y_pred) -> array`` (one value per sample, per
    step or per element, as Keras's metric functions); the metric is their weighted mean.
    """

    def __init__(self, name=None):
        self.name = name or _snake(type(self).__name__)
        self.reset_state()

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def _sums(self, y_true, y_pred, sample_weight, mask):
        """(total, count) this batch adds: Keras's MeanMetricWrapper.update_state + Mean.update_state."""
        xp = _xp(y_pred)
        values = self.values(y_true, y_pred)
        if mask is not None:
            if sample_weight is not None:
                sample_weight = xp.broadcast_to(xp.asarray(sample_weight, dtype=np.float32), mask.shape)
            sample_weight = apply_mask(sample_weight, mask, "sum", mask.shape, type(self).__name__)
        values, weights = _samplewise(values, sample_weight, xp)
        count = float(weights.sum()) if weights is not None else (values.shape[0] if values.ndim else 1)
        return float(values.sum()), count

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None) -> None:
        """Accumulate one batch. mask: bool of y_pred's shape without the last axis (or None)."""
        total, count = self._sums(y_true, y_pred, sample_weight, mask)
        self._total += total
        self._count += count

    def result(self) -> float:
        return self.result_of(self._total, self._count)

    @staticmethod
    def result_of(total: float, count: float) -> float:
        """The metric's value from its (total, count) state (also of state summed over processes)."""
        return total / count if count else 0.0

    def reset_state(self) -> None:
        self._total, self._count = 0.0, 0.0

    reset_states = reset_state

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None) -> float:
        """One-off value on NumPy arrays (the state is left as it was)."""
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float32)
        total, count = self._sums(
            np.asarray(y_true), np.asarray(y_pred), sw, None if mask is None else np.asarray(mask)
        )
        return total / count if count else 0.0

    def get_config(self):
        return {"name": self.name}


class SparseCategoricalAccuracy(Metric):
    """Keras's ``metrics.SparseCategoricalAccuracy``: the fraction of samples whose argmax over
    the last axis equals the integer label. y_true: integer labels (N, ...) or (N, ..., 1);
    y_pred: (N, ..., C) scores. Result in [0, 1]."""

    def values(self, y_true, y_pred):
        xp = _xp(y_pred)
        y = y_true.reshape(y_pred.shape[:-1])
        return xp.argmax(y_pred, axis=-1) == y


class CategoricalAccuracy(Metric):
    """Keras's ``metrics.CategoricalAccuracy``: argmax of y_pred equals argmax of the one-hot
    y_true, both (N, ..., C). Result in [0, 1]."""

    def values(self, y_true, y_pred):
        xp = _xp(y_pred)
        return xp.argmax(y_pred, axis=-1) == xp.argmax(y_true, axis=-1)


class BinaryAccuracy(Metric):
    """Keras's ``metrics.BinaryAccuracy``: element-wise ``y_true == (y_pred > threshold)``,
    both (N, ..., D) (y_pred: probabilities, ``threshold`` in their units). Result in [0, 1]."""

    def __init__(self, name="binary_accuracy", threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name)

    def values(self, y_true, y_pred):
        # Keras 3's binary_accuracy: y_true == float(y_pred > threshold), element by element.
        return (y_pred > self.threshold).astype(np.float32) == y_true.reshape(y_pred.shape)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class TopKCategoricalAccuracy(Metric):
    """Whether the true class (one-hot) is among the k highest predictions."""

    sparse = False

    def __init__(self, k=5, name=None):
        self.k = int(k)
        super().__init__(name or ("sparse_" if self.sparse else "") + "top_k_categorical_accuracy")

    def values(self, y_true, y_pred):
        xp = _xp(y_pred)
        labels = y_true.reshape(y_pred.shape[:-1]) if self.sparse else xp.argmax(y_true, axis=-1)
        true_score = xp.take_along_axis(y_pred, labels.astype(np.int64)[..., None], axis=-1)
        return (y_pred > true_score).sum(axis=-1) < self.k

    def get_config(self):
        return {"k": self.k, "name": self.name}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """Keras's ``metrics.SparseTopKCategoricalAccuracy``: whether the integer label is among the
    ``k`` highest scores. y_true: (N, ...) labels; y_pred: (N, ..., C). Result in [0, 1]."""

    sparse = True


class MeanAbsoluteError(Metric):
    """Keras's ``metrics.MeanAbsoluteError``: ``mean(|y_pred - y_true|)`` over the last axis,
    averaged over samples; y_true and y_pred of one shape (N, ..., D), result in y's units."""

    def values(self, y_true, y_pred):
        return _xp(y_pred).abs(y_pred - y_true.reshape(y_pred.shape)).mean(axis=-1)


class MeanSquaredError(Metric):
    """Keras's ``metrics.MeanSquaredError``: ``mean((y_pred - y_true) ** 2)`` over the last
    axis, averaged over samples; y_true and y_pred of one shape (N, ..., D)."""

    def values(self, y_true, y_pred):
        d = y_pred - y_true.reshape(y_pred.shape)
        return (d * d).mean(axis=-1)


class Accuracy(Metric):
    """Exact equality of predictions and targets (Keras's ``metrics.Accuracy`` class)."""

    def values(self, y_true, y_pred):
        return y_pred == y_true.reshape(y_pred.shape)


_STRINGS = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}
_CLASSES = {
    c.__name__: c
    for c in (
        SparseCategoricalAccuracy,
        CategoricalAccuracy,
        BinaryAccuracy,
        TopKCategoricalAccuracy,
        SparseTopKCategoricalAccuracy,
        MeanAbsoluteError,
        MeanSquaredError,
        Accuracy,
    )
}


def resolve_accuracy(identifier: str, y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
    """Keras 3's rule for "accuracy"/"acc" (keras/src/trainers/compile_utils.py, ``get_metric``
    and ``is_binary_or_sparse_categorical``), from the shapes alone — the loss plays no part:

    * BinaryAccuracy when y_pred's last axis is 1;
    * else SparseCategoricalAccuracy when y_true has a lower rank than y_pred, or y_true's
      last axis is 1 (and y_pred's is > 1);
    * else CategoricalAccuracy.

    The metric is named ``identifier`` as spelled. Shapes may include the batch axis or not
    (only ranks and last axes are compared).
    """
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    t_last = y_true_shape[-1] if y_true_shape else None
    p_last = y_pred_shape[-1] if y_pred_shape else None
    if p_last == 1:
        return BinaryAccuracy(name=identifier)
    if len(y_true_shape) < len(y_pred_shape) or (t_last == 1 and p_last is not None and p_last > 1):
        return SparseCategoricalAccuracy(name=identifier)
    return CategoricalAccuracy(name=identifier)


def get(identifier: str | dict | Metric, loss: Any = None, output_shape: tuple | None = None) -> Metric:
    """A Metric from a string, a config dict or an instance.

    "accuracy"/"acc" (any case) go through ``resolve_accuracy`` with the model's outputs of
    ``output_shape`` (no batch axis) and the targets in ``loss``'s form: class labels of the
    outputs' shape without the last axis for sparse_categorical_crossentropy, the outputs'
    shape otherwise (the y sinapse hands the metrics, and the y Keras sees whenever it
    accepts the targets). Raises ValueError for an unknown name or "accuracy" without
    ``output_shape``, TypeError for anything that is not a name, dict or Metric.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if not isinstance(identifier, str):
        raise TypeError(
            f"metrics.get: cannot interpret `identifier`={identifier!r} as a metric; use a name such "
            f"as 'accuracy' or a sinapse.metrics.Metric instance"
        )
    if identifier.lower() in ("accuracy", "acc"):
        if output_shape is None:
            raise ValueError(
                f"metrics.get: `{identifier}` is resolved from the outputs' shape (Keras 3's rule); "
                f"pass `output_shape`, or name the metric (e.g. 'categorical_accuracy')"
            )
        output_shape = tuple(output_shape)
        sparse = getattr(loss, "sparse", False)
        return resolve_accuracy(identifier, output_shape[:-1] if sparse else output_shape, output_shape)
    cls = _STRINGS.get(identifier)
    if cls is None:
        raise ValueError(f"metrics.get: unknown metric `{identifier}`; expected accuracy, acc, {', '.join(_STRINGS)}")
    return cls(name=identifier)


def check_list(where: str, metrics: Any) -> list:
    """compile's ``metrics``: None or a list of names, Metric instances and Metric config dicts,
    each checked here (a dict or None would otherwise fail later as an AttributeError); config
    dicts become Metric instances. Errors start with ``where`` ("Sequential.compile")."""
    if metrics is None:
        return []
    if isinstance(metrics, (str, Metric)):
        raise TypeError(f"{where}: `metrics` must be a list, got {metrics!r}; wrap it: metrics=[{metrics!r}]")
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(
            f"{where}: `metrics` must be a list of metric names or sinapse.metrics.Metric instances, "
            f"got {metrics!r} ({type(metrics).__name__})"
        )
    checked = []
    for i, m in enumerate(metrics):
        if isinstance(m, dict) and m.get("class_name") in _CLASSES and isinstance(m.get("config", {}), dict):
            try:
                m = get(m)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: `metrics[{i}]`={m!r} is not a valid metric config: {exc}") from None
        elif isinstance(m, str):
            if m.lower() not in ("accuracy", "acc") and m not in _STRINGS:
                raise ValueError(
                    f"{where}: `metrics[{i}]` is an unknown metric {m!r}; expected accuracy, acc, {', '.join(_STRINGS)}"
                )
        elif not isinstance(m, Metric):
            raise TypeError(
                f"{where}: `metrics[{i}]` must be a metric name (e.g. 'accuracy'), a "
                f"sinapse.metrics.Metric instance or a Metric config dict, got {m!r} "
                f"({type(m).__name__})"
            )
        checked.append(m)
    return checked


def serialize(metric: Metric) -> dict:
    """``{"class_name": ..., "config": metric.get_config()}``, which ``get`` reads back."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}
