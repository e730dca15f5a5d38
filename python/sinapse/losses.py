"""Keras losses (keras.losses) on the ``ops.loss`` kernels.

Classes: MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy,
CategoricalCrossentropy, SparseCategoricalCrossentropy — and their strings ("mse",
"mean_squared_error", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
"sparse_categorical_crossentropy"). ``reduction`` is "sum_over_batch_size" (= "auto", the
default: weighted sum / number of samples), "sum", or "none" (= None): ``loss(y_true, y_pred)``
then returns the per-sample values, shape (N,) or (N, T) for sequences, as Keras 3. The
kernels (``sinapse.ops.loss``) return only a reduced value, so those per-sample values come from
the NumPy reference formulas (``sinapse.reference.losses``), on the host, for that one-off call
only. In ``compile``/``fit``/``evaluate`` a "none" loss is reduced as "sum_over_batch_size" (the
mean, masks included): Keras 3's ``evaluate`` reports that mean; its ``fit`` is backend-dependent
(JAX and torch refuse a non-scalar loss, TensorFlow differentiates the sum but reports the mean),
and sinapse takes the mean for both the gradient and the reported loss, so the two agree.

``label_smoothing`` (BinaryCrossentropy, CategoricalCrossentropy; Keras 3,
keras/src/losses/losses.py): the targets become ``y * (1 - ls) + ls / C`` (categorical, C
classes) or ``y * (1 - ls) + 0.5 * ls`` (binary) in ``compute``, on each batch, so metrics and
class weights still see the caller's labels, as in Keras. The kernels' fused gradient
``(p - y) / n`` holds for such soft targets.

When a model's last layer ends in softmax (sigmoid) and its loss is a categorical
(binary) cross-entropy with ``from_logits=False``, the model hands the loss the layer's
logits instead and sets ``from_logits=True`` — what TensorFlow's Keras does too — so the
gradient is the stable ``(p - y) / n``.

Masks (Keras 3, keras/src/losses/loss.py ``apply_mask`` and ``reduce_weighted_values``):
when the model's output carries a mask (``Embedding(mask_zero=True)`` or ``Masking`` with
one output per time step), the mask becomes per-step sample weights. With the default
reduction the weight of an unmasked step is ``sample_weight * total / valid`` (``total``
= steps in the batch, ``valid`` = unmasked steps; 0 when none is valid) and of a masked
step 0, so the loss is ``sum(loss * sample_weight * mask) / valid`` and the kernel's
gradient follows; with ``reduction="sum"`` the weight is ``sample_weight * mask``.
"""

from __future__ import annotations

import numpy as np

from . import devices, ops
from .reference import losses as reference_losses

# Loss reductions -> the kernels' ("mean" or "sum"). "none" (or None) is reduced as the mean wherever
# one value is needed (training, evaluate, distributed loss shares); only ``Loss.__call__`` returns
# per-sample values for it.
_REDUCTIONS: dict[str | None, str] = {
    "auto": "mean",
    "sum_over_batch_size": "mean",
    "mean": "mean",
    "sum": "sum",
    "none": "mean",
    None: "mean",
}
_PER_SAMPLE = ("none", None)


