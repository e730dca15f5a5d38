"""sinapse.ops resize / crop and their backward, over NHWC float32 images.

resize samples as Keras 3's ``keras.ops.image.resize`` with ``antialias=False`` (its JAX
backend calls ``jax.image.resize``; the same as PyTorch's ``interpolate`` with
``align_corners=False``): half-pixel centres, output index o of an axis of ``in -> out``
pixels sits at source coordinate ``(o + 0.5) * in / out - 0.5``.

- ``interpolation="nearest"``: pixel ``floor((o + 0.5) * in / out)`` (for an integer factor
  f, ``o // f``: Keras's UpSampling2D, which repeats pixels).
- ``interpolation="bilinear"``: the two pixels around the source coordinate on each axis,
  weighted by the triangle kernel; a coordinate past the first or last pixel reads that pixel.

    y  = resize(x, (OH, OW), interpolation="bilinear")          # (N, OH, OW, C)
    dx = resize_backward(dy, (H, W), interpolation="bilinear")   # (N, H, W, C)
    y  = crop(x, top, left, height, width)                      # x[:, top:top+height, left:left+width]
    dx = crop_backward(dy, (H, W), top, left)                    # dy placed in zeros (or fill_value)

The backward gathers per input pixel over the outputs reading it (no atomics): the same bits
run after run, for any thread count.

variant (resize and resize_backward): "naive" (the definition as loops, one thread; on CUDA
the backward tests every output row and column) or "tuned" (the default, or
$SINAPSE_RESIZE: threads over rows, separable passes vectorised over the channels); the two
agree to rounding. docs/kernels/resize.md tells the steps from one to the other. Aliasing: ``out`` must share no memory with the input.
Sizes: ints from 1 to 2**31 - 1 (TypeError for non-ints, ValueError out of range).
"""

from __future__ import annotations

from typing import NamedTuple

from ..registry import resolve_variant
from . import _device
from ._checks import MAX_EXTENT, Array, as_float, as_int, as_pair, backend, check_elements, check_float32, check_out
from ._checks import inspect as _inspect
from ._plan import descriptor, preparable

INTERPOLATIONS = ("nearest", "bilinear")


class ResizeGeometry(NamedTuple):
    """A resize's geometry; the fields (and order) of csrc/common/resize_args.h's ResizeArgs."""

    N: int  # input: images, rows, columns, channels
    H: int
    W: int
    C: int
    OH: int  # output rows, columns
    OW: int
    bilinear: int  # 1: bilinear, 0: nearest

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.OH, self.OW, self.C)

    @property
    def in_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.H, self.W, self.C)


class CropGeometry(NamedTuple):
    """A crop's geometry; the fields (and order) of csrc/common/resize_args.h's CropArgs."""

    N: int  # the full image
    H: int
    W: int
    C: int
    top: int  # the window's first row and column
    left: int
    OH: int  # the window's rows and columns
    OW: int

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.OH, self.OW, self.C)

    @property
    def in_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.H, self.W, self.C)


def _image(op: str, name: str, info) -> tuple[int, int, int, int]:
    """An NHWC float32 image batch with at least one row and one column."""
    check_float32(op, name, info)
    if len(info.shape) != 4:
        raise ValueError(f"{op}: `{name}` must be 4-D (N, H, W, C), got {info.describe()}.")
    if info.shape[1] < 1 or info.shape[2] < 1:
        raise ValueError(f"{op}: `{name}` must have at least one row and one column, got {info.describe()}.")
    n, h, w, c = (int(v) for v in info.shape)
    return n, h, w, c


def _interpolation(op: str, interpolation) -> int:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"{op}: `interpolation` must be one of {', '.join(map(repr, INTERPOLATIONS))}, got {interpolation!r}."
        )
    return int(interpolation == "bilinear")


