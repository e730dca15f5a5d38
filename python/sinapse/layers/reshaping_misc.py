"""Permute and RepeatVector: layers that only move values (Keras 3's keras/src/layers/reshaping/
permute.py and repeat_vector.py: arguments, output shapes, get_config).

Their forwards are copies by the device's own copy routine (``ops._device.copy_into``: NumPy's
``copyto`` / CuPy's assignment); RepeatVector's backward sums the n copies' gradients with the
``merge`` kernel ("add"), after one copy that makes each copy's gradient contiguous.
"""

from __future__ import annotations

from .. import ops
from ..ops import _device
from ..ops._checks import as_int
from .base import Layer

_MERGE_INPUTS = 64  # the most inputs one merge call takes on CUDA (ops.merge)


class Permute(Layer):
    """Permute the non-batch axes: ``dims`` (1-based, a permutation of 1..rank) gives, for each
    output axis, the input axis it comes from: Permute((2, 1)) turns (N, T, F) into (N, F, T).
    The output is a contiguous copy; the backward copies dy through the inverse permutation.

    Raises ValueError for ``dims`` that is no permutation of 1..len(dims), or an input whose rank
    (batch axis left out) differs from len(dims)."""

    backward_reads_input = False
    backward_reads_output = False

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(as_int("Permute", "dims", d, lo=1, hi=2**31 - 1) for d in dims)
        except TypeError:
            raise TypeError(f"Permute: `dims` must be a tuple of ints, got {dims!r}") from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise self.arg_error(
                f"`dims` must be a permutation of 1..{len(dims)} (the non-batch axes, 1-based), got {dims!r}"
            )
        self.dims = dims
        self._axes = (0, *dims)
        self._inverse = tuple(self._axes.index(i) for i in range(len(self._axes)))

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims):
            raise self.error(
                f"`dims` {self.dims} permutes {len(self.dims)} axes, but the input has shape {(None, *input_shape)}"
            )
        return tuple(input_shape[d - 1] for d in self.dims)

    def forward(self, x, training=False, mask=None):
        out = self.buffer("y", tuple(x.shape[a] for a in self._axes))  # the actual sizes: an axis may be None
        _device.copy_into(out, x.transpose(self._axes))
        return out

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        dx = self.buffer("dx", tuple(dy.shape[a] for a in self._inverse))
        _device.copy_into(dx, dy.transpose(self._inverse))
        return dx

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeat each input vector n times: (N, F) -> (N, n, F). The backward is the sum of the n
    copies' gradients (``ops.merge`` "add", at most 64 terms per call, accumulated in place).

    Raises TypeError for a non-int ``n``, ValueError for n < 1 or an input that is not (N, F)."""

    backward_reads_input = False
    backward_reads_output = False

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = as_int("RepeatVector", "n", n, lo=1, hi=2**31 - 1, what="a positive int")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise self.error(f"expects vectors (batch, features), got {(None, *input_shape)}")
        return (self.n, input_shape[0])

    def forward(self, x, training=False, mask=None):
        out = self.buffer("y", (x.shape[0], self.n, x.shape[1]))
        _device.copy_into(out, x[:, None, :])
        return out

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, batch, f = self.n, dy.shape[0], dy.shape[2]
        copies = self.buffer("copies", (n, batch, f))
        _device.copy_into(copies, dy.transpose(1, 0, 2))  # copy i's gradient, contiguous
        dx = self.buffer("dx", (batch, f))
        _device.copy_into(dx, copies[0])
        for start in range(1, n, _MERGE_INPUTS - 1):  # dx += copies[start:stop], summed in order
            stop = min(n, start + _MERGE_INPUTS - 1)
            ops.merge([dx, *copies[start:stop]], "add", out=dx)
        return dx

    def get_config(self):
        return {**super().get_config(), "n": self.n}
