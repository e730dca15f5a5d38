"""Window geometry of conv2d and pooling, computed here from the op's own arguments
(``strides``, ``padding``, ``dilation_rate``, ``pool_size``) by Keras's documented rule,
independently of ``sinapse.ops`` (which computes the same numbers for the kernels): a
reference that received the ops' padding could not catch a wrong "same" rule.

Keras's rule (TensorFlow's "Notes on padding",
https://www.tensorflow.org/api_docs/python/tf/nn#notes_on_padding_2, which Keras 3 follows
in ``keras.src.ops.operation_utils.compute_conv_output_shape`` and its backends), per
spatial axis with input size ``n``, kernel ``k``, stride ``s``, dilation ``d`` and dilated
extent ``e = (k - 1) * d + 1``:

- "valid": no padding, ``out = floor((n - e) / s) + 1`` (an error when ``e > n``);
- "same": ``out = ceil(n / s)``, total padding ``max((out - 1) * s + e - n, 0)``, of which
  ``total // 2`` goes before (top/left) and the rest after (bottom/right).

sinapse also accepts explicit ``(top, bottom, left, right)`` padding for conv2d.
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple


class Axis(NamedTuple):
    """One spatial axis of a windowed op: every length in pixels."""

    size: int  # input size n
    kernel: int  # kernel (pool) size k
    stride: int
    dilation: int
    before: int  # padding before (top or left)
    after: int  # padding after (bottom or right)
    out: int  # output size


def pair(fn: str, name: str, value) -> tuple[int, int]:
    """An int or a pair of ints, as a pair; ValueError naming ``fn`` and ``name`` otherwise."""
    try:
        both = (
            (operator.index(value),) * 2 if not isinstance(value, (tuple, list)) else tuple(map(operator.index, value))
        )
    except TypeError:
        both = ()
    if len(both) != 2 or min(both) < 1:
        raise ValueError(f"reference.{fn}: `{name}` must be a positive int or a pair of them, got {value!r}")
    return both


def axis(fn: str, size: int, kernel: int, stride: int, dilation: int, padding) -> Axis:
    """The geometry of one axis; ``padding`` "valid", "same" or an explicit (before, after)."""
    extent = (kernel - 1) * dilation + 1
    if isinstance(padding, str) and padding.lower() == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + extent - size, 0)
        return Axis(size, kernel, stride, dilation, total // 2, total - total // 2, out)
    if isinstance(padding, str) and padding.lower() == "valid":
        before = after = 0
    elif isinstance(padding, tuple) and len(padding) == 2:
        before, after = (int(p) for p in padding)
    else:
        raise ValueError(f"reference.{fn}: `padding` must be 'valid' or 'same', got {padding!r}")
    if size + before + after < extent:
        raise ValueError(
            f"reference.{fn}: the window ({extent} pixels) is larger than the padded input ({size + before + after})"
        )
    return Axis(size, kernel, stride, dilation, before, after, (size + before + after - extent) // stride + 1)


def axes(fn: str, hw: tuple[int, int], kernel, strides, padding, dilation_rate=1) -> tuple[Axis, Axis]:
    """(rows, cols) geometry of an image of spatial size ``hw``; ``padding`` may also be
    conv2d's explicit (top, bottom, left, right)."""
    kh, kw = pair(fn, "kernel", kernel)
    sh, sw = pair(fn, "strides", strides)
    dh, dw = pair(fn, "dilation_rate", dilation_rate)
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        rows_pad, cols_pad = (padding[0], padding[1]), (padding[2], padding[3])
    else:
        rows_pad = cols_pad = padding
    return axis(fn, hw[0], kh, sh, dh, rows_pad), axis(fn, hw[1], kw, sw, dw, cols_pad)
