"""Dense, Activation, Dropout, Flatten and Reshape."""

from __future__ import annotations

import math

import numpy as np

from .. import constraints, initializers, ops, regularizers, utils
from ..distributed.strategy import current_shard
from ..ops._checks import as_bool
from ..ops._plan import PlanCache
from . import _activity
from ._activations import Act
from ._limits import shape as _shape
from ._limits import size
from .base import Layer, keras1_arguments


class Dense(Layer):
    """``y = activation(x @ kernel + bias)`` over the last axis; kernel (in, units)."""

    supports_masking = True

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        kwargs = keras1_arguments(
            "Dense",
            kwargs,
            {
                "init": "kernel_initializer",
                "output_dim": "units",
                "W_regularizer": "kernel_regularizer",
                "b_regularizer": "bias_regularizer",
                "W_constraint": "kernel_constraint",
                "b_constraint": "bias_constraint",
                "bias": "use_bias",
            },
        )
        kernel_initializer = kwargs.pop("kernel_initializer", kernel_initializer)
        kernel_constraint = kwargs.pop("kernel_constraint", kernel_constraint)
        bias_constraint = kwargs.pop("bias_constraint", bias_constraint)
        kernel_regularizer = kwargs.pop("kernel_regularizer", kernel_regularizer)
        bias_regularizer = kwargs.pop("bias_regularizer", bias_regularizer)
        use_bias = kwargs.pop("use_bias", use_bias)
        units = kwargs.pop("units", units)
        super().__init__(**kwargs)
        units = size("Dense", "units", units)
        self.activity_regularizer = _activity.get("Dense", activity_regularizer)
        self.units = int(units)
        self.act = Act("Dense", activation)
        self._gemm = PlanCache(
            ops.gemm, ("a", "b", "c", "bias", "out"), activation=self.act.fused
        )  # fused: relu/linear, else None
        self.activation = self.act.name
        self.output_activation = self.act.name if self.act.name in ("softmax", "sigmoid") else None
        self.use_bias = as_bool("Dense", "use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.for_argument(type(self).__name__, "kernel_constraint", kernel_constraint)
        self.bias_constraint = constraints.for_argument(type(self).__name__, "bias_constraint", bias_constraint)

    def build(self, input_shape):
        if len(input_shape) < 1 or input_shape[-1] is None:
            raise self.error(f"needs inputs with a known last axis, got shape {(None, *input_shape)}")
        self.kernel = self.add_weight(
            "kernel",
            (input_shape[-1], self.units),
            self.kernel_initializer,
            self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = (
            self.add_weight(
                "bias", (self.units,), self.bias_initializer, self.bias_regularizer, constraint=self.bias_constraint
            )
            if self.use_bias
            else None
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def forward(self, x, training=False, mask=None):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1]) if x.ndim != 2 else x
        n = x2.shape[0]
        act, b = self.act, (self.bias.value if self.bias is not None else None)
        # ops.gemm through a plan per input shape (ops/_plan.py): at batch 1, validating every
        # argument would cost more than the product; the plan checks only what can change.
        if act.fused is not None:
            y = self._gemm(x2.shape, x2, self.kernel.value, None, b, self.buffer("y", (n, self.units)))
            z = None
        else:
            z = self._gemm(x2.shape, x2, self.kernel.value, None, b, self.buffer("z", (n, self.units)))
            y = act.forward(z, self.buffer("y", (n, self.units)))
        self._x, self.logits, self._y, self._in_shape = x2, z, y, shape
        return y if x.ndim == 2 else y.reshape(*shape[:-1], self.units)

    def backward(self, dy, need_dx=True):
        dy2 = dy.reshape(-1, self.units) if dy.ndim != 2 else dy
        dz = self.act.backward(dy2, self.logits, self._y, self.act.dz_out(self, dy2, "dz"))
        return self.backward_logits(dz, need_dx)

    def backward_logits(self, dz, need_dx=True):
        """The backward from dL/d(pre-activation): what a fused softmax/sigmoid cross-entropy hands in."""
        if dz.ndim != 2:
            dz = dz.reshape(-1, self.units)
        if self.trainable:
            ops.gemm(self._x, dz, trans_a=True, out=self.kernel.grad)
            if self.bias is not None:
                ops.bias_backward(dz, out=self.bias.grad)
            if self.kernel_regularizer is not None or self.bias_regularizer is not None:
                self.add_regularizer_gradients()
        if not need_dx:
            return None
        dx = ops.gemm(dz, self.kernel.value, trans_b=True, out=self.buffer("dx", self._x.shape))
        return dx if len(self._in_shape) == 2 else dx.reshape(self._in_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Activation(Layer):
    """An activation as a layer: ``Activation('relu')``, ``Activation('softmax')``."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        alpha = kwargs.pop("_alpha", None)  # (the parametrised subclasses: layers/activation_layers.py)
        super().__init__(**kwargs)
        self.act = Act(type(self).__name__, activation, alpha)
        self.activation = self.act.name
        # relu and softmax differentiate from their output, the others from their input
        self.backward_reads_output = self.act.name in ("relu", "softmax", "log_softmax")
        self.backward_reads_input = not (self.act.identity or self.backward_reads_output)
        self.output_aliases_input = self.act.identity  # "linear" returns x itself
        self.output_activation = self.act.name if self.act.name in ("softmax", "sigmoid") else None

    def forward(self, x, training=False, mask=None):
        self._x = x
        if self.act.identity:
            self._y = x
            return x
        self.logits = x
        self._y = self.act.forward(x, self.buffer("y", x.shape))
        return self._y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return self.act.backward(dy, self._x, self._y, self.act.dz_out(self, dy, "dx"))

    def backward_logits(self, dz, need_dx=True):
        return dz if need_dx else None

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


_MAX_SEED = 2**63 - 1  # docs/model_format.md: seeds are uint64 < 2**63
_MAX_OFFSET = 2**63


class Dropout(Layer):
    """Inverted dropout in training, the identity in inference (Philox masks, ``ops.dropout``).

    The Philox key is ``seed`` when given, else drawn from ``sinapse.utils.global_rng()``
    when the layer is built; each training call advances the counter offset, so every step
    draws a fresh mask and the backward recomputes the same one. Both are the layer's random
    state (``get_rng_state``), saved in checkpoints so a resumed run draws the same masks.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        kwargs = keras1_arguments("Dropout", kwargs, {"p": "rate"})
        rate = kwargs.pop("rate", rate)
        super().__init__(**kwargs)
        if noise_shape is not None:
            raise self.arg_error(f"`noise_shape` is not supported (masks are drawn per element), got {noise_shape!r}")
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not 0 <= rate < 1:
            raise self.arg_error(f"`rate` must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        # The Philox key is the seed itself (saved as a uint64 < 2**63): no silent reduction modulo 2**64.
        self.seed = None if seed is None else size("Dropout", "seed", seed, lo=0, hi=_MAX_SEED)
        self._philox_seed = None
        self._offset = 0
        self._lane = 0

    def build(self, input_shape):
        self._philox_seed = self.seed if self.seed is not None else int(utils.global_rng().integers(0, 2**63))
        self._offset = 0

    def forward(self, x, training=False, mask=None):
        self._active = training and self.rate > 0
        if not self._active:
            return x
        # Element i of the batch uses lane i % 4 of Philox block offset + i // 4. In distributed
        # training this rank holds rows [start, start + rows) of the global batch: it draws the
        # blocks of its own elements, so N processes drop exactly what one process would.
        first, total = 0, x.size
        shard = current_shard()
        if shard is not None and len(x):
            per_row = x.size // len(x)
            first, total = shard.start * per_row, shard.total * per_row
        self._call_offset, self._lane = self._offset + first // 4, first % 4
        step = math.ceil(total / 4)
        if self._offset + step > _MAX_OFFSET:  # wrapping would repeat earlier masks
            raise self.error(
                f"the Philox counter offset {self._offset} + {step} passes {_MAX_OFFSET} (2**63): "
                f"restore a smaller offset with set_rng_state, or rebuild the layer"
            )
        self._offset += step
        return self._masked(ops.dropout, x, "y")

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        if not self._active:
            return dy
        return self._masked(ops.dropout_backward, dy, "dx")

    def _masked(self, op, a, name):
        """``op`` (dropout or its backward) on ``a`` with this call's Philox offset; a first element
        that is not lane 0 of its block (a distributed shard) goes through a copy shifted by the lane."""
        if not self._lane:
            return op(a, self.rate, self._philox_seed, self._call_offset, out=self.buffer(name, a.shape))
        shifted = self.buffer("shifted", (a.size + self._lane,))
        shifted[self._lane :] = a.reshape(-1)
        shifted[: self._lane] = 0
        op(shifted, self.rate, self._philox_seed, self._call_offset, out=shifted)
        out = self.buffer(name, a.shape)
        out[...] = shifted[self._lane :].reshape(a.shape)
        return out

    def get_rng_state(self) -> dict:
        """{"seed", "offset"}: the Philox key and the next counter offset, uint64 scalars."""
        return {"seed": np.array(self._philox_seed, np.uint64), "offset": np.array(self._offset, np.uint64)}

    def set_rng_state(self, state: dict) -> None:
        """Restore ``get_rng_state()`` (after build); ValueError for other names, dtypes or shapes."""
        if set(state) != {"seed", "offset"}:
            raise self.error(f"set_rng_state needs exactly 'seed' and 'offset', got {sorted(state)}")
        for key, value in state.items():
            value = np.asarray(value)
            if value.dtype != np.uint64 or value.shape != ():
                raise self.error(f"set_rng_state: {key!r} must be a uint64 scalar, got {value.dtype} {value.shape}")
        if int(state["seed"]) >= 2**63:
            raise self.error(f"set_rng_state: seed must be < 2**63, got {int(state['seed'])}")
        if int(state["offset"]) > _MAX_OFFSET:  # so offset + step never wraps past 2**64
            raise self.error(f"set_rng_state: offset must be <= 2**63, got {int(state['offset'])}")
        self._philox_seed, self._offset = int(state["seed"]), int(state["offset"])

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): a view, no copy."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise self.arg_error(
                f"`data_format` must be 'channels_last' (NHWC, the only layout supported), got {data_format!r}"
            )

    def compute_output_shape(self, input_shape):
        if any(d is None for d in input_shape):
            raise self.error(f"needs a fully known input shape, got {(None, *input_shape)}")
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False, mask=None):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._shape) if need_dx else None

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


class Reshape(Layer):
    """Reshape to ``target_shape`` (no batch axis; one entry may be -1): a view, no copy."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _shape("Reshape", "target_shape", target_shape, unknown=-1)
        if self.target_shape.count(-1) > 1:
            raise ValueError(
                f"Reshape: `target_shape` may hold at most one -1 (an inferred size), got {self.target_shape}"
            )

    def compute_output_shape(self, input_shape):
        total = int(np.prod(input_shape))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        shape = tuple(total // known if d == -1 else d for d in self.target_shape)
        if int(np.prod(shape)) != total:
            raise self.error(
                f"cannot reshape an input of shape {(None, *input_shape)} ({total} values per sample) "
                f"to {(None, *self.target_shape)}"
            )
        return shape

    def forward(self, x, training=False, mask=None):
        self._shape = x.shape
        return x.reshape(x.shape[0], *self._output_shape())

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._shape) if need_dx else None

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