def _io(op: str, arrays: dict, out):
    infos = {k: _inspect(op, k, v) for k, v in arrays.items()}
    oi = _inspect(op, "out", out) if out is not None else None
    device = backend(op, {**infos, **({"out": oi} if oi else {})})
    return device, infos, oi


def _describe_resize(x, size, *, interpolation="bilinear", out=None, variant=None):
    """resize's descriptor step (sinapse.ops._plan)."""
    op = "resize"
    variant = resolve_variant("resize", variant, op)
    device, infos, oi = _io(op, {"x": x}, out)
    bilinear = _interpolation(op, interpolation)
    n, h, w, c = _image(op, "x", infos["x"])
    oh, ow = as_pair(op, "size", size)
    g = ResizeGeometry(n, h, w, c, oh, ow, bilinear)
    check_elements(op, "size", g.out_shape, "an output")
    if oi is not None:
        check_out(op, oi, g.out_shape, infos)
    return descriptor(op, device, infos, (g, variant), outputs={"out": g.out_shape})


def _launch_resize(desc, x, out):
    (g, variant), out, device = desc.params, desc.output("out", out), desc.device
    _device.kernels(device).resize_forward(g, x, out, variant, _device.launch_arg(device))
    return out


@preparable(_describe_resize, _launch_resize)
def resize(
    x: Array, size, *, interpolation: str = "bilinear", out: Array | None = None, variant: str | None = None
) -> Array:
    """NHWC ``x`` resized to ``size`` = (height, width): (N, height, width, C), float32.

    Sampling: keras.ops.image.resize(x, size, interpolation, antialias=False) (module docstring);
    interpolation "nearest" or "bilinear" (Keras's default). variant: module docstring.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int sizes.
        ValueError: x not 4-D, without rows or columns, or non-contiguous; size not a pair of ints in
            [1, 2**31 - 1]; an unknown interpolation; a bad ``out`` (shape, read-only, non-contiguous,
            forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe_resize(x, size, interpolation=interpolation, out=out, variant=variant)
    return _launch_resize(desc, x, out)


def _describe_resize_backward(dy, input_size, *, interpolation="bilinear", out=None, variant=None):
    """resize_backward's descriptor step (sinapse.ops._plan)."""
    op = "resize_backward"
    variant = resolve_variant("resize", variant, op)
    device, infos, oi = _io(op, {"dy": dy}, out)
    bilinear = _interpolation(op, interpolation)
    n, oh, ow, c = _image(op, "dy", infos["dy"])
    h, w = as_pair(op, "input_size", input_size)
    g = ResizeGeometry(n, h, w, c, oh, ow, bilinear)
    check_elements(op, "input_size", g.in_shape, "a gradient")
    if oi is not None:
        check_out(op, oi, g.in_shape, infos)
    return descriptor(op, device, infos, (g, variant), outputs={"out": g.in_shape})


def _launch_resize_backward(desc, dy, out):
    (g, variant), out, device = desc.params, desc.output("out", out), desc.device
    _device.kernels(device).resize_backward(g, dy, out, variant, _device.launch_arg(device))
    return out


@preparable(_describe_resize_backward, _launch_resize_backward)
def resize_backward(
    dy: Array, input_size, *, interpolation: str = "bilinear", out: Array | None = None, variant: str | None = None
) -> Array:
    """Gradient of ``resize`` w.r.t. x: (N, H, W, C) for ``input_size`` = (H, W), float32.

    dy: float32 (N, OH, OW, C), the gradient of resize's output. Each input pixel sums
    weight * dy over the outputs that read it (gathered in increasing row, column order).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int sizes.
        ValueError: dy not 4-D, without rows or columns, or non-contiguous; input_size not a pair of ints
            in [1, 2**31 - 1]; an unknown interpolation; a bad ``out`` (shape, read-only, non-contiguous,
            forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe_resize_backward(dy, input_size, interpolation=interpolation, out=out, variant=variant)
    return _launch_resize_backward(desc, dy, out)


def _window(op: str, top, left, height: int, width: int, h: int, w: int) -> tuple[int, int]:
    """The window's top-left corner, checked to lie (with its extent) inside an h x w image."""
    top = as_int(op, "top", top, lo=0, hi=MAX_EXTENT, what="a non-negative int")
    left = as_int(op, "left", left, lo=0, hi=MAX_EXTENT, what="a non-negative int")
    if top + height > h or left + width > w:
        raise ValueError(
            f"{op}: the window of {height} x {width} pixels at (top, left) = ({top}, {left}) leaves the "
            f"{h} x {w} image (it needs top + height <= {h} and left + width <= {w})."
        )
    return top, left


