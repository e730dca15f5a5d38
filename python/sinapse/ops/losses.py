"""sinapse.ops.loss: a loss and, on request, its gradient with respect to y_pred.

Keras's definitions (keras.losses): each sample's loss averages over the last axis (mse,
mae, huber, binary_crossentropy) or sums over the classes (categorical_crossentropy,
sparse_categorical_crossentropy); probabilities are clipped to [1e-7, 1 - 1e-7] and, for
the categorical kinds, normalised to sum to 1; ``from_logits=True`` fuses the sigmoid or
softmax in, stably, and the gradient takes the (p - y) form. ``sample_weight`` scales each
sample; ``reduction="mean"`` divides the weighted sum by the number of samples (Keras's
"sum_over_batch_size"), ``"sum"`` does not. All leading axes count as samples.
"""

from __future__ import annotations

import math

import numpy as np

from . import _device, _enums
from ._checks import Array, as_bool, as_float, backend, check_float32, check_int32, check_out, check_shape, inspect
from ._plan import descriptor, preparable

KINDS = _enums.LOSSES  # names -> codes (csrc/common/enums.h)
_LOGIT_KINDS = {
    KINDS[n] for n in ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")
}


def _check_labels(op, y_true, cols):
    """Sparse labels in [0, cols): data, not shape, so a plan's launch checks them at every call too."""
    lo, hi = int(y_true.min()), int(y_true.max())
    if lo < 0 or hi >= cols:
        raise ValueError(f"{op}: `y_true` labels must be in [0, {cols}), got values in [{lo}, {hi}].")


def _describe(
    y_true,
    y_pred,
    name,
    *,
    from_logits=False,
    reduction="mean",
    sample_weight=None,
    delta=1.0,
    grad=False,
    grad_out=None,
):
    """loss's descriptor step (sinapse.ops._plan)."""
    op = "loss"
    if not isinstance(name, str) or name not in KINDS:
        raise ValueError(f"{op}: unknown loss {name!r} for `name`; expected one of {', '.join(KINDS)}.")
    kind = KINDS[name]
    from_logits, grad = as_bool(op, "from_logits", from_logits), as_bool(op, "grad", grad)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{op}: `reduction` must be 'mean' or 'sum', got {reduction!r}.")
    if from_logits and kind not in _LOGIT_KINDS:
        raise ValueError(f"{op}: `from_logits` applies to the cross-entropies, not to {name!r}.")
    delta = as_float(op, "delta", delta)
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError(f"{op}: `delta` must be positive and finite, got {delta}.")

    pi, ti = inspect(op, "y_pred", y_pred), inspect(op, "y_true", y_true)
    wi = inspect(op, "sample_weight", sample_weight) if sample_weight is not None else None
    gi = inspect(op, "grad_out", grad_out) if grad_out is not None else None
    arrays = {"y_pred": pi, "y_true": ti, **({"sample_weight": wi} if wi else {}), **({"grad_out": gi} if gi else {})}
    device = backend(op, arrays)
    check_float32(op, "y_pred", pi)
    if len(pi.shape) < 1 or pi.shape[-1] == 0 or int(np.prod(pi.shape)) == 0:
        raise ValueError(f"{op}: `y_pred` must hold at least one sample of at least one value, got {pi.describe()}.")
    lead, cols = tuple(pi.shape[:-1]), pi.shape[-1]
    rows = int(np.prod(lead)) if lead else 1
    sparse = kind == KINDS["sparse_categorical_crossentropy"]
    if sparse:
        check_int32(op, "y_true", ti)
        check_shape(op, "y_true", ti, lead, "one class label per sample")
        _check_labels(op, y_true, cols)
    else:
        check_float32(op, "y_true", ti)
        check_shape(op, "y_true", ti, pi.shape, "the shape of y_pred")
    if wi is not None:
        check_float32(op, "sample_weight", wi)
        check_shape(op, "sample_weight", wi, lead, "one weight per sample")

    if grad and gi is not None:
        check_out(op, gi, pi.shape, {k: v for k, v in arrays.items() if k != "grad_out"}, name="grad_out")
    grad_scale = 1.0 / rows if reduction == "mean" else 1.0
    params = (kind, from_logits, sparse, delta, grad_scale, rows, cols, grad)
    infos = {"y_true": ti, "y_pred": pi, "sample_weight": wi}
    return descriptor(op, device, infos, params, outputs={"grad_out": tuple(pi.shape)} if grad else None)


def _launch(desc, y_true, y_pred, sample_weight, grad_out=None, checked=False):
    kind, from_logits, sparse, delta, grad_scale, rows, cols, grad = desc.params
    op, device = desc.op, desc.device
    if sparse and not checked:
        _check_labels(op, y_true, cols)
    if grad:
        grad_out = desc.output("grad_out", grad_out)
    per_row = _device.empty(op, device, (rows,))
    total = _device.kernels(device).loss(
        kind,
        from_logits,
        None if sparse else y_true,
        y_true if sparse else None,
        y_pred,
        sample_weight,
        delta,
        grad_scale,
        per_row,
        grad_out if grad else None,
        _device.launch_arg(device),
    )
    value = total * grad_scale
    return (value, grad_out) if grad else value


@preparable(_describe, _launch)
def loss(
    y_true: Array,
    y_pred: Array,
    name: str,
    *,
    from_logits: bool = False,
    reduction: str = "mean",
    sample_weight: Array | None = None,
    delta: float = 1.0,
    grad: bool = False,
    grad_out: Array | None = None,
) -> float | tuple[float, Array]:
    """The reduced loss as a Python float — or ``(loss, dloss/dy_pred)`` with ``grad=True``.

    The arrays come first and the loss's name after them, as in ``activation(x, name)``.
    y_pred: float32 (..., C). y_true: the same shape (float32), or int32 labels of shape
    (...) for sparse_categorical_crossentropy. sample_weight: float32 of shape (...).
    name: one of ``KINDS`` (ValueError otherwise).
    grad_out: optional preallocated array for the gradient (shape of y_pred); it must share
    no memory with y_true, y_pred or sample_weight (ValueError). It stays a single array named
    ``grad_out`` rather than an ``out=(None, grad)`` tuple: the other result is a Python float,
    not an array, so a tuple would hold one slot that can never be given; and the gradient
    exists only with ``grad=True``, which the name says.

    Source: Keras 3 ``keras.losses`` (huber: Huber 1964, as Keras's Huber).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; y_true not int32
            for the sparse kind; non-bool from_logits/grad.
        ValueError: an unknown ``name`` or ``reduction``; from_logits for a non-cross-entropy; ``delta`` not
            positive; mismatched shapes; empty y_pred; sparse labels outside [0, C); a bad ``grad_out``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe(
        y_true,
        y_pred,
        name,
        from_logits=from_logits,
        reduction=reduction,
        sample_weight=sample_weight,
        delta=delta,
        grad=grad,
        grad_out=grad_out,
    )
    return _launch(desc, y_true, y_pred, sample_weight, grad_out, checked=True)
