"""sinapse.ops max_pool2d / avg_pool2d and their backward, over NHWC images.

Keras semantics: ``pool_size`` and ``strides`` are ints or pairs (strides default to the
pool size); padding "valid" (windows inside the image) or "same" (output = ceil(in /
stride), total padding max((out - 1) * stride + pool - in, 0), the extra row/column at the
bottom/right). Padding never wins a max, and an average divides by the number of real
pixels in its window. Max ties go to the first pixel in row-major window order, on every
backend; the backward gathers per input pixel, so it is deterministic.

pool_size and strides: ints from 1 to 2**31 - 1 (TypeError for non-ints, ValueError out of
range). Aliasing: ``out`` must share no memory with ``x`` (nor, in the backward, ``dy``).

variant: "naive" (the definition as loops, one thread; on CUDA the backward tests every
window of the image) or "tuned" (the default, or $SINAPSE_POOLING); max pooling gives the
same bits in both, averages agree within an ulp. The descriptor step resolves it, so a plan
keeps the variant it was prepared with. docs/kernels/pooling.md tells the steps from one to the other.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..registry import resolve_variant
from . import _device, _elementwise
from ._checks import (
    Array,
    as_pair,
    backend,
    check_elements,
    check_extent,
    check_float32,
    check_out,
    check_shape,
    inspect,
)
from ._plan import descriptor, preparable


class PoolGeometry(NamedTuple):
    """A pooling's geometry, all Python ints; the fields (and their order) of
    csrc/common/pool_args.h's PoolArgs, to which the bindings take it as a sequence."""

    N: int  # input: images, rows, columns, channels
    H: int
    W: int
    C: int
    KH: int  # window rows, columns
    KW: int
    SH: int  # strides
    SW: int
    pad_top: int  # "same": the extra row/column of padding goes bottom/right
    pad_left: int
    OH: int  # output rows, columns
    OW: int

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """The output's shape, (N, OH, OW, C)."""
        return (self.N, self.OH, self.OW, self.C)


def geometry(op: str, shape, pool_size, strides, padding) -> PoolGeometry:
    """The :class:`PoolGeometry` of a pooling over an NHWC input ``shape`` (N, H, W, C), by
    Keras's padding rule (module docstring).

    Raises:
        TypeError: non-int pool_size or strides.
        ValueError: a shape not 4-D; pool_size/strides outside [1, 2**31 - 1]; a bad padding; a window larger
            than the input with 'valid'; an output beyond _checks.MAX_ELEMENTS.
    """
    if len(shape) != 4:
        raise ValueError(f"{op}: `x` must be 4-D (N, H, W, C), got shape {tuple(shape)}.")
    n, h, w, c = shape
    kh, kw = as_pair(op, "pool_size", pool_size)
    sh, sw = as_pair(op, "strides", pool_size if strides is None else strides)
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode == "valid":
        if h < kh or w < kw:
            raise ValueError(f"{op}: `pool_size` {(kh, kw)} is larger than the input's {(h, w)} with padding='valid'.")
        oh, ow, top, left = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0
    elif mode == "same":
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        top = max((oh - 1) * sh + kh - h, 0) // 2
        left = max((ow - 1) * sw + kw - w, 0) // 2
        check_extent(
            op,
            "pool_size",
            pool_size,
            max((oh - 1) * sh + kh, (ow - 1) * sw + kw),
            "(with padding='same') a padded input extent",
        )
    else:
        raise ValueError(f"{op}: `padding` must be 'valid' or 'same', got {padding!r}.")
    check_elements(op, "x", (n, oh, ow, c), "an output")
    return PoolGeometry(n, h, w, c, kh, kw, sh, sw, top, left, oh, ow)


def _describe_forward(op, kind, x, pool_size, strides, padding, out, variant):
    variant = resolve_variant("pooling", variant, op)
    xi = inspect(op, "x", x)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"x": xi, **({"out": oi} if oi else {})})
    check_float32(op, "x", xi)
    g = geometry(op, xi.shape, pool_size, strides, padding)
    out_shape = g.out_shape
    if oi is not None:
        check_out(op, oi, out_shape, {"x": xi})
    return descriptor(op, device, {"x": xi}, (f"{kind}_pool2d_forward", g, variant), outputs={"out": out_shape})


def _launch_forward(desc, x, out):
    kernel, g, variant = desc.params
    out = desc.output("out", out)
    device = desc.device
    getattr(_device.kernels(device), kernel)(g, x, out, variant, _device.launch_arg(device))
    return out


