"""sinapse.ops.depthwise_conv2d / depthwise_conv2d_backward: depthwise and grouped 2-D
convolution, NHWC input, one kernel family for both.

Two weight layouts, chosen by ``groups``:

- ``groups=None`` (the default): a depthwise convolution, ``w`` of shape
  (KH, KW, C, depth_multiplier) as Keras's DepthwiseConv2D holds it
  (https://keras.io/api/layers/convolution_layers/depthwise_convolution2d/). Output channel
  ``c * depth_multiplier + m`` is input channel ``c`` convolved with ``w[:, :, c, m]``, so the
  output has C * depth_multiplier channels in Keras's order.
- ``groups=g``: a grouped convolution, ``w`` HWIO of shape (KH, KW, C / g, K) as Keras's
  Conv2D(groups=g) (https://keras.io/api/layers/convolution_layers/convolution2d/) and
  PyTorch's Conv2d(groups=g) (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html):
  the K output channels split in g consecutive groups of K / g, group j reading input channels
  [j * C / g, (j + 1) * C / g). g = 1 is an ordinary conv2d.

The two are one computation: depthwise weights (KH, KW, C, M) are, byte for byte, grouped
weights (KH, KW, 1, C * M) with g = C, and that is how the kernels receive them
(csrc/common/depthwise_conv2d_args.h). ``strides``, ``padding`` and ``dilation_rate`` follow
conv2d (Keras's "valid" / "same" rule, or explicit (top, bottom, left, right)), and so does
the non-finite rule: padding is a zero that is multiplied (an inf weight makes border outputs
NaN, as TF and PyTorch; docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..registry import resolve_variant
from . import _device
from ._checks import (
    Array,
    as_bool,
    as_int,
    backend,
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
from .conv2d import geometry as conv_geometry


class DepthwiseGeometry(NamedTuple):
    """A grouped convolution's geometry, all Python ints: conv2d's ConvGeometry fields (C and K
    all input and output channels) and G, the groups; what the bindings take as a sequence
    (csrc/bindings/depthwise_conv2d_geometry.h -> DepthwiseArgs)."""

    N: int  # input: images, rows, columns, channels
    H: int
    W: int
    C: int
    KH: int  # kernel rows, columns, output channels (weights KH x KW x C / G x K)
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
    G: int  # groups (C for a depthwise convolution)

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """The output's shape, (N, OH, OW, K)."""
        return (self.N, self.OH, self.OW, self.K)


def geometry(op, x_shape, w_shape, strides, padding, dilation_rate, groups) -> DepthwiseGeometry:
    """The :class:`DepthwiseGeometry` of ``x_shape`` (N, H, W, C) convolved by ``w_shape``:
    (KH, KW, C, M) when ``groups`` is None (depthwise), else (KH, KW, C / groups, K).

    Raises:
        TypeError: non-int groups, strides, dilation_rate or padding entries.
        ValueError: shapes not 4-D; channels that do not fit the weights or the groups; groups < 1;
            a bad geometry, as conv2d's (sinapse.ops.conv2d.geometry).
    """
    if len(x_shape) != 4:
        raise ValueError(f"{op}: `x` must be 4-D (N, H, W, C), got shape {tuple(x_shape)}.")
    layout = "(KH, KW, C, depth_multiplier)" if groups is None else "(KH, KW, C // groups, K)"
    if len(w_shape) != 4:
        raise ValueError(f"{op}: `w` must be 4-D {layout}, got shape {tuple(w_shape)}.")
    kh, kw, wi, wo = w_shape
    c = x_shape[3]
    shapes = f"x.shape={tuple(x_shape)}, w.shape={tuple(w_shape)}"
    if groups is None:
        if wi != c:
            raise ValueError(f"{op}: `w` must be {layout} for `x` with {c} channels; got {shapes}.")
        g, k = c, c * wo
    else:
        g = as_int(op, "groups", groups, lo=1, hi=2**31 - 1, what="an int >= 1 (or None: depthwise)")
        if c % g or wo % g:
            raise ValueError(
                f"{op}: `groups`={g} must divide the input channels ({c}) and the output channels ({wo}); got {shapes}."
            )
        if wi != c // g:
            raise ValueError(f"{op}: `w` must be {layout} = (KH, KW, {c // g}, K) with groups={g}; got {shapes}.")
        k = wo
    cg = conv_geometry(op, x_shape, (kh, kw, c, k), strides, padding, dilation_rate)
    return DepthwiseGeometry(*cg, g)


