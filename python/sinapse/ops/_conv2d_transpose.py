"""sinapse.ops.conv2d_transpose / conv2d_transpose_backward: the transposed 2-D convolution
(Keras's Conv2DTranspose, PyTorch's ConvTranspose2d), NHWC input, kernel (KH, KW, filters,
in_channels) as Keras stores it.

No kernels of its own: a transposed convolution is a convolution's input gradient. Take the
convolution ``conv2d(y, w)`` whose input ``y`` has the transposed convolution's output shape
(N, OH, OW, filters) and whose output has x's shape (N, H, W, in_channels), with the kernel
read as HWIO (KH, KW, filters, in_channels) — exactly Keras's Conv2DTranspose layout. Then

- forward: ``conv2d_transpose(x, w)`` is that convolution's dx given dy = x (conv2d's dx
  kernels, then bias_add);
- dx: the convolution's forward of dy (conv2d's forward kernels);
- dw: the convolution's weight gradient with the roles swapped (its x = dy, its dy = x);
- db: bias_backward(dy).

The output size is Keras's (``keras.src.utils.conv_utils.deconv_output_length``) and the
cropping its JAX backend's (``_convert_conv_transpose_padding_args_from_keras_to_jax``), per
spatial axis with input size n, stride s, dilated kernel extent e, output_padding p:
"valid": ``(n - 1) * s + e + p`` (p None: ``n * s + max(e - s, 0)``); "same": ``n * s``
(p None) or ``(n - 1) * s + e % 2 + p``. In the convolution view the padding before is
``e - 1 - lo`` with lo the JAX padding before the stride-dilated input
(reference/conv2d_transpose.py writes the rule out); the padding after is whatever keeps
conv2d's output at n rows, which ``p < s`` makes possible (the last p rows of a "valid"
output are read by no window: the convolution's floor leaves them out, as its dx zeroes them).
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import registry
from . import _device
from ._checks import (
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
from .conv2d import ConvGeometry, _check_variant, _is_int, geometry
from .gemm import ACTIVATIONS


def _output_padding(op, value, strides) -> tuple[int | None, int | None]:
    """None, an int or a pair of ints, each from 0 to stride - 1 (Keras's TF backend and PyTorch
    refuse larger ones: the extra rows would be read by no window of any input pixel)."""
    if value is None:
        return (None, None)
    pair = (value, value) if _is_int(value) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(_is_int(v) for v in pair):
        raise TypeError(f"{op}: `output_padding` must be None, an int or a pair of ints, got {value!r}.")
    if not all(0 <= p < s for p, s in zip(pair, strides)):
        raise ValueError(
            f"{op}: `output_padding`={value!r} must be at least 0 and less than `strides`={tuple(strides)} "
            f"on each axis."
        )
    return int(pair[0]), int(pair[1])


def _axis(n, k, s, d, padding, p) -> tuple[int, int, int]:
    """(output length, padding before, padding after) of the equivalent convolution on one axis."""
    e = (k - 1) * d + 1
    if padding == "valid":
        lo, hi = e - 1, e - 1 + (max(e, s) - e if p is None else p)
    else:
        total = s + e - 2 if p is None else e + e % 2 - 2 + p
        lo = min(total // 2 + total % 2, e - 1)
        hi = total - lo
    # the convolution's padding after may be short by up to s - 1 rows: its floor division drops them
    return (n - 1) * s + lo + hi - e + 2, e - 1 - lo, max(e - 1 - hi, 0)


def transpose_geometry(op, x_shape, w_shape, strides, padding, output_padding, dilation_rate) -> ConvGeometry:
    """The :class:`~sinapse.ops.conv2d.ConvGeometry` of the convolution whose input gradient
    is this transposed convolution: its input is the output (N, OH, OW, filters), its output x.

    Raises:
        TypeError: non-int strides, dilation_rate or output_padding entries.
        ValueError: x or w not 4-D, channels that differ, a bad padding, stride, dilation or
            output_padding; sizes beyond 2**31 - 1 per side.
    """
    if len(x_shape) != 4:
        raise ValueError(f"{op}: `x` must be 4-D (N, H, W, C), got shape {tuple(x_shape)}.")
    if len(w_shape) != 4:
        raise ValueError(
            f"{op}: `w` must be 4-D (KH, KW, filters, C) (Keras's Conv2DTranspose kernel), got shape {tuple(w_shape)}."
        )
    n, h, wd, c = x_shape
    kh, kw, f, wc = w_shape
    if wc != c:
        raise ValueError(
            f"{op}: `x` has {c} channels but `w` expects {wc} (x.shape={tuple(x_shape)}, w.shape={tuple(w_shape)}; "
            f"the kernel is (KH, KW, filters, in_channels))."
        )
    if kh < 1 or kw < 1:
        raise ValueError(f"{op}: `w`: the kernel must be at least 1x1, got w.shape={tuple(w_shape)}.")
    if h < 1 or wd < 1:
        raise ValueError(f"{op}: `x` must have at least one row and column, got shape {tuple(x_shape)}.")
    s, d = as_pair(op, "strides", strides), as_pair(op, "dilation_rate", dilation_rate)
    pad = padding.lower() if isinstance(padding, str) else None
    if pad not in ("valid", "same"):
        raise ValueError(f"{op}: `padding` must be 'valid' or 'same', got {padding!r}.")
    p = _output_padding(op, output_padding, s)
    (oh, top, bottom), (ow, left, right) = (
        _axis(size, k, st, dl, pad, pp) for size, k, st, dl, pp in zip((h, wd), (kh, kw), s, d, p)
    )
    check_extent(op, "strides", strides, max(oh + top + bottom, ow + left + right), "an output extent")
    check_extent(op, "dilation_rate", dilation_rate, max(oh + top + bottom, ow + left + right), "an output extent")
    check_elements(op, "x", (n, oh, ow, f), "an output")
    if oh < 1 or ow < 1:  # "same" with output_padding 0, one input pixel and an even kernel
        raise ValueError(
            f"{op}: the output would be {oh}x{ow} (x.shape={tuple(x_shape)}, w.shape={tuple(w_shape)}, "
            f"padding={padding!r}, output_padding={output_padding!r}); use a larger `output_padding` or 'valid'."
        )
    g = geometry(op, (n, oh, ow, f), (kh, kw, f, c), s, (top, bottom, left, right), d)
    assert (g.OH, g.OW) == (h, wd), (g, x_shape)  # p < s: the convolution's floor lands on n
    return g


def _common(op, arrays, strides, padding, output_padding, dilation_rate, variant):
    """Device, geometry and variant of either op; every array float32."""
    variant_arg, variant = variant, registry.resolve_variant("conv2d", variant, op)
    device = backend(op, arrays)
    for name in ("dy", "x", "w", "bias"):
        if arrays.get(name) is not None:
            check_float32(op, name, arrays[name])
    xi, wi = arrays["x"], arrays["w"]
    g = transpose_geometry(op, xi.shape, wi.shape, strides, padding, output_padding, dilation_rate)
    _check_variant(op, variant_arg, variant, device, g, xi, wi)
    return device, g, variant


def _describe(
    x,
    w,
    bias=None,
    *,
    strides=1,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    out=None,
    variant=None,
    simd=None,
):
    """conv2d_transpose's descriptor step: every check, the geometry and the variant (sinapse.ops._plan)."""
    op = "conv2d_transpose"
    xi, wi = inspect(op, "x", x), inspect(op, "w", w)
    bi = inspect(op, "bias", bias) if bias is not None else None
    oi = inspect(op, "out", out) if out is not None else None
    arrays = {"x": xi, "w": wi, **({"bias": bi} if bi else {})}
    device, g, variant = _common(
        op, {**arrays, **({"out": oi} if oi else {})}, strides, padding, output_padding, dilation_rate, variant
    )
    if bi is not None:
        check_float32(op, "bias", bi, ndim=1)
        check_shape(op, "bias", bi, (g.C,), "one value per filter")
    out_shape = (g.N, g.H, g.W, g.C)  # the convolution's input
    if oi is not None:
        check_out(op, oi, out_shape, arrays)
    simd = _device.simd(device, simd, op)
    params = (g, variant, simd)
    return descriptor(op, device, {"x": xi, "w": wi, "bias": bi}, params, outputs={"out": out_shape})