def _describe_backward(op, kind, dy, x, pool_size, strides, padding, out, variant):
    variant = resolve_variant("pooling", variant, op)
    device, infos, _ = _elementwise.validate(op, {"x": x}, out, others={"dy": dy})
    g = geometry(op, infos["x"].shape, pool_size, strides, padding)
    check_float32(op, "dy", infos["dy"])
    check_shape(op, "dy", infos["dy"], g.out_shape, "the forward's output shape")
    return descriptor(
        op, device, {"dy": infos["dy"], "x": infos["x"]}, (kind, g, variant), outputs={"out": infos["x"].shape}
    )


def _launch_backward(desc, dy, x, out):
    kind, g, variant = desc.params
    out = desc.output("out", out)
    device = desc.device
    k, launch = _device.kernels(device), _device.launch_arg(device)
    if kind == "max":
        k.max_pool2d_backward(g, x, dy, out, variant, launch)
    else:
        k.avg_pool2d_backward(g, dy, out, variant, launch)
    return out


def _ops(name, kind):
    """The describe/launch pair of one pooling op, with the public op's signature."""

    def describe_forward(x, pool_size=(2, 2), strides=None, padding="valid", *, out=None, variant=None):
        return _describe_forward(name, kind, x, pool_size, strides, padding, out, variant)

    def describe_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid", *, out=None, variant=None):
        return _describe_backward(f"{name}_backward", kind, dy, x, pool_size, strides, padding, out, variant)

    return describe_forward, describe_backward


_max_fwd, _max_bwd = _ops("max_pool2d", "max")
_avg_fwd, _avg_bwd = _ops("avg_pool2d", "avg")


@preparable(_max_fwd, _launch_forward)
def max_pool2d(
    x: Array,
    pool_size: int | tuple[int, int] = (2, 2),
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    *,
    out: Array | None = None,
    variant: str | None = None,
) -> Array:
    """Max over each window of NHWC ``x``: shape (N, OH, OW, C).

    x float32 (N, H, W, C); returns float32 (N, OH, OW, C). Padding rule and defaults:
    Keras's MaxPooling2D (module docstring).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            pool_size or strides.
        ValueError: x not 4-D or non-contiguous; pool_size/strides outside [1, 2**31 - 1]; a bad padding; a
            window larger than the input with 'valid'; a bad ``out`` (shape, read-only, non-contiguous,
            forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_forward(_max_fwd(x, pool_size, strides, padding, out=out, variant=variant), x, out)


@preparable(_avg_fwd, _launch_forward)
def avg_pool2d(
    x: Array,
    pool_size: int | tuple[int, int] = (2, 2),
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    *,
    out: Array | None = None,
    variant: str | None = None,
) -> Array:
    """Mean over each window's real pixels of NHWC ``x``: shape (N, OH, OW, C).

    x float32 (N, H, W, C); returns float32 (N, OH, OW, C). Padding rule and defaults:
    Keras's AveragePooling2D (module docstring).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            pool_size or strides.
        ValueError: x not 4-D or non-contiguous; pool_size/strides outside [1, 2**31 - 1]; a bad padding; a
            window larger than the input with 'valid'; a bad ``out`` (shape, read-only, non-contiguous,
            forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_forward(_avg_fwd(x, pool_size, strides, padding, out=out, variant=variant), x, out)


@preparable(_max_bwd, _launch_backward)
def max_pool2d_backward(
    dy: Array,
    x: Array,
    pool_size: int | tuple[int, int] = (2, 2),
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    *,
    out: Array | None = None,
    variant: str | None = None,
) -> Array:
    """Gradient with respect to x: each window's dy goes to its (first) maximum.

    Shapes: dy float32 (N, OH, OW, C), x float32 (N, H, W, C); returns the shape of x.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            pool_size or strides.
        ValueError: dy not the forward's output shape; a bad geometry (as max_pool2d); a bad ``out`` (shape,
            read-only, non-contiguous, forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_backward(_max_bwd(dy, x, pool_size, strides, padding, out=out, variant=variant), dy, x, out)


@preparable(_avg_bwd, _launch_backward)
def avg_pool2d_backward(
    dy: Array,
    x: Array,
    pool_size: int | tuple[int, int] = (2, 2),
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    *,
    out: Array | None = None,
    variant: str | None = None,
) -> Array:
    """Gradient with respect to x (x gives the shape): dy / count spread over each window.

    Shapes: dy float32 (N, OH, OW, C), x float32 (N, H, W, C) (read for its shape);
    returns the shape of x.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            pool_size or strides.
        ValueError: dy not the forward's output shape; a bad geometry (as avg_pool2d); a bad ``out`` (shape,
            read-only, non-contiguous, forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_backward(_avg_bwd(dy, x, pool_size, strides, padding, out=out, variant=variant), dy, x, out)