def _describe(
    x, w, bias=None, *, strides=1, padding="valid", dilation_rate=1, groups=None, out=None, variant=None, simd=None
):
    """depthwise_conv2d's descriptor step: every check, the geometry (sinapse.ops._plan)."""
    op = "depthwise_conv2d"
    xi, wi = inspect(op, "x", x), inspect(op, "w", w)
    bi = inspect(op, "bias", bias) if bias is not None else None
    oi = inspect(op, "out", out) if out is not None else None
    arrays = {"x": xi, "w": wi, **({"bias": bi} if bi else {})}
    device = backend(op, {**arrays, **({"out": oi} if oi else {})})
    variant = resolve_variant(op, variant, op, device)
    check_float32(op, "x", xi)
    check_float32(op, "w", wi)
    g = geometry(op, xi.shape, wi.shape, strides, padding, dilation_rate, groups)
    if bi is not None:
        check_float32(op, "bias", bi, ndim=1)
        check_shape(op, "bias", bi, (g.K,), "one value per output channel")
    if oi is not None:
        check_out(op, oi, g.out_shape, arrays)
    simd = _device.simd(device, simd, op)
    return descriptor(op, device, {"x": xi, "w": wi, "bias": bi}, (g, variant, simd), outputs={"out": g.out_shape})


def _launch(desc, x, w, bias, out):
    g, variant, simd = desc.params
    out = desc.output("out", out)
    if out.size:
        kernels = _device.kernels(desc.device)
        kernels.depthwise_conv2d_forward(g, x, w, bias, out, variant, simd, _device.launch_arg(desc.device))
    return out