def _launch(desc, x, w, bias, out):
    g, variant, simd = desc.params
    device = desc.device
    out = desc.output("out", out)
    kernels, launch = _device.kernels(device), _device.launch_arg(device)
    kernels.conv2d_backward(g, None, w, x, out, None, None, variant, simd, launch)  # the convolution's dx
    if bias is not None:
        kernels.bias_add(out, bias, out, launch)
    return out


@preparable(_describe, _launch)
def conv2d_transpose(
    x: Array,
    w: Array,
    bias: Array | None = None,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    output_padding: int | tuple[int, int] | None = None,
    dilation_rate: int | tuple[int, int] = 1,
    out: Array | None = None,
    variant: str | None = None,
    simd: str | None = None,
) -> Array:
    """The transposed convolution ``conv2d``'s input gradient: x (N, H, W, C), w (KH, KW, F, C)
    -> (N, OH, OW, F), plus bias (F,).

    OH, OW: Keras's Conv2DTranspose output shape (module docstring; "same" with output_padding
    None doubles a stride-2 input). strides, dilation_rate: ints or pairs >= 1; padding "valid"
    or "same"; output_padding None, an int or a pair, each in [0, stride). variant: conv2d's
    (the family's variants; it names the algorithm of conv2d's dx pass that runs here, "tuned"
    picks by conv2d's cost model). Aliasing: ``out`` must share no memory with x, w or bias.

    Shapes: x float32 (N, H, W, C), w float32 (KH, KW, F, C), bias float32 (F,) or None;
    returns float32 (N, OH, OW, F).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int strides,
            dilation_rate or output_padding entries.
        ValueError: wrong ranks or channels; a bad padding, stride, dilation or output_padding; an empty
            output; sizes beyond 2**31 - 1; an unknown variant or one the device or layer cannot run;
            a bad ``out`` (shape, read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe(
        x,
        w,
        bias,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        dilation_rate=dilation_rate,
        out=out,
        variant=variant,
        simd=simd,
    )
    return _launch(desc, x, w, bias, out)


_RESULTS = ("dx", "dw", "db")  # conv2d_transpose_backward's results: the order of its out=(...) tuple


def _describe_backward(
    dy,
    x,
    w,
    *,
    strides=1,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    need_dx=True,
    need_dw=True,
    need_db=True,
    out=None,
    variant=None,
    simd=None,
):
    """conv2d_transpose_backward's descriptor step (sinapse.ops._plan)."""
    op = "conv2d_transpose_backward"
    need_dx, need_dw, need_db = (
        as_bool(op, n, v) for n, v in (("need_dx", need_dx), ("need_dw", need_dw), ("need_db", need_db))
    )
    gi, xi, wi = inspect(op, "dy", dy), inspect(op, "x", x), inspect(op, "w", w)
    outs = inspect_outs(op, out, _RESULTS)
    inputs = {"dy": gi, "x": xi, "w": wi}
    device, g, variant = _common(
        op, {**inputs, **present(outs)}, strides, padding, output_padding, dilation_rate, variant
    )
    check_shape(op, "dy", gi, (g.N, g.H, g.W, g.C), "the forward's output shape")
    shapes = (tuple(xi.shape) if need_dx else None, tuple(wi.shape) if need_dw else None, (g.C,) if need_db else None)
    check_outs(op, outs, dict(zip(outs, shapes)), inputs)
    simd = _device.simd(device, simd, op)
    params = (g, variant, simd)
    return descriptor(op, device, inputs, params, outputs=dict(zip(_RESULTS, shapes)), out_tuple=_RESULTS)


