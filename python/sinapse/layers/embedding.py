"""Embedding and Masking: the layers that start a sequence model and make its (N, T) mask."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import constraints, initializers, ops, regularizers
from ..ops._checks import as_bool
from . import _activity
from ._limits import size
from .base import Layer, _numeric


class Embedding(Layer):
    """Keras's Embedding: integer ids (N, ...) -> rows of ``embeddings`` (input_dim, output_dim).

    Integer ids (int32/int64, as given) reach ``ops.embedding`` exactly, from a direct call and
    from a model whose first layer is an Embedding (it keeps x's dtype). Float ids must be whole
    numbers that the float type represents exactly (up to 2**24 for float32): anything else
    raises ValueError rather than picking a neighbouring row. ``mask_zero=True`` makes id 0
    padding: the next layers receive the mask ``ids != 0`` (so the vocabulary holds
    ``input_dim - 1`` real ids), and when it reaches the model's output the loss and metrics
    leave the padded steps out, as Keras (``sinapse.losses.apply_mask``). There is no gradient with respect to the ids, so no
    trainable layer can sit below an Embedding.
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        activity_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        input_length=None,
        **kwargs,
    ):
        if input_length is not None:  # checked before it becomes the input shape
            input_length = size("Embedding", "input_length", input_length)
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        # ids are int64 at most; the table's size is bounded where it is allocated (add_weight).
        input_dim = size("Embedding", "input_dim", input_dim, hi=2**63 - 1)
        output_dim = size("Embedding", "output_dim", output_dim)
        mask_zero = as_bool("Embedding", "mask_zero", mask_zero)
        self.activity_regularizer = _activity.get("Embedding", activity_regularizer)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.for_argument(
            type(self).__name__, "embeddings_constraint", embeddings_constraint
        )
        self.mask_zero = bool(mask_zero)
        self.input_length = None if input_length is None else int(input_length)
        self.supports_masking = self.mask_zero

    def build(self, input_shape):
        if len(input_shape) < 1:
            raise self.error(f"expects integer ids of shape (batch, ...), got inputs of shape {(None, *input_shape)}")
        self.embeddings = self.add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    takes_ids = True  # a model whose first layer this is keeps integer x as integers

    def _as_input(self, x, where):
        x = _numeric(x, where)
        return x if hasattr(x, "__cuda_array_interface__") else self.device.asarray(x, x.dtype)

    def _ids(self, x):
        """x as int32/int64 ids: integer ids as given (no copy), others checked and converted
        into a buffer reused per batch shape."""
        xp = self.device.xp
        if x.dtype in (np.int32, np.int64):
            return xp.ascontiguousarray(x)
        if x.dtype.kind == "f":
            self._check_float_ids(x)
        elif x.dtype == np.uint64 and x.size and int(x.max()) > 2**63 - 1:
            raise IndexError(
                f"Embedding layer {self.name!r} (input_dim={self.input_dim}): the ids must lie in "
                f"[0, {self.input_dim}), got {int(x.max())}"
            )
        small = x.dtype.kind == "b" or (x.dtype.kind in "iu" and x.dtype.itemsize < 4)
        ids = self.buffer("ids", tuple(x.shape), np.int32 if small else np.int64)
        xp.copyto(ids, x, casting="unsafe")
        return ids

    def _check_float_ids(self, x) -> None:
        """Float ids must be whole and exactly representable: 2**24 + 1 in float32 is 2**24."""
        if not x.size:
            return
        xp = self.device.xp
        exact = 2 ** (np.finfo(x.dtype).nmant + 1)  # every integer up to this is exact
        where = f"Embedding layer {self.name!r} (input_dim={self.input_dim})"
        bad = ~xp.isfinite(x) | (x != xp.floor(x))
        if bool(bad.any()):
            raise ValueError(
                f"{where}: the ids must be whole numbers, got {x[bad].ravel()[0].item()!r} "
                f"(dtype {x.dtype}); pass integer ids (int32/int64)"
            )
        big = xp.abs(x) > exact
        if bool(big.any()):
            raise ValueError(
                f"{where}: got the id {x[big].ravel()[0].item():.0f} as {x.dtype}, which represents "
                f"integers exactly only up to {exact}, so it may not be the id meant; pass integer ids "
                f"(int32/int64)"
            )

    def forward(self, x, training=False, mask=None):
        self._ids_now = ids = self._ids(x)
        try:
            return ops.embedding(ids, self.embeddings.value, out=self.buffer("y", (*ids.shape, self.output_dim)))
        except IndexError as e:
            raise IndexError(
                f"Embedding layer {self.name!r} (input_dim={self.input_dim}): the ids must lie in "
                f"[0, {self.input_dim}); {e}"
            ) from None

    def backward(self, dy, need_dx=True):
        if self.trainable:
            ops.embedding_backward(
                self.device.xp.ascontiguousarray(dy), self._ids_now, self.input_dim, out=self.embeddings.grad
            )
            if self.embeddings_regularizer is not None:
                self.add_regularizer_gradients()
        if need_dx:
            raise self.error(
                "has no gradient with respect to its integer inputs, so the layers below it cannot "
                "be trained; put the Embedding first (or freeze the layers below it)"
            )
        return None

    def compute_mask(self, x, mask):
        if not self.mask_zero:
            return None
        return x != 0

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "input_length": self.input_length,
        }


class Masking(Layer):
    """Keras's Masking: steps whose features all equal ``mask_value`` are masked for the next layers.

    Output ``x * keep`` with ``keep = any(x != mask_value, axis=-1)`` (the identity for the
    default mask_value 0: masked steps are zeros already); the backward passes dy with the
    masked steps zeroed, as Keras's gradient of that product. A mask that reaches the model's
    output leaves the masked steps out of the loss and metrics (``sinapse.losses.apply_mask``).
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise self.arg_error(f"`mask_value` must be a number, got {mask_value!r}")
        self.mask_value = float(mask_value)
        self._keep: Any = None  # the forward's keep mask, an (N, T) bool array of the device

    def build(self, input_shape):
        if len(input_shape) < 1:
            raise self.error(f"expects inputs of shape (batch, time, ...), got {(None, *input_shape)}")

    def _keep_mask(self, x):
        return self.device.xp.any(x != np.float32(self.mask_value), axis=-1)

    def forward(self, x, training=False, mask=None):
        self._keep = keep = self._keep_mask(x)
        if self.mask_value == 0.0:
            return x
        return self.device.xp.multiply(x, keep[..., None], out=self.buffer("y", tuple(x.shape)))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return self.device.xp.multiply(dy, self._keep[..., None], out=self.buffer("dx", tuple(dy.shape)))

    def compute_mask(self, x, mask):
        return self._keep_mask(x)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
