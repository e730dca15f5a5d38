"""LayerNormalization and GroupNormalization (Keras 3's arguments, defaults and get_config),
on the fused kernels of ops.layer_norm / ops.group_norm.

Both normalise per sample with the biased variance, ``(x - mean) / sqrt(var + epsilon)``, then
scale by gamma and shift by beta (Keras: https://keras.io/api/layers/normalization_layers/
layer_normalization/ and .../group_normalization/; Ba et al. 2016; Wu & He 2018). Unlike
BatchNormalization there are no moving statistics: training and inference compute the same.
"""

from __future__ import annotations

from typing import Any

from .. import constraints, initializers, ops, regularizers
from ..ops._checks import as_bool, as_float, as_int
from ..ops._plan import PlanCache
from .base import Layer, dy_is_scratch

# The arrays each prepared call passes, in the ops' descriptor order.
_FORWARD_ARRAYS = ("x", "gamma", "beta", "y", "mean", "inv_std")
_BACKWARD_ARRAYS = ("dy", "x", "gamma", "mean", "inv_std", "dx", "dgamma", "dbeta")


class _Normalization(Layer):
    """What both layers share: epsilon / center / scale, the gamma and beta weights, the
    kernel calls and the gradients. Subclasses set ``_forward_op``, ``_backward_op`` and
    ``_op_options()``, and ``_param_shape(input_shape)``."""

    backward_reads_output = False  # the backward reads x, gamma and the saved statistics
    supports_masking = True

    def __init__(
        self,
        epsilon,
        center,
        scale,
        beta_initializer,
        gamma_initializer,
        beta_regularizer,
        gamma_regularizer,
        beta_constraint,
        gamma_constraint,
        **kwargs,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.epsilon = as_float(cls, "epsilon", epsilon)
        if not 0 < self.epsilon < float("inf"):
            raise self.arg_error(f"`epsilon` must be positive and finite, got {epsilon!r}")
        self.center = as_bool(cls, "center", center)
        self.scale = as_bool(cls, "scale", scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.for_argument(cls, "beta_constraint", beta_constraint)
        self.gamma_constraint = constraints.for_argument(cls, "gamma_constraint", gamma_constraint)
        self._plans: tuple[PlanCache, PlanCache] | None = None

    _forward_op: Any  # ops.layer_norm or ops.group_norm
    _backward_op: Any

    def _param_shape(self, input_shape) -> tuple:
        raise NotImplementedError

    def _op_options(self) -> dict:
        raise NotImplementedError

    def build(self, input_shape):
        shape = self._param_shape(tuple(input_shape))
        self.gamma = (
            self.add_weight(
                "gamma", shape, self.gamma_initializer, self.gamma_regularizer, constraint=self.gamma_constraint
            )
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight(
                "beta", shape, self.beta_initializer, self.beta_regularizer, constraint=self.beta_constraint
            )
            if self.center
            else None
        )

    def _prepared(self) -> tuple[PlanCache, PlanCache]:
        """The forward's and backward's prepared calls (the op's full validation once per
        input shape, then a few cheap checks per call: ops/_plan.py)."""
        if self._plans is None:
            options = self._op_options()
            self._plans = (
                PlanCache(self._forward_op, _FORWARD_ARRAYS, **options, epsilon=self.epsilon),
                PlanCache(self._backward_op, _BACKWARD_ARRAYS, **options),
            )
        return self._plans

    def forward(self, x, training=False, mask=None):
        gamma = self.gamma.value if self.gamma is not None else None
        beta = self.beta.value if self.beta is not None else None
        y, self._mean, self._inv_std = self._prepared()[0](
            x.shape, x, gamma, beta, self.buffer("y", x.shape), None, None
        )
        self._x, self._gamma = x, gamma
        return y

    def backward(self, dy, need_dx=True):
        dx_out = dy if dy_is_scratch() else self.buffer("dx", dy.shape)  # in place inside the graph executor
        dx, dgamma, dbeta = self._prepared()[1](
            dy.shape, dy, self._x, self._gamma, self._mean, self._inv_std, dx_out, None, None
        )
        if self.trainable:
            if self.gamma is not None:
                self.gamma.grad = dgamma
            if self.beta is not None:
                self.beta.grad = dbeta
            if self.gamma_regularizer is not None or self.beta_regularizer is not None:
                self.add_regularizer_gradients()
        return dx if need_dx else None

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class LayerNormalization(_Normalization):
    """Keras's LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True, ...).

    ``axis``: an int or a list of ints counting the batch axis as 0 (as Keras); they must be
    the trailing axes of the input (e.g. -1, or [1, 2] of a 3-D input), normalised together as
    one row; gamma and beta have those axes' shape. Other axis sets (one that skips an axis,
    or the batch axis) raise ValueError: move the axes last (Permute) first.
    ``rms_scaling=True`` (deprecated in Keras 3: it scales by the variance, not the RMS) is
    refused with a ValueError; Keras's RMSNormalization is the layer it points to.
    """

    _forward_op = staticmethod(ops.layer_norm)
    _backward_op = staticmethod(ops.layer_norm_backward)

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        rms_scaling=False,
        **kwargs,
    ):
        if as_bool("LayerNormalization", "rms_scaling", rms_scaling):
            raise ValueError(
                "LayerNormalization: `rms_scaling`=True is not supported (deprecated in Keras 3, where it "
                "scales by the variance rather than the root mean square); got rms_scaling=True"
            )
        items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not items:
            raise ValueError(f"LayerNormalization: `axis` must name at least one axis, got {axis!r}")
        self.axis = [as_int("LayerNormalization", "axis", a, lo=-(2**31), hi=2**31 - 1, what="an int") for a in items]
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )

    def _positive_axes(self, rank: int) -> list[int]:
        out = []
        for a in self.axis:
            if not -rank <= a < rank:
                raise self.error(f"`axis`={self.axis} is out of range for inputs of rank {rank} (batch axis included)")
            out.append(a % rank)
        return sorted(set(out))

    def _param_shape(self, input_shape):
        rank = len(input_shape) + 1  # with the batch axis
        axes = self._positive_axes(rank)
        if axes != list(range(axes[0], rank)) or axes[0] == 0 or len(axes) != len(self.axis):
            raise self.error(
                f"`axis`={self.axis} must name the trailing axes of the inputs, batch axis excluded (e.g. -1 or "
                f"{list(range(max(rank - 2, 1), rank))} for inputs of shape {(None, *input_shape)}); move the axes "
                "to normalise last first (Permute)"
            )
        self._ops_axis = axes
        return tuple(input_shape[axes[0] - 1 :])

    def _op_options(self):
        return {"axis": self._ops_axis}

    def get_config(self):
        return {**super().get_config(), "axis": sorted(self.axis), "rms_scaling": False}