class Loss:
    """Base class. ``loss(y_true, y_pred, sample_weight=None) -> float``."""

    kind = ""  # the ops.loss kind
    fusable_activation: str | None = None  # the output activation this loss can absorb
    label_smoothing = 0.0  # set by the cross-entropies that take it (see _smooth)

    def __init__(self, reduction="sum_over_batch_size", name=None, from_logits=False):
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: `reduction` must be 'sum_over_batch_size' (or 'auto', 'mean'), "
                f"'sum' or 'none' (or None), got {reduction!r}"
            )
        self.reduction = reduction
        self.name = name or self.kind
        self.from_logits = bool(from_logits)

    @property
    def sparse(self) -> bool:
        return self.kind == "sparse_categorical_crossentropy"

    def compute(self, y_true, y_pred, sample_weight=None, *, from_logits=None, grad=False, grad_out=None, mask=None):
        """ops.loss on arrays already in the kernels' form (see prepare_targets).

        ``mask``: bool (N, ...) — the output's mask, of the shape of y_pred without its last
        axis (Keras reads it from ``y_pred._keras_mask``); merged into ``sample_weight`` by
        ``apply_mask``. Returns the loss (float), or ``(loss, dloss/dy_pred)`` with ``grad``.
        """
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, self.reduction, y_pred.shape[:-1], type(self).__name__)
        if self.label_smoothing:
            y_true = self._smooth(y_true)
        return ops.loss(
            y_true,
            y_pred,
            self.kind,
            from_logits=self.from_logits if from_logits is None else from_logits,
            reduction=_REDUCTIONS[self.reduction],
            sample_weight=sample_weight,
            grad=grad,
            grad_out=grad_out,
            **self._extra(),
        )

    def _extra(self) -> dict:
        return {}

    def _smooth(self, y_true):
        """Keras 3's label smoothing of float targets (N, ..., C): ``y * (1 - ls) + offset``, with
        the offset of ``_smoothing_offset``; a new float32 array on y_true's device. Done per batch
        (one pass over the targets) rather than once in prepare_targets, because the metrics and
        the class weights read the prepared targets and must see the caller's labels."""
        xp = devices.array_module(y_true)
        y = y_true * np.float32(1.0 - self.label_smoothing)
        y += np.float32(self._smoothing_offset(y_true.shape[-1]))
        return xp.ascontiguousarray(y, dtype=np.float32)

    def _smoothing_offset(self, classes: int) -> float:
        return 0.0

    def _per_sample(self, y_true, y_pred, sample_weight, mask) -> np.ndarray:
        """reduction="none": float32 values of y_pred's shape without its last axis, times the
        weights (and the mask, unscaled, as Keras's apply_mask for "none"). NumPy in, NumPy out."""
        lead = y_pred.shape[:-1]
        who = type(self).__name__
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, "sum", lead, who)
        elif sample_weight is not None and sample_weight.shape != lead:
            raise ValueError(
                f"{who}: `sample_weight` must have shape {lead} (one weight per sample of y_pred "
                f"{y_pred.shape}), got {sample_weight.shape}"
            )
        y = self._smooth(y_true) if self.label_smoothing else y_true
        values = reference_losses._per_sample(
            self.kind, y, y_pred, self.from_logits, self._extra().get("delta", 1.0)
        ).astype(np.float32)
        return values if sample_weight is None else values * sample_weight

    def prepare_targets(self, y, output_shape) -> np.ndarray:
        """Targets as the kernels take them, converted once: int32 labels for the sparse loss,
        float32 of the output's shape otherwise. ``output_shape`` includes the batch axis."""
        y = devices.to_numpy(y)
        n = y.shape[0] if y.ndim else 0
        if self.sparse:
            lead = tuple(output_shape[:-1])
            if y.ndim == len(lead) + 1 and y.shape[-1] == 1:
                y = y.reshape(y.shape[:-1])
            if y.ndim != len(lead) or (y.ndim and y.shape[1:] != tuple(lead[1:])):
                raise ValueError(
                    f"{self.name}: expects integer class labels of shape {(n, *lead[1:])} for outputs of "
                    f"shape {(n, *output_shape[1:])}, got labels of shape {y.shape}"
                    + (" (one-hot labels go with categorical_crossentropy)" if y.ndim == len(lead) + 1 else "")
                )
            if y.dtype.kind == "f":
                if not np.all(np.mod(y, 1) == 0):
                    raise ValueError(f"{self.name}: class labels must be integers")
            elif y.dtype.kind not in "iub":
                raise TypeError(f"{self.name}: class labels must be integers, got dtype {y.dtype}")
            _check_label_range(self.name, y, output_shape[-1])
            return np.ascontiguousarray(y, dtype=np.int32)
        want = (n, *output_shape[1:])
        if y.shape != want:
            if (
                self.kind == "categorical_crossentropy"
                and y.ndim == len(want) - 1
                and want[-1] > 1
                and y.dtype.kind in "iu"
            ):
                raise ValueError(
                    f"{self.name}: got integer class labels of shape {y.shape} but outputs of shape "
                    f"{want}: use loss='sparse_categorical_crossentropy', or one-hot labels "
                    f"(sinapse.utils.to_categorical)"
                )
            if y.size != int(np.prod(want)):
                raise ValueError(
                    f"{self.name}: targets of shape {y.shape} do not match the model's outputs of shape {want}"
                )
            y = y.reshape(want)
        return np.ascontiguousarray(y, dtype=np.float32)

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None) -> float | np.ndarray:
        """The reduced loss (float), or with ``reduction="none"`` the per-sample values (float32
        NumPy array of y_pred's shape without its last axis: (N,), or (N, T) for sequences).
        ``mask`` (bool, y_pred's shape without the last axis) stands for Keras's
        ``y_pred._keras_mask``: masked entries are left out (see ``apply_mask``; with "none" they
        are 0). Raises ValueError for targets, weights or mask of the wrong shape."""
        y_pred = np.ascontiguousarray(devices.to_numpy(y_pred), dtype=np.float32)
        y_true = self.prepare_targets(y_true, y_pred.shape)
        w = None if sample_weight is None else np.ascontiguousarray(devices.to_numpy(sample_weight), dtype=np.float32)
        mask = None if mask is None else devices.to_numpy(mask)
        if self.reduction in _PER_SAMPLE:
            return self._per_sample(y_true, y_pred, w, mask)
        return self.compute(y_true, y_pred, w, mask=mask)

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_label_range(name, y, classes) -> None:
    """Labels in [0, classes), checked where the targets are converted (once per fit, or per batch
    of a generator) so the error names the caller's `y`, not the kernel's `y_true` mid-step;
    also before the int32 cast, which would wrap a label such as 2**32 + 1 to 1."""
    if y.size:
        low, high = y.min(), y.max()
        if low < 0 or high >= classes:
            show = (lambda v: int(v)) if y.dtype.kind != "f" else (lambda v: int(v) if abs(v) < 2**63 else float(v))
            raise ValueError(
                f"{name}: class labels must be in [0, {classes}) for the model's {classes} output "
                f"classes, got labels in [{show(low)}, {show(high)}]"
            )


