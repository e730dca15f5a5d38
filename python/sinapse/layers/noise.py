"""Keras's regularization layers: SpatialDropout1D/2D/3D and GaussianNoise (random, active only in
training, on the Philox draws of the dropout kernels: ``ops.spatial_dropout``,
``ops.gaussian_noise``), and ActivityRegularization (the identity with an activity_regularizer).

Like ``Dropout`` (layers/core.py, whose seed, counter and ``get_rng_state`` they share), the
Philox key is ``seed`` or drawn when the layer is built, each training call advances the counter
offset by the call's draws, and a distributed rank draws the stream positions of its own rows
(the ``lane`` argument: no shifted copy), so N processes draw what one process would. Keras 3's
arguments and configs (keras/src/layers/regularization/spatial_dropout.py, gaussian_noise.py);
the random numbers are Philox's, not Keras's.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops, regularizers
from ..distributed.strategy import current_shard
from ..ops._checks import as_float
from ._limits import size
from .base import Layer
from .core import _MAX_OFFSET, _MAX_SEED, Dropout


def _data_format(layer: Layer, data_format) -> None:
    if data_format not in (None, "channels_last"):
        raise layer.arg_error(
            f"`data_format` must be 'channels_last' (channels last: the only layout supported), got {data_format!r}"
        )


class _Random(Dropout):
    """A Dropout-like layer's seed, Philox counter and RNG state (inherited from Dropout: build,
    get_rng_state, set_rng_state), without Dropout's constructor."""

    supports_masking = True
    backward_reads_input = False
    backward_reads_output = False
    output_aliases_input = True  # the identity at inference returns x itself

    def __init__(self, seed=None, **kwargs):
        Layer.__init__(self, **kwargs)
        cls = type(self).__name__
        self.seed = None if seed is None else size(cls, "seed", seed, lo=0, hi=_MAX_SEED)
        self._philox_seed = None
        self._offset = 0
        self._lane = 0
        self._active = False

    def _advance(self, x, per_row: int) -> None:
        """This call's first Philox block and lane (``_call_offset``, ``_lane``), and the counter
        moved past the global batch's ``per_row`` draws per row."""
        first, total = 0, len(x) * per_row
        shard = current_shard()
        if shard is not None and len(x):
            first, total = shard.start * per_row, shard.total * per_row
        self._call_offset, self._lane = self._offset + first // 4, first % 4
        step = math.ceil(total / 4)
        if self._offset + step > _MAX_OFFSET:  # wrapping would repeat earlier draws
            raise self.error(
                f"the Philox counter offset {self._offset} + {step} passes {_MAX_OFFSET} (2**63): "
                f"restore a smaller offset with set_rng_state, or rebuild the layer"
            )
        self._offset += step


class _SpatialDropout(_Random):
    _rank = 0  # spatial axes

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        _data_format(self, data_format)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not 0 <= rate < 1:
            raise self.arg_error(f"`rate` must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != self._rank + 1:
            raise self.error(
                f"expects inputs with {self._rank} spatial axes and channels last, got {(None, *input_shape)}"
            )
        return tuple(input_shape)

    def forward(self, x, training=False, mask=None):
        self._active = bool(training) and self.rate > 0 and x.size > 0
        if not self._active:
            return x
        self._advance(x, x.shape[-1])
        return ops.spatial_dropout(
            x, self.rate, self._philox_seed, self._call_offset, lane=self._lane, out=self.buffer("y", x.shape)
        )

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        if not self._active:
            return dy
        return ops.spatial_dropout_backward(
            dy, self.rate, self._philox_seed, self._call_offset, lane=self._lane, out=self.buffer("dx", dy.shape)
        )

    def get_config(self):
        # Keras's SpatialDropout*D.get_config: these keys only (its __init__ takes no `trainable`)
        return {
            "name": self.name,
            "dtype": "float32",
            "rate": self.rate,
            "seed": self.seed,
            "data_format": "channels_last",
        }


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of sequences (N, T, C): one draw per (sample, channel), the same at
    every step (Tompson et al. 2015; Keras's SpatialDropout1D)."""

    _rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]  # Keras's SpatialDropout1D has none
        return config


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of images (N, H, W, C): one draw per (sample, channel), the same
    at every pixel, kept ones scaled by 1 / (1 - rate) (Tompson et al. 2015, "Efficient object
    localization using convolutional networks"; Keras's SpatialDropout2D)."""

    _rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes of (N, D, H, W, C) inputs (Keras's SpatialDropout3D)."""

    _rank = 3


class GaussianNoise(_Random):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training (Keras's
    GaussianNoise; ``stddev`` in [0, 1] as Keras checks); the identity at inference. The
    gradient is dy itself. The normals come from Philox by Box-Muller (``ops.gaussian_noise``)."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        stddev = as_float("GaussianNoise", "stddev", stddev)
        if not 0 <= stddev <= 1:
            raise self.arg_error(f"`stddev` must be a number in [0, 1], got {stddev!r}")
        self.stddev = stddev

    def forward(self, x, training=False, mask=None):
        self._active = bool(training) and self.stddev > 0 and x.size > 0
        if not self._active:
            return x
        self._advance(x, x.size // len(x))
        return ops.gaussian_noise(
            x, self.stddev, self._philox_seed, self._call_offset, lane=self._lane, out=self.buffer("y", x.shape)
        )

    def backward(self, dy, need_dx=True):
        return dy if need_dx else None

    def get_config(self):
        return {**Layer.get_config(self), "stddev": self.stddev, "seed": self.seed}


class ActivityRegularization(Layer):
    """The identity, with the penalty ``l1 * sum|x| + l2 * sum(x**2)`` (/ batch size) on its output
    added to the loss (Keras's ActivityRegularization: an ``activity_regularizer=L1L2(l1, l2)``,
    layers/_activity.py). Raises ValueError for a negative or non-finite coefficient."""

    supports_masking = True
    backward_reads_input = False
    backward_reads_output = False
    output_aliases_input = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # Keras's config never holds it; the l1/l2 make it
        try:
            reg = regularizers.L1L2(l1=l1, l2=l2)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"ActivityRegularization: {exc}") from None
        super().__init__(activity_regularizer=reg, **kwargs)
        self.l1, self.l2 = reg.l1, reg.l2

    def forward(self, x, training=False, mask=None):
        return x

    def backward(self, dy, need_dx=True):
        return dy if need_dx else None

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)  # as Keras: l1 and l2 say it
        return {**config, "l1": self.l1, "l2": self.l2}
