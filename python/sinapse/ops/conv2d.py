"""sinapse.ops.conv2d / conv2d_backward: 2-D convolution, NHWC input, HWIO weights.

``padding`` is "valid", "same" (Keras/TensorFlow: output = ceil(in / stride), total padding
max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), the extra row/column at the
bottom/right) or explicit ``(top, bottom, left, right)``. ``strides`` and ``dilation_rate``
(Keras's names, as the Conv2D layer's) are ints or pairs. The forward can fuse the bias and an activation (linear, relu,
sigmoid, tanh); the backward takes dy of the pre-activation output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .. import _cpu
from ..registry import resolve_variant
from . import _device
from ._checks import (
    CPU,
    Array,
    as_bool,
    as_pair,
    backend,
    check_elements,
    check_extent,
    check_float32,
    check_out,
    check_outs,
    check_shape,
    inspect,
    inspect_outs,
    out_tuple,
    present,
)
from ._plan import descriptor, preparable
from .gemm import ACTIVATIONS


class ConvGeometry(NamedTuple):
    """A convolution's geometry, all Python ints; the fields (and their order) of
    csrc/common/conv_args.h's ConvArgs, to which the bindings take it as a sequence."""

    N: int  # input: images, rows, columns, channels
    H: int
    W: int
    C: int
    KH: int  # kernel rows, columns, output channels (weights KH x KW x C x K)
    KW: int
    K: int
    SH: int  # strides
    SW: int
    DH: int  # dilations
    DW: int
    pad_top: int  # zero padding before the first row / column
    pad_left: int
    OH: int  # output rows, columns
    OW: int

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """The output's shape, (N, OH, OW, K)."""
        return (self.N, self.OH, self.OW, self.K)


def geometry(op, x_shape, w_shape, strides, padding, dilation_rate) -> ConvGeometry:
    """The :class:`ConvGeometry` of a convolution of an NHWC ``x_shape`` by HWIO ``w_shape``.

    Every derived extent (dilated kernel, padded input) is at most _checks.MAX_EXTENT and
    the output below _checks.MAX_ELEMENTS, checked here before anything is allocated: a
    ValueError names the argument and the size it implies (so the C++ int64 arithmetic
    and the kernels' scratch sizes cannot overflow).

    Raises:
        TypeError: non-int strides, dilation_rate or padding entries.
        ValueError: shapes not 4-D or channels that differ; a bad padding, stride or dilation; a kernel larger
            than the padded input; sizes beyond the bounds above.
    """
    if len(x_shape) != 4:
        raise ValueError(f"{op}: `x` must be 4-D (N, H, W, C), got shape {tuple(x_shape)}.")
    if len(w_shape) != 4:
        raise ValueError(f"{op}: `w` must be 4-D (KH, KW, C, K) (HWIO), got shape {tuple(w_shape)}.")
    n, h, w, c = x_shape
    kh, kw, wc, k = w_shape
    if wc != c:
        raise ValueError(
            f"{op}: `x` has {c} channels but `w` expects {wc} (x.shape={tuple(x_shape)}, "
            f"w.shape={tuple(w_shape)}; weights are HWIO)."
        )
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: `w`: the kernel must be at least 1x1, got w.shape={tuple(w_shape)}.")
    sh, sw = as_pair(op, "strides", strides)
    dh, dw = as_pair(op, "dilation_rate", dilation_rate)
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1  # the dilated kernel's extent (Python ints: no overflow)
    check_extent(
        op,
        "dilation_rate",
        dilation_rate,
        max(ekh, ekw),
        f"a dilated {kh}x{kw} kernel spanning {ekh}x{ekw} pixels, an extent",
    )
    if isinstance(padding, str) and padding.lower() == "same":
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        top = max((oh - 1) * sh + ekh - h, 0) // 2
        left = max((ow - 1) * sw + ekw - w, 0) // 2
        check_extent(
            op,
            "dilation_rate",
            dilation_rate,
            max((oh - 1) * sh + ekh, (ow - 1) * sw + ekw),
            "(with padding='same') a padded input extent",
        )
    else:
        if isinstance(padding, str) and padding.lower() == "valid":
            top = bottom = left = right = 0
        elif isinstance(padding, (tuple, list)) and len(padding) == 4:
            if not all(_is_int(p) for p in padding):
                raise TypeError(f"{op}: `padding` (top, bottom, left, right) must hold ints, got {padding!r}.")
            top, bottom, left, right = (int(p) for p in padding)
            if min(padding) < 0:
                raise ValueError(f"{op}: `padding` must not be negative, got {tuple(padding)}.")
        else:
            raise ValueError(f"{op}: `padding` must be 'valid', 'same' or (top, bottom, left, right), got {padding!r}.")
        check_extent(op, "padding", padding, max(h + top + bottom, w + left + right), "a padded input extent")
        if h + top + bottom < ekh or w + left + right < ekw:
            raise ValueError(
                f"{op}: the kernel ({ekh}x{ekw} with dilation) is larger than the padded input "
                f"({h + top + bottom}x{w + left + right}); use a smaller `dilation_rate` or kernel (`w`), "
                f"or more `padding`."
            )
        oh, ow = (h + top + bottom - ekh) // sh + 1, (w + left + right - ekw) // sw + 1
    check_elements(op, "x", (n, oh, ow, k), "an output")
    # A stride with a single output row/column, or a dilation of a 1-wide kernel, changes
    # nothing: pass 1, so the kernels' scratch (rows of tiles of strided windows) stays the
    # size of the input however large the argument.
    sh, sw, dh, dw = (1 if oh == 1 else sh), (1 if ow == 1 else sw), (1 if kh == 1 else dh), (1 if kw == 1 else dw)
    return ConvGeometry(n, h, w, c, kh, kw, k, sh, sw, dh, dw, top, left, oh, ow)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def conv2d_variant() -> str:
    """The variant conv2d runs now (variant= not given): $SINAPSE_CONV2D or the default.

    Shapes: none (it reads the environment); returns "naive", "im2col", "direct", "winograd"
    or "tuned".

    Raises:
        ValueError: $SINAPSE_CONV2D names no conv2d variant.
    """
    return resolve_variant("conv2d", None)