def apply_mask(sample_weight, mask, reduction, lead_shape, who="apply_mask"):
    """Keras 3's ``apply_mask`` (keras/src/losses/loss.py): the mask merged into the weights.

    mask: bool or 0/1 array of shape ``lead_shape`` (the outputs' shape without the last axis,
    e.g. (N, T)). sample_weight: None or float32 of that shape. reduction: a Loss reduction;
    for "sum_over_batch_size"/"mean"/"auto" the mask is scaled by ``total / valid`` (total =
    ``mask.size``, valid = its count of True; 0 when valid is 0, Keras's ``divide_no_nan``), so
    that the kernel's division by ``total`` becomes a division by ``valid``; for "sum" it is not.
    Returns float32 weights of ``lead_shape`` on the mask's device. Raises ValueError when the
    mask's shape is not ``lead_shape``.
    """
    lead_shape = tuple(lead_shape)
    if tuple(mask.shape) != lead_shape:
        raise ValueError(
            f"{who}: `mask` must have the shape of the outputs without their last axis, "
            f"{lead_shape}, got {tuple(mask.shape)}"
        )
    xp = devices.array_module(mask)
    weights = mask.astype(np.float32)
    if _REDUCTIONS.get(reduction, reduction) == "mean":
        valid = float(weights.sum())
        weights *= np.float32(weights.size / valid) if valid else np.float32(0.0)
    if sample_weight is not None:
        if tuple(sample_weight.shape) != lead_shape:
            raise ValueError(
                f"{who}: with a mask, `sample_weight` must have the mask's shape {lead_shape}, "
                f"got {tuple(sample_weight.shape)}"
            )
        weights *= xp.asarray(sample_weight, dtype=np.float32)
    return xp.ascontiguousarray(weights)


