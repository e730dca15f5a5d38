"""``activity_regularizer``: a penalty on a layer's output, added to the loss (Keras 3 semantics).

Keras 3 (keras/src/layers/layer.py, ``Layer.__call__``) adds ``regularizer(output) / batch_size``
to the layer's losses at every call (``divide_no_nan``: 0 for an empty batch), and the model's
loss is the compiled loss plus those losses: so the logged ``loss`` includes it, in ``fit`` and
in ``evaluate``. Its gradient with respect to the output, ``regularizer'(y) / batch_size``, joins
the loss's gradient before the layer's backward.

The mechanism is here and in the graph executor (models/graph.py), for every layer: the forward
step calls ``penalty`` on the layer's output (which, in training, also computes the gradient
then, since a transient output array is reused by later layers before the backward runs), and
the backward step calls ``add_gradient`` on the layer's dy. Every layer takes the argument, as
every Keras 3 layer does (``Layer.__init__``).
"""

from __future__ import annotations

from typing import Any

from .. import ops, regularizers


def get(layer: str, value) -> regularizers.Regularizer | None:
    """The regularizer of ``activity_regularizer=value`` (None, "l1", "l2", "l1_l2", a config dict
    or an instance); TypeError / ValueError starting with the layer's class name otherwise."""
    try:
        return regularizers.get(value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{layer}: `activity_regularizer`: {exc}") from None


def penalty(layer: Any, y, training: bool) -> float:
    """``regularizer(y) / batch`` for the output ``y`` of ``layer`` (0 for an empty batch); in
    training, the gradient ``regularizer'(y)`` is kept on the layer for ``add_gradient``."""
    reg = layer.activity_regularizer
    layer._activity_grad = None
    batch = int(y.shape[0]) if y.ndim else 1
    if batch == 0:
        return 0.0
    if training:
        g = layer.buffer("activity_grad", tuple(y.shape))
        g.fill(0.0)
        reg.add_gradient(y, g)
        layer._activity_grad, layer._activity_scale = g, 1.0 / batch
    return float(reg(y)) / batch


def add_gradient(layer: Any, dy, scratch: bool):
    """``dy + regularizer'(y) / batch`` (``ops.axpy``): into ``dy`` itself when it is ``scratch``
    (dead after the step, models/graph.py), else into a buffer of the layer. ``dy`` unchanged
    when the last forward was not a training one."""
    g = layer.__dict__.get("_activity_grad")
    if g is None:
        return dy
    layer._activity_grad = None  # one backward per training forward
    out = dy if scratch else layer.buffer("activity_dy", tuple(dy.shape))
    return ops.axpy(layer._activity_scale, g.reshape(dy.shape), dy, out=out)