@preparable(_describe, _launch)
def depthwise_conv2d(
    x: Array,
    w: Array,
    bias: Array | None = None,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str | tuple[int, int, int, int] = "valid",
    dilation_rate: int | tuple[int, int] = 1,
    groups: int | None = None,
    out: Array | None = None,
    variant: str | None = None,
    simd: str | None = None,
) -> Array:
    """``conv(x, w) + bias`` per group of channels: x (N, H, W, C) -> (N, OH, OW, K).

    groups=None: depthwise, w (KH, KW, C, M) (Keras's DepthwiseConv2D), K = C * M, output
    channel c * M + m from input channel c. groups=g: grouped, w (KH, KW, C / g, K) (Keras's
    Conv2D(groups=g)); see the module docstring. bias: (K,) or None.

    variant (the default: $SINAPSE_DEPTHWISE_CONV2D, else "tuned"): "naive" (the definition as
    loops, one thread; on CUDA one thread per output value) or "tuned" (the CPU: vectorised over
    channels, threaded over output rows; CUDA: output tiles with the input tile in shared memory).
    simd: the CPU's SIMD path (sinapse.cpu.simd_path); ignored on CUDA.
    Aliasing: ``out`` must share no memory with ``x``, ``w`` or ``bias``.

    Shapes / dtypes: float32 throughout; returns float32 (N, OH, OW, K) (OH, OW by Keras's rule).

    Raises:
        TypeError: a non-array or non-float32 array, arrays on different devices; non-int groups,
            strides, dilation_rate or padding entries.
        ValueError: wrong ranks; channels that do not fit w or groups; a bad padding, stride or
            dilation, or a kernel larger than the padded input (as conv2d); an unknown variant; a bad
            ``out`` (shape, read-only, non-contiguous, overlap).
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
        groups=groups,
        out=out,
        variant=variant,
        simd=simd,
    )
    return _launch(desc, x, w, bias, out)


_RESULTS = ("dx", "dw", "db")  # depthwise_conv2d_backward's results: the order of its out=(...) tuple


def _describe_backward(
    dy,
    x,
    w,
    *,
    strides=1,
    padding="valid",
    dilation_rate=1,
    groups=None,
    need_dx=True,
    need_dw=True,
    need_db=True,
    out=None,
    variant=None,
    simd=None,
):
    """depthwise_conv2d_backward's descriptor step (sinapse.ops._plan)."""
    op = "depthwise_conv2d_backward"
    needs = tuple(as_bool(op, n, v) for n, v in (("need_dx", need_dx), ("need_dw", need_dw), ("need_db", need_db)))
    gi, xi, wi = inspect(op, "dy", dy), inspect(op, "x", x), inspect(op, "w", w)
    outs = inspect_outs(op, out, _RESULTS)
    device = backend(op, {"dy": gi, "x": xi, "w": wi, **present(outs)})
    variant = resolve_variant("depthwise_conv2d", variant, op, device)
    for name, info in (("dy", gi), ("x", xi), ("w", wi)):
        check_float32(op, name, info)
    g = geometry(op, xi.shape, wi.shape, strides, padding, dilation_rate, groups)
    check_shape(op, "dy", gi, g.out_shape, "the forward's output shape")
    full = (tuple(xi.shape), tuple(wi.shape), (g.K,))
    shapes = tuple(s if need else None for s, need in zip(full, needs))
    inputs = {"dy": gi, "x": xi, "w": wi}
    check_outs(op, outs, dict(zip(outs, shapes)), inputs)
    simd = _device.simd(device, simd, op)
    return descriptor(op, device, inputs, (g, variant, simd), outputs=dict(zip(_RESULTS, shapes)), out_tuple=_RESULTS)


def _launch_backward(desc, dy, x, w, dx=None, dw=None, db=None):
    g, variant, simd = desc.params
    dx, dw, db = desc.output("dx", dx), desc.output("dw", dw), desc.output("db", db)  # None: not needed
    kernels = _device.kernels(desc.device)
    kernels.depthwise_conv2d_backward(g, x, w, dy, dx, dw, db, variant, simd, _device.launch_arg(desc.device))
    return dx, dw, db


@preparable(_describe_backward, _launch_backward, out_tuple=_RESULTS)
def depthwise_conv2d_backward(
    dy: Array,
    x: Array,
    w: Array,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str | tuple[int, int, int, int] = "valid",
    dilation_rate: int | tuple[int, int] = 1,
    groups: int | None = None,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
    simd: str | None = None,
) -> tuple[Array | None, Array | None, Array | None]:
    """Returns ``(dx, dw, db)`` (None for the ones not needed), given dy (N, OH, OW, K) of the
    forward with the same arguments: dx (N, H, W, C), dw in w's own shape, db (K,), float32.

    dW and db are deterministic: the same bits for any thread count (fixed chunks of output rows
    added in a fixed order on the CPU; a fixed tree per weight on CUDA), no atomics.
    out: None, or a tuple ``(dx, dw, db)`` of preallocated float32 arrays or None (allocated),
    the NumPy ufunc convention; an entry for a result not needed must be None.

    Raises:
        TypeError, ValueError: as depthwise_conv2d; dy not the forward's output shape; an ``out``
            entry for a result not needed, or a bad one.
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
        groups=groups,
        need_dx=need_dx,
        need_dw=need_dw,
        need_db=need_db,
        out=out,
        variant=variant,
        simd=simd,
    )
    return _launch_backward(desc, dy, x, w, *out_tuple(desc.op, out, _RESULTS))