def _describe_crop(x, top, left, height, width, *, out=None):
    """crop's descriptor step (sinapse.ops._plan)."""
    op = "crop"
    device, infos, oi = _io(op, {"x": x}, out)
    n, h, w, c = _image(op, "x", infos["x"])
    height = as_int(op, "height", height, lo=1, hi=MAX_EXTENT, what="a positive int")
    width = as_int(op, "width", width, lo=1, hi=MAX_EXTENT, what="a positive int")
    top, left = _window(op, top, left, height, width, h, w)
    g = CropGeometry(n, h, w, c, top, left, height, width)
    if oi is not None:
        check_out(op, oi, g.out_shape, infos)
    return descriptor(op, device, infos, g, outputs={"out": g.out_shape})


def _launch_crop(desc, x, out):
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).crop_forward(desc.params, x, out, _device.launch_arg(device))
    return out


@preparable(_describe_crop, _launch_crop)
def crop(x: Array, top: int, left: int, height: int, width: int, *, out: Array | None = None) -> Array:
    """``x[:, top:top + height, left:left + width, :]`` as a new (N, height, width, C) float32
    array (Keras's Cropping2D / CenterCrop).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            top, left, height or width.
        ValueError: x not 4-D, without rows or columns, or non-contiguous; top/left negative;
            height/width below 1; a window leaving the image; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_crop(_describe_crop(x, top, left, height, width, out=out), x, out)


def _describe_crop_backward(dy, input_size, top, left, *, fill_value=0.0, out=None):
    """crop_backward's descriptor step (sinapse.ops._plan)."""
    op = "crop_backward"
    device, infos, oi = _io(op, {"dy": dy}, out)
    n, height, width, c = _image(op, "dy", infos["dy"])
    h, w = as_pair(op, "input_size", input_size)
    top, left = _window(op, top, left, height, width, h, w)
    fill = as_float(op, "fill_value", fill_value, finite=True)
    g = CropGeometry(n, h, w, c, top, left, height, width)
    check_elements(op, "input_size", g.in_shape, "a gradient")
    if oi is not None:
        check_out(op, oi, g.in_shape, infos)
    return descriptor(op, device, infos, (g, fill), outputs={"out": g.in_shape})


def _launch_crop_backward(desc, dy, out):
    g, fill = desc.params
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).crop_backward(g, dy, out, fill, _device.launch_arg(device))
    return out


@preparable(_describe_crop_backward, _launch_crop_backward)
def crop_backward(
    dy: Array, input_size, top: int, left: int, *, fill_value: float = 0.0, out: Array | None = None
) -> Array:
    """Gradient of ``crop`` w.r.t. x: (N, H, W, C) for ``input_size`` = (H, W), dy (N, height,
    width, C) at (top, left) and ``fill_value`` (0: the gradient) everywhere else. With another
    fill_value it is the padding of Keras's ``pad_to_aspect_ratio``.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            sizes or corner; a non-number fill_value.
        ValueError: dy not 4-D, without rows or columns, or non-contiguous; a window leaving the image; a
            non-finite fill_value; a bad ``out`` (shape, read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe_crop_backward(dy, input_size, top, left, fill_value=fill_value, out=out)
    return _launch_crop_backward(desc, dy, out)