_PASSES = ("forward", "dx", "dw")


def conv2d_algorithm(x_shape, w_shape, *, strides=1, padding="valid", dilation_rate=1, pass_="forward") -> str:
    """The algorithm the CPU's tuned variant runs for one pass of a layer: "im2col", "direct"
    or "winograd", chosen by the cost model of csrc/cpu/conv2d_select.cpp (docs/kernels/conv2d.md).

    Shapes: x_shape (N, H, W, C), w_shape (KH, KW, C, K) (HWIO), as ints; pass_ is "forward",
    "dx" or "dw". Raises ValueError for a bad geometry (as conv2d) or an unknown ``pass_``.
    """
    if pass_ not in _PASSES:
        raise ValueError(f"conv2d_algorithm: `pass_`={pass_!r}; expected one of {', '.join(_PASSES)}")
    g = geometry("conv2d_algorithm", x_shape, w_shape, strides, padding, dilation_rate)
    return _cpu.conv2d_select(g, pass_)


def _check_variant(op, variant_arg, variant, device, g, xi, wi) -> None:
    """A variant the device lacks (CUDA: naive, tuned only), or direct / winograd on a layer
    outside their domain: a ValueError naming the op, the variant and the shapes."""
    resolve_variant("conv2d", variant_arg, op, device)
    if device != CPU or variant not in ("direct", "winograd"):
        return
    why = _cpu.conv2d_variant_refusal(g, variant)
    if why:
        raise ValueError(
            f"{op}: variant={variant!r} cannot run this layer: {why} (x.shape={tuple(xi.shape)}, "
            f"w.shape={tuple(wi.shape)}, strides={(g.SH, g.SW)}, dilation_rate={(g.DH, g.DW)}); "
            f"use variant='tuned' or 'im2col'."
        )


