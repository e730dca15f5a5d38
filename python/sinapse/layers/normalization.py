"""BatchNormalization over the last (channel) axis, on ops.batch_norm."""

from __future__ import annotations

from .. import constraints, initializers, ops, regularizers
from ..distributed.strategy import current_shard
from ..ops._checks import as_bool, as_float
from . import _sync_batch_norm
from .base import Layer, dy_is_scratch


class BatchNormalization(Layer):
    """Keras's BatchNormalization (axis=-1, momentum 0.99, epsilon 1e-3, center, scale).

    Training: batch statistics, and moving_mean / moving_variance (non-trainable weights)
    updated in place. Inference: the moving statistics. As in Keras 2, a layer with
    ``trainable = False`` runs in inference mode even during ``fit`` (fine-tuning).
    """

    backward_reads_output = False  # the backward reads x, gamma and the batch statistics

    supports_masking = True

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if axis not in (-1, [-1], (-1,)) and not isinstance(axis, int):
            raise self.arg_error(f"`axis` must be an int, got {axis!r}")
        self.axis = axis if isinstance(axis, int) else -1
        # as_float: TypeError for "0.9" or None (float() would take the string)
        self.momentum, self.epsilon = (
            as_float("BatchNormalization", "momentum", momentum),
            as_float("BatchNormalization", "epsilon", epsilon),
        )
        if not 0 <= self.momentum <= 1:
            raise self.arg_error(f"`momentum` must be in [0, 1], got {momentum!r}")
        if not 0 < self.epsilon < float("inf"):
            raise self.arg_error(f"`epsilon` must be positive, got {epsilon!r}")
        self.center = as_bool("BatchNormalization", "center", center)
        self.scale = as_bool("BatchNormalization", "scale", scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.for_argument(type(self).__name__, "beta_constraint", beta_constraint)
        self.gamma_constraint = constraints.for_argument(type(self).__name__, "gamma_constraint", gamma_constraint)

    def build(self, input_shape):
        if self.axis not in (-1, len(input_shape)):
            raise self.error(
                f"only the last axis (channels, NHWC) is normalised; got axis={self.axis} for inputs "
                f"of shape {(None, *input_shape)}"
            )
        c = input_shape[-1]
        self.gamma = (
            self.add_weight(
                "gamma", (c,), self.gamma_initializer, self.gamma_regularizer, constraint=self.gamma_constraint
            )
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight("beta", (c,), self.beta_initializer, self.beta_regularizer, constraint=self.beta_constraint)
            if self.center
            else None
        )
        self.moving_mean = self.add_weight("moving_mean", (c,), self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight(
            "moving_variance", (c,), self.moving_variance_initializer, trainable=False
        )
        self._fixed = None

    def _gamma_beta(self):
        c = self.moving_mean.value.shape[0]
        if (
            self._fixed is None
            or self._fixed[0].shape[0] != c
            or type(self._fixed[0]) is not type(self.moving_mean.value)
        ):
            self._fixed = (self.device.asarray(self.device.xp.ones(c)), self.device.zeros((c,)))
        gamma = self.gamma.value if self.gamma is not None else self._fixed[0]
        beta = self.beta.value if self.beta is not None else self._fixed[1]
        return gamma, beta

    def _on_device_change(self):
        self._fixed = None

    def forward(self, x, training=False, mask=None):
        self._training = bool(training) and self.trainable
        gamma, beta = self._gamma_beta()
        shard = current_shard()
        self._sync = bool(self._training and shard is not None and shard.sync_batch_norm)
        if shard is not None and self._sync:  # DataParallel(sync_batch_norm=True): the global batch's statistics
            self._fraction = shard.fraction
            y, self._mean, self._invstd = _sync_batch_norm.forward(
                self, x, gamma, beta, self.buffer("y", x.shape), counts=bool(shard.rows)
            )
            self._x, self._gamma = x, gamma
            return y
        moving = (self.moving_mean.value, self.moving_variance.value)
        if shard is not None and not shard.rows and self._training:  # a stand-in row (models/_data.py)
            moving = tuple(_sync_batch_norm.scratch_statistics(self, x.shape[-1]))  # moves nothing
        y, self._mean, self._invstd = ops.batch_norm(
            x,
            gamma,
            beta,
            *moving,
            training=self._training,
            momentum=self.momentum,
            epsilon=self.epsilon,
            out=(self.buffer("y", x.shape), None, None),
        )
        self._x, self._gamma = x, gamma
        return y

    def backward(self, dy, need_dx=True):
        # dx in place into dy inside the graph executor (layers/base.py: dy_is_scratch)
        dx_out = dy if dy_is_scratch() else self.buffer("dx", dy.shape)
        if getattr(self, "_sync", False):
            dx, dgamma, dbeta = _sync_batch_norm.backward(
                self, dy, self._x, self._gamma, self._mean, self._invstd, dx_out, self._fraction
            )
        else:
            dx, dgamma, dbeta = ops.batch_norm_backward(
                dy, self._x, self._gamma, self._mean, self._invstd, training=self._training, out=(dx_out, None, None)
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
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
