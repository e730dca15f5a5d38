"""The merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, and their
functional forms add(...), ..., concatenate(...) (Keras 3: keras/src/layers/merging/*.py).

Multi-input layers (``multi_input = True``): build and compute_output_shape take a list of
input shapes (no batch axis), forward a list of arrays, backward returns one gradient per
input. Each forward and backward is one ``sinapse.ops`` call (``ops.merge`` /
``ops.concatenate`` and their backwards) into buffers the layer reuses, so a step allocates
nothing. Unlike Keras, the element-wise layers do not broadcast: their inputs have one shape.

Masks (the boolean (N, T) masks of Embedding(mask_zero=True) / Masking): as Keras's
``Merge.compute_mask``, the output mask is None when any input has none, else the logical OR
of the masks; Concatenate's is Keras's too (the masks concatenated along the axis, inputs
without a mask counting as all True, then reduced with any over the last axis). The forward of
Add, Subtract and Average ignores masks, as Keras's does; Multiply, Maximum and Minimum merge
only the inputs whose mask marks a step, as Keras's do (``ops.merge``'s ``masks``: a masked
input counts as 1 in a product and is skipped by a maximum; a step no input marks is 0 for
Multiply when every input has a mask, inputs[0] for Maximum / Minimum).
"""

from __future__ import annotations

from .. import ops
from ..ops._checks import as_int
from .base import Layer


def _shape_list(layer: Layer, input_shape) -> list[tuple]:
    """``input_shape`` as a list of shapes (tuples without the batch axis); Keras's message when
    the layer is given a single shape."""
    where = type(layer).__name__
    if not isinstance(input_shape, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(
            f"A `{where}` layer should be called on a list of inputs. Received: input_shape={input_shape!r} "
            "(not a list of shapes)"
        )
    if len(input_shape) < 1:
        raise ValueError(f"A `{where}` layer should be called on a list of at least 1 input. Received 0 inputs.")
    return [tuple(s) for s in input_shape]


_MASKED = ("multiply", "maximum", "minimum")  # the modes whose forward Keras masks


def _batch(shape: tuple) -> tuple:
    return (None, *shape)


class _Merge(Layer):
    """The element-wise merges: ``ops.merge(inputs, mode)`` forward, ``ops.merge_backward`` back."""

    multi_input = True
    supports_masking = True
    backward_reads_output = False

    @property
    def backward_reads_input(self) -> bool:  # type: ignore[override]
        return self.mode not in ("add", "subtract", "average")

    mode = "add"

    def build(self, input_shape):
        shapes = _shape_list(self, input_shape)
        first = shapes[0]
        for s in shapes[1:]:
            if len(s) != len(first) or any(a is not None and b is not None and a != b for a, b in zip(first, s)):
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r}: inputs have incompatible shapes. Received shapes "
                    f"{_batch(first)} and {_batch(s)} (sinapse merges inputs of one shape: no broadcasting)"
                )

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(self, input_shape)
        # a dimension unknown in one input may be known in another
        return tuple(next((s[d] for s in shapes if s[d] is not None), None) for d in range(len(shapes[0])))

    def forward(self, inputs, training=False, mask=None):
        xs = list(inputs)
        # Keras's Multiply, Maximum and Minimum merge only the unmasked steps (ops.merge's masks);
        # Add, Subtract and Average ignore masks, as Keras's do
        masked = mask is not None and self.mode in _MASKED and any(m is not None for m in mask)
        self._xs, self._masks = xs, (list(mask) if masked else None)
        return ops.merge(xs, self.mode, masks=self._masks, out=self.buffer("y", tuple(xs[0].shape)))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        shape = tuple(dy.shape)
        out = [self.buffer(f"dx{k}", shape) for k in range(len(self._xs))]
        return ops.merge_backward(dy, self._xs, self.mode, masks=self._masks, out=out)

    def compute_mask(self, inputs, masks):
        """Keras's Merge.compute_mask: None when any input has no mask, else their logical OR."""
        if masks is None or any(m is None for m in masks):
            return None
        out = masks[0]
        for m in masks[1:]:
            out = out | m
        return out