def _describe(
    x, w, bias=None, *, strides=1, padding="valid", dilation_rate=1, activation=None, out=None, variant=None, simd=None
):
    """conv2d's descriptor step: every check, the geometry and the kernel's codes (sinapse.ops._plan)."""
    op = "conv2d"
    variant_arg, variant = variant, resolve_variant("conv2d", variant)  # validated on every backend
    if not (activation is None or isinstance(activation, str)) or activation not in ACTIVATIONS:
        raise ValueError(
            f"{op}: unknown activation {activation!r} for `activation`; expected None, 'linear', "
            f"'relu', 'sigmoid' or 'tanh'."
        )
    xi, wi = inspect(op, "x", x), inspect(op, "w", w)
    bi = inspect(op, "bias", bias) if bias is not None else None
    oi = inspect(op, "out", out) if out is not None else None
    arrays = {"x": xi, "w": wi, **({"bias": bi} if bi else {})}
    device = backend(op, {**arrays, **({"out": oi} if oi else {})})
    check_float32(op, "x", xi)
    check_float32(op, "w", wi)
    g = geometry(op, xi.shape, wi.shape, strides, padding, dilation_rate)
    _check_variant(op, variant_arg, variant, device, g, xi, wi)
    if bi is not None:
        check_float32(op, "bias", bi, ndim=1)
        check_shape(op, "bias", bi, (g.K,), "one value per output channel")
    out_shape = g.out_shape
    if oi is not None:
        check_out(op, oi, out_shape, arrays)
    # the descriptor fixes the variant ($SINAPSE_CONV2D); the SIMD path only when simd= is given
    simd = _device.simd(device, simd, op) if 0 not in out_shape else None  # an empty output runs nothing
    params = (g, ACTIVATIONS[activation], variant, simd)
    return descriptor(op, device, {"x": xi, "w": wi, "bias": bi}, params, outputs={"out": out_shape})


def _launch(desc, x, w, bias, out):
    g, act, variant, simd = desc.params
    device = desc.device
    out = desc.output("out", out)
    if out.size == 0:
        return out
    _device.kernels(device).conv2d_forward(
        g,
        x,
        w,
        bias,
        act,
        out,
        variant,
        simd,
        _device.launch_arg(device),
    )
    return out


@preparable(_describe, _launch)
def conv2d(
    x: Array,
    w: Array,
    bias: Array | None = None,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str | tuple[int, int, int, int] = "valid",
    dilation_rate: int | tuple[int, int] = 1,
    activation: str | None = None,
    out: Array | None = None,
    variant: str | None = None,
    simd: str | None = None,
) -> Array:
    """``act(conv(x, w) + bias)``: x (N, H, W, C), w (KH, KW, C, K) -> (N, OH, OW, K).

    variant (the default: $SINAPSE_CONV2D, else "tuned"): on the CPU "naive" (the definition
    as loops, one thread: the coursework baseline), "im2col" (im2col + the tuned GEMM; a 1x1
    stride-1 unpadded layer is one GEMM), "direct" (the direct kernels: few input channels),
    "winograd" (Winograd F(4x4, 3x3), F(3x3, 4x4) for dw: 3x3 kernels, stride 1, dilation 1)
    or "tuned" (one of the three per layer and pass, by the cost
    model: :func:`conv2d_algorithm`). On CUDA "naive" runs the direct one-thread-per-output
    kernels and "tuned" runs a pointwise convolution as one tuned GEMM and anything else on
    the direct kernels; the CPU-only variants are a ValueError there.

    strides, dilation_rate: ints or pairs from 1 to 2**31 - 1; padding ints >= 0 (TypeError for
    non-ints). Sizes they imply (dilated kernel, padded input) above 2**31 - 1 are a ValueError
    naming the argument. Aliasing: ``out`` must share no memory with ``x``, ``w`` or ``bias``.

    Shapes: x float32 (N, H, W, C), w float32 (KH, KW, C, K) (HWIO), bias (K,) or None;
    returns float32 (N, OH, OW, K). The padding rule: Keras's Conv2D (module docstring).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int strides,
            dilation_rate or padding entries.
        ValueError: wrong ranks or channels; a bad padding, stride or dilation; a kernel larger than the
            padded input; sizes beyond 2**31 - 1; an unknown ``activation`` or ``variant``; a variant
            the device lacks or ("direct", "winograd") a layer outside its domain; a bad ``out``
            (shape, read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe(
        x,
        w,
        bias,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        activation=activation,
        out=out,
        variant=variant,
        simd=simd,
    )
    return _launch(desc, x, w, bias, out)


def _describe_backward(
    dy,
    x,
    w,
    *,
    strides=1,
    padding="valid",
    dilation_rate=1,
    need_dx=True,
    need_dw=True,
    need_db=True,
    out=None,
    variant=None,
    simd=None,
):
    """conv2d_backward's descriptor step (sinapse.ops._plan)."""
    op = "conv2d_backward"
    need_dx, need_dw, need_db = (
        as_bool(op, n, v) for n, v in (("need_dx", need_dx), ("need_dw", need_dw), ("need_db", need_db))
    )
    variant_arg, variant = variant, resolve_variant("conv2d", variant, op)
    gi, xi, wi = inspect(op, "dy", dy), inspect(op, "x", x), inspect(op, "w", w)
    outs = inspect_outs(op, out, _RESULTS)
    device = backend(op, {"dy": gi, "x": xi, "w": wi, **present(outs)})
    for name, info in (("dy", gi), ("x", xi), ("w", wi)):
        check_float32(op, name, info)
    g = geometry(op, xi.shape, wi.shape, strides, padding, dilation_rate)
    _check_variant(op, variant_arg, variant, device, g, xi, wi)
    check_shape(op, "dy", gi, g.out_shape, "the forward's output shape")
    shapes = (tuple(xi.shape) if need_dx else None, tuple(wi.shape) if need_dw else None, (g.K,) if need_db else None)
    inputs = {"dy": gi, "x": xi, "w": wi}
    check_outs(op, outs, dict(zip(outs, shapes)), inputs)
    simd = _device.simd(device, simd, op)
    params = (g, need_dx, need_dw, need_db, variant, simd, xi.shape, wi.shape)
    return descriptor(op, device, inputs, params, outputs=dict(zip(_RESULTS, shapes)), out_tuple=_RESULTS)