class GroupNormalization(_Normalization):
    """Keras's GroupNormalization(groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, ...).

    Channels last (``axis`` -1 only, as every sinapse image layer): the C channels split into
    ``groups`` groups of C / groups; each sample's group is normalised over every position and
    its channels; gamma and beta are per channel (C,). ``groups`` must divide C (ValueError).
    groups=1 is LayerNormalization over all non-batch axes with per-channel weights; groups=C
    (or -1, which becomes C at build, as Keras) is instance normalization.
    """

    _forward_op = staticmethod(ops.group_norm)
    _backward_op = staticmethod(ops.group_norm_backward)

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        # -1: one group per channel (instance normalization), resolved at build as Keras does
        self.groups = as_int("GroupNormalization", "groups", groups, lo=-1, what="a positive integer or -1", bounds="")
        if self.groups == 0:
            raise ValueError("GroupNormalization: `groups` must be a positive integer or -1 (one per channel), got 0.")
        self.axis = as_int("GroupNormalization", "axis", axis, lo=-(2**31), hi=2**31 - 1, what="an int")
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )

    def _param_shape(self, input_shape):
        rank = len(input_shape) + 1
        if self.axis not in (-1, rank - 1):
            raise self.error(
                f"only the last axis (channels) can be the group axis; got axis={self.axis} for inputs of shape "
                f"{(None, *input_shape)}"
            )
        c = input_shape[-1]
        if self.groups == -1:
            self.groups = c
        if c % self.groups:
            raise self.error(
                f"`groups`={self.groups} must divide the number of channels ({c}, the last axis of inputs of shape "
                f"{(None, *input_shape)})"
            )
        return (c,)

    def _op_options(self):
        return {"groups": self.groups}

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis}