class Add(_Merge):
    """``inputs[0] + inputs[1] + ...`` for a list of inputs of one shape (keras.layers.Add)."""

    mode = "add"


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` for exactly 2 inputs of one shape (keras.layers.Subtract)."""

    mode = "subtract"

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f"A `Subtract` layer should be called on exactly 2 inputs. Received: input_shape={input_shape!r}"
            )


class Multiply(_Merge):
    """The element-wise product of a list of inputs of one shape (keras.layers.Multiply)."""

    mode = "multiply"


class Average(_Merge):
    """The element-wise mean of a list of inputs of one shape (keras.layers.Average)."""

    mode = "average"


class Maximum(_Merge):
    """The element-wise maximum of a list of inputs (keras.layers.Maximum); the gradient goes to
    the first input attaining it (ops.merge_backward)."""

    mode = "maximum"


class Minimum(_Merge):
    """The element-wise minimum of a list of inputs (keras.layers.Minimum); the gradient goes to
    the first input attaining it (ops.merge_backward)."""

    mode = "minimum"


class Concatenate(Layer):
    """A list of inputs joined along ``axis`` (keras.layers.Concatenate; axis counts the batch
    axis, as in Keras: -1 is the last axis, 1 the first after the batch). Inputs have one rank
    and equal extents off the axis. The batch axis itself (0) is refused."""

    backward_reads_input = False  # the backward splits dy by the inputs' shapes
    backward_reads_output = False

    multi_input = True
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = as_int("Concatenate", "axis", axis, lo=-(2**31), hi=2**31 - 1, what="an int", bounds="")
        if self.axis == 0:
            raise self.arg_error("`axis` must not be 0: sinapse does not concatenate along the batch axis")

    def _axis(self, rank: int) -> int:
        """The concatenation axis in shapes without the batch axis (rank: theirs)."""
        ax = self.axis - 1 if self.axis > 0 else self.axis + rank
        if not 0 <= ax < rank:
            raise self.error(
                f"`axis`={self.axis} is not an axis of inputs of rank {rank + 1} other than the batch axis"
            )
        return ax

    def build(self, input_shape):
        shapes = _shape_list(self, input_shape)
        ax = self._axis(len(shapes[0]))
        for s in shapes[1:]:
            off = len(s) != len(shapes[0]) or any(
                a is not None and b is not None and a != b for d, (a, b) in enumerate(zip(shapes[0], s)) if d != ax
            )
            if off:
                raise ValueError(
                    "A `Concatenate` layer requires inputs with matching shapes except for the concatenation "
                    f"axis. Received: input_shape={[_batch(t) for t in shapes]}"
                )

    def compute_output_shape(self, input_shape):
        shapes = _shape_list(self, input_shape)
        ax = self._axis(len(shapes[0]))
        out = list(shapes[0])
        out[ax] = None if any(s[ax] is None for s in shapes) else sum(s[ax] for s in shapes)
        return tuple(out)

    def forward(self, inputs, training=False, mask=None):
        xs = list(inputs)
        ax = self._axis(xs[0].ndim - 1) + 1
        shape = list(xs[0].shape)
        shape[ax] = sum(int(x.shape[ax]) for x in xs)
        self._shapes, self._ax = [tuple(x.shape) for x in xs], ax
        return ops.concatenate(xs, ax, out=self.buffer("y", tuple(shape)))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        out = [self.buffer(f"dx{k}", s) for k, s in enumerate(self._shapes)]
        return ops.concatenate_backward(dy, self._shapes, self._ax, out=out)

    def compute_mask(self, inputs, masks):
        """Keras's Concatenate.compute_mask: None when no input has a mask; else each input's mask
        (all True without one) broadcast over the input's trailing axes, concatenated along the
        axis and reduced with any over the last axis: for (N, T, D) inputs and (N, T) masks, the
        OR of the masks on the last axis, the masks concatenated on the time axis."""
        if masks is None or all(m is None for m in masks):
            return None
        xp = _array_module(inputs[0])
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                full.append(xp.ones(x.shape, bool))
            elif m.ndim < x.ndim:
                full.append(xp.broadcast_to(m.reshape(m.shape + (1,) * (x.ndim - m.ndim)), x.shape))
            else:
                full.append(m)
        return xp.concatenate(full, axis=self._axis(inputs[0].ndim - 1) + 1).any(axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def _array_module(x):
    """NumPy, or CuPy for a CUDA array (masks live where the data does)."""
    if hasattr(x, "__cuda_array_interface__"):
        from ..devices import import_cupy

        return import_cupy()
    import numpy

    return numpy


def add(inputs, **kwargs):
    """Functional form of Add: ``Add(**kwargs)(inputs)`` (keras.layers.add)."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of Subtract: ``Subtract(**kwargs)(inputs)`` (keras.layers.subtract)."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of Multiply: ``Multiply(**kwargs)(inputs)`` (keras.layers.multiply)."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of Average: ``Average(**kwargs)(inputs)`` (keras.layers.average)."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of Maximum: ``Maximum(**kwargs)(inputs)`` (keras.layers.maximum)."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of Minimum: ``Minimum(**kwargs)(inputs)`` (keras.layers.minimum)."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of Concatenate: ``Concatenate(axis=axis, **kwargs)(inputs)`` (keras.layers.concatenate)."""
    return Concatenate(axis=axis, **kwargs)(inputs)