class MeanSquaredError(Loss):
    """Mean squared error, Keras's ``losses.MeanSquaredError``: per sample
    ``mean((y_pred - y_true) ** 2)`` over the last axis, then ``reduction`` over the batch.

    y_true, y_pred: float32 (N, ..., D) of one shape.
    Raises ValueError at construction for an unknown ``reduction``; ``compute`` raises what
    ``sinapse.ops.loss`` raises (shapes, dtypes).
    """

    kind = "mse"

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(reduction, name)

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}


class MeanAbsoluteError(Loss):
    """Mean absolute error, Keras's ``losses.MeanAbsoluteError``: per sample
    ``mean(|y_pred - y_true|)`` over the last axis, then ``reduction`` over the batch.

    y_true, y_pred: float32 (N, ..., D) of one shape.
    Raises ValueError at construction for an unknown ``reduction``; ``compute`` raises what
    ``sinapse.ops.loss`` raises (shapes, dtypes).
    """

    kind = "mae"

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(reduction, name)

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}


class Huber(Loss):
    """Huber loss, Keras's ``losses.Huber``: with ``d = y_pred - y_true``, ``0.5 d**2`` where
    ``|d| <= delta`` and ``delta (|d| - 0.5 delta)`` elsewhere, averaged over the last axis
    (Huber 1964; the formula of the Keras documentation).

    y_true, y_pred: float32 (N, ..., D) of one shape; ``delta`` > 0 (in y's units).
    Raises ValueError at construction for an unknown ``reduction``; ``compute`` raises what
    ``sinapse.ops.loss`` raises (shapes, dtypes).
    """

    kind = "huber"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        super().__init__(reduction, name)
        self.delta = float(delta)

    def _extra(self):
        return {"delta": self.delta}

    def get_config(self):
        return {"delta": self.delta, "reduction": self.reduction, "name": self.name}


def _check_axis(cls, axis) -> None:
    if axis != -1:
        raise ValueError(f"{cls}: `axis` must be -1 (the class axis is the last), got {axis!r}")


def _check_smoothing(cls, label_smoothing) -> float:
    """``label_smoothing`` as a float in [0, 1]: TypeError for a non-number, ValueError outside."""
    if isinstance(label_smoothing, (bool, np.bool_)) or not isinstance(label_smoothing, (int, float, np.number)):
        raise TypeError(f"{cls}: `label_smoothing` must be a number in [0, 1], got {label_smoothing!r}")
    value = float(label_smoothing)
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValueError(f"{cls}: `label_smoothing` must be in [0, 1], got {label_smoothing!r}")
    return value


class _SmoothedCrossentropy(Loss):
    """The arguments BinaryCrossentropy and CategoricalCrossentropy share with Keras 3."""

    def __init__(self, from_logits, label_smoothing, axis, reduction, name):
        cls = type(self).__name__
        _check_axis(cls, axis)
        self.label_smoothing = _check_smoothing(cls, label_smoothing)
        self.axis = -1
        super().__init__(reduction, name, from_logits)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_SmoothedCrossentropy):
    """Binary cross-entropy, Keras's ``losses.BinaryCrossentropy``: per element
    ``-(y log p + (1 - y) log(1 - p))`` with p clipped to [eps, 1 - eps] (eps = 1e-7), or
    from logits ``max(z, 0) - z y + log(1 + exp(-|z|))``; averaged over the last axis.
    ``label_smoothing`` = ls in [0, 1] uses the targets ``y * (1 - ls) + 0.5 * ls``.

    y_true: float32 targets in [0, 1], y_pred: float32 probabilities (or logits with
    ``from_logits``), both (N, ..., D). A sigmoid output layer fuses with it in training.
    Raises ValueError for ``label_smoothing`` outside [0, 1] (TypeError: not a number) or
    axis != -1 (not supported); ``compute`` raises what ``sinapse.ops.loss`` raises.
    """

    kind = "binary_crossentropy"
    fusable_activation = "sigmoid"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)

    def _smoothing_offset(self, classes):
        return 0.5 * self.label_smoothing