_RESULTS = ("dx", "dw", "db")  # conv2d_backward's results: the order of its out=(...) tuple


def _launch_backward(desc, dy, x, w, dx=None, dw=None, db=None):
    g, need_dx, need_dw, need_db, variant, simd, x_shape, w_shape = desc.params
    device = desc.device
    dx, dw, db = desc.output("dx", dx), desc.output("dw", dw), desc.output("db", db)  # None: not needed
    launch = _device.launch_arg(device)
    _device.kernels(device).conv2d_backward(g, x, w, dy, dx, dw, db, variant, simd, launch)
    return dx, dw, db


@preparable(_describe_backward, _launch_backward, out_tuple=_RESULTS)
def conv2d_backward(
    dy: Array,
    x: Array,
    w: Array,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str | tuple[int, int, int, int] = "valid",
    dilation_rate: int | tuple[int, int] = 1,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
    simd: str | None = None,
) -> tuple[Array | None, Array | None, Array | None]:
    """Returns ``(dx, dw, db)`` (None for the ones not needed), given dy of shape (N, OH, OW, K):
    dx (N, H, W, C), dw (KH, KW, C, K), db (K,), float32.

    out: None, or a tuple ``(dx, dw, db)`` of preallocated float32 arrays or None (allocated),
    the NumPy ufunc convention; an entry for a result not needed must be None. Each given one
    must have its result's shape and share no memory with dy, x, w or another result
    (TypeError/ValueError naming ``out[i]``). variant: as for conv2d.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int geometry
            arguments.
        ValueError: wrong ranks or channels; dy not the forward's output shape; a bad geometry (as conv2d); an
            ``out`` entry for a result not needed, or a bad one; an unknown ``variant``, or one the
            device or layer cannot run (as conv2d).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe_backward(
        dy,
        x,
        w,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        need_dx=need_dx,
        need_dw=need_dw,
        need_db=need_db,
        out=out,
        variant=variant,
        simd=simd,
    )
    return _launch_backward(desc, dy, x, w, *out_tuple(desc.op, out, _RESULTS))


# The transposed convolution is this family's too: it runs conv2d's kernels (its forward on the dx
# kernels), in ops/_conv2d_transpose.py; its public home is this module (as NumPy's set_module).
from ._conv2d_transpose import conv2d_transpose, conv2d_transpose_backward  # noqa: E402

for _op in (conv2d_transpose, conv2d_transpose_backward):
    _op.__module__ = __name__
