"""Keras metrics (keras.metrics): running means over an epoch, reported in the History.

Strings: "accuracy"/"acc" (resolved from the loss as Keras does: binary for
binary_crossentropy or a single output unit, sparse categorical for
sparse_categorical_crossentropy, categorical otherwise), "sparse_categorical_accuracy",
"categorical_accuracy", "binary_accuracy", "top_k_categorical_accuracy",
"sparse_top_k_categorical_accuracy", "mae"/"mean_absolute_error", "mse"/"mean_squared_error".

A metric works on the model's device arrays with their array module (NumPy or CuPy):
comparisons and means only, no training arithmetic. It is not weighted by sample
weights or class weights.
"""

from __future__ import annotations

import numpy as np


def _xp(a):
    if isinstance(a, np.ndarray):
        return np
    import cupy

    return cupy


class Metric:
    """Base class: ``update_state(y_true, y_pred)``, ``result() -> float``, ``reset_state()``.

    Subclasses implement ``values(y_true, y_pred) -> per-sample array``; the metric is their mean.
    """

    def __init__(self, name=None):
        self.name = name or _snake(type(self).__name__)
        self.reset_state()

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        v = self.values(y_true, y_pred)
        self._total += float(v.sum())
        self._count += int(v.size)

    def result(self) -> float:
        return self._total / self._count if self._count else 0.0

    def reset_state(self) -> None:
        self._total, self._count = 0.0, 0

    reset_states = reset_state

    def __call__(self, y_true, y_pred) -> float:
        """One-off value on NumPy arrays (the state is left as it was)."""
        v = self.values(np.asarray(y_true), np.asarray(y_pred))
        return float(v.mean())

    def get_config(self):
        return {"name": self.name}


def _snake(name):
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class SparseCategoricalAccuracy(Metric):
    def values(self, y_true, y_pred):
        xp = _xp(y_pred)
        y = y_true.reshape(y_pred.shape[:-1])
        return xp.argmax(y_pred, axis=-1) == y


class CategoricalAccuracy(Metric):
    def values(self, y_true, y_pred):
        xp = _xp(y_pred)
        return xp.argmax(y_pred, axis=-1) == xp.argmax(y_true, axis=-1)


class BinaryAccuracy(Metric):
    def __init__(self, name="binary_accuracy", threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name)

    def values(self, y_true, y_pred):
        return (y_pred > self.threshold) == (y_true.reshape(y_pred.shape) > 0.5)

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
    sparse = True


class MeanAbsoluteError(Metric):
    def values(self, y_true, y_pred):
        return _xp(y_pred).abs(y_pred - y_true.reshape(y_pred.shape)).mean(axis=-1)


class MeanSquaredError(Metric):
    def values(self, y_true, y_pred):
        d = y_pred - y_true.reshape(y_pred.shape)
        return (d * d).mean(axis=-1)


class Accuracy(Metric):
    """Exact equality of predictions and targets (Keras's ``metrics.Accuracy`` class)."""

    def values(self, y_true, y_pred):
        return y_pred == y_true.reshape(y_pred.shape)


_STRINGS = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy, "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy, "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError, "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
}
_CLASSES = {c.__name__: c for c in (SparseCategoricalAccuracy, CategoricalAccuracy, BinaryAccuracy,
                                    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanAbsoluteError,
                                    MeanSquaredError, Accuracy)}


def get(identifier, loss=None, output_shape=None) -> Metric:
    """A Metric from a string (resolving "accuracy" from the loss and output shape), a dict or an instance."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    if not isinstance(identifier, str):
        raise TypeError(f"cannot interpret {identifier!r} as a metric; use a name such as 'accuracy' or a "
                        f"sinapse.metrics.Metric subclass")
    if identifier in ("accuracy", "acc"):
        kind = getattr(loss, "kind", "")
        units = output_shape[-1] if output_shape else None
        if kind == "binary_crossentropy" or units == 1:
            return BinaryAccuracy(name=identifier)
        if kind == "sparse_categorical_crossentropy":
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    cls = _STRINGS.get(identifier)
    if cls is None:
        raise ValueError(f"unknown metric {identifier!r}; expected accuracy, {', '.join(_STRINGS)}")
    return cls(name=identifier)


def serialize(metric: Metric) -> dict:
    return {"class_name": type(metric).__name__, "config": metric.get_config()}