class CategoricalCrossentropy(_SmoothedCrossentropy):
    """Categorical cross-entropy, Keras's ``losses.CategoricalCrossentropy``: per sample
    ``-sum(y log p)`` over the class (last) axis, p normalised to sum 1 and clipped to
    [eps, 1 - eps], or ``sum(y (logsumexp(z) - z))`` from logits. ``label_smoothing`` = ls in
    [0, 1] uses the targets ``y * (1 - ls) + ls / C`` (C classes).

    y_true: float32 one-hot (or soft) targets, y_pred: float32 probabilities or logits, both
    (N, ..., C). A softmax output layer fuses with it in training.
    Raises ValueError for ``label_smoothing`` outside [0, 1] (TypeError: not a number) or
    axis != -1 (not supported); ``compute`` raises what ``sinapse.ops.loss`` raises.
    """

    kind = "categorical_crossentropy"
    fusable_activation = "softmax"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)

    def _smoothing_offset(self, classes):
        return self.label_smoothing / classes


class SparseCategoricalCrossentropy(Loss):
    """Sparse categorical cross-entropy, Keras's ``losses.SparseCategoricalCrossentropy``: the
    categorical cross-entropy of integer class labels, ``-log p[label]``.

    y_true: integer labels (N, ...) (or (N, ..., 1)), converted once to int32 in [0, C);
    y_pred: float32 (N, ..., C) probabilities or logits. A softmax output layer fuses with it.
    Raises ValueError for ``ignore_class`` (not supported: use sample_weight 0 or a mask) and,
    in ``prepare_targets``, for labels of the wrong shape, non-integer or out of range. Takes no
    ``label_smoothing`` (TypeError), as Keras 3's: smooth one-hot targets with
    CategoricalCrossentropy instead.
    """

    kind = "sparse_categorical_crossentropy"
    fusable_activation = "softmax"

    def __init__(
        self,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="sparse_categorical_crossentropy",
        ignore_class=None,
    ):
        if ignore_class is not None:
            raise ValueError(
                f"SparseCategoricalCrossentropy: `ignore_class` must be None (not supported; give the "
                f"ignored steps sample_weight 0, or mask them), got {ignore_class!r}"
            )
        super().__init__(reduction, name, from_logits)


_CLASSES = {
    c.__name__: c
    for c in (
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
    )
}
_STRINGS = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
MSE = mse = MeanSquaredError
MAE = mae = MeanAbsoluteError


def get(identifier: str | dict | Loss | type[Loss] | None) -> Loss:
    """A Loss from a string, a config dict or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        cls = _STRINGS.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            hint = (
                " (Keras 3's shape-resolved 'crossentropy'/'ce' alias is not supported: name the cross-entropy)"
                if identifier.lower() in ("crossentropy", "ce")
                else ""
            )
            raise ValueError(f"losses.get: unknown loss `{identifier}`; expected one of {', '.join(_STRINGS)}{hint}")
        return cls()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    if identifier is None:
        raise ValueError("compile: a loss is needed to train, e.g. loss='sparse_categorical_crossentropy'")
    raise TypeError(
        f"losses.get: cannot interpret `identifier`={identifier!r} as a loss; custom Python loss "
        f"functions are not supported (the loss and its gradient run in the kernels)"
    )


def serialize(loss: Loss) -> dict:
    """``{"class_name": ..., "config": loss.get_config()}``, which ``get`` reads back."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