def _launch_backward(desc, dy, x, w, dx=None, dw=None, db=None):
    g, variant, simd = desc.params
    device = desc.device
    dx, dw, db = desc.output("dx", dx), desc.output("dw", dw), desc.output("db", db)  # None: not needed
    kernels, launch = _device.kernels(device), _device.launch_arg(device)
    if dx is not None:  # the convolution's forward of dy
        kernels.conv2d_forward(g, dy, w, None, ACTIVATIONS[None], dx, variant, simd, launch)
    if dw is not None:  # the convolution's weight gradient, its input being dy and its output gradient x
        kernels.conv2d_backward(g, dy, w, x, None, dw, None, variant, simd, launch)
    if db is not None:
        kernels.bias_backward(dy, db, launch)
    return dx, dw, db


@preparable(_describe_backward, _launch_backward, out_tuple=_RESULTS)
def conv2d_transpose_backward(
    dy: Array,
    x: Array,
    w: Array,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    output_padding: int | tuple[int, int] | None = None,
    dilation_rate: int | tuple[int, int] = 1,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
    simd: str | None = None,
) -> tuple[Array | None, Array | None, Array | None]:
    """Returns ``(dx, dw, db)`` of conv2d_transpose (None for the ones not needed), given dy of
    its output's shape (N, OH, OW, F): dx (N, H, W, C), dw (KH, KW, F, C), db (F,), float32.

    out: None, or a tuple ``(dx, dw, db)`` of preallocated float32 arrays or None (allocated),
    the NumPy ufunc convention; an entry for a result not needed must be None. Each given one
    must have its result's shape and share no memory with dy, x, w or another result.
    Geometry arguments and variant: as conv2d_transpose.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int geometry
            arguments.
        ValueError: wrong ranks or channels; dy not the forward's output shape; a bad geometry (as
            conv2d_transpose); an ``out`` entry for a result not needed, or a bad one; an unknown
            ``variant``, or one the device or layer cannot run.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe_backward(
        dy,
        x,
        w,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        dilation_rate=dilation_rate,
        need_dx=need_dx,
        need_dw=need_dw,
        need_db=need_db,
        out=out,
        variant=variant,
        simd=simd,
    )
    return _launch_backward(desc, dy, x, w, *out_tuple(desc.op, out, _RESULTS))
