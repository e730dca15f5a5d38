"""sinapse.ops affine_transform / flip / adjust_contrast / adjust_brightness and their
backward: data augmentation of a whole NHWC batch in one call, with per-image parameters.

The random layers (sinapse.layers.augmentation: RandomTranslation, RandomRotation,
RandomZoom, RandomCrop, RandomFlip, RandomContrast, RandomBrightness) draw the N per-image
parameters and call these once per batch. Formulas: Keras 3 (keras.ops.image.affine_transform
as its JAX backend computes it; the RandomContrast and RandomBrightness layers), written out
in sinapse.reference.augment.

Aliasing: ``out`` may be the images themselves (in place) for adjust_contrast and
adjust_brightness; nothing else may share memory with an input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _device
from ._checks import Array, as_float, backend, check_elements, check_float32, check_out, check_shape, inspect
from ._plan import descriptor, preparable

INTERPOLATIONS = ("bilinear", "nearest")
FILL_MODES = ("constant", "reflect", "wrap", "nearest")


class AffineGeometry(NamedTuple):
    """An affine transform's geometry, all Python ints; the fields (and their order) of the
    int64 fields of csrc/common/augment_args.h's AffineArgs."""

    N: int  # images, input rows, columns, channels
    H: int
    W: int
    C: int
    OH: int  # output rows, columns
    OW: int

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """The output's shape, (N, OH, OW, C)."""
        return (self.N, self.OH, self.OW, self.C)


def _images(op: str, name: str, info) -> tuple[int, int, int, int]:
    check_float32(op, name, info)
    if len(info.shape) != 4:
        raise ValueError(f"{op}: `{name}` must be 4-D (N, H, W, C), got {info.describe()}.")
    return tuple(info.shape)


def _per_image(op: str, name: str, info, shape: tuple[int, ...], what: str) -> None:
    check_float32(op, name, info)
    check_shape(op, name, info, shape, what)


def _choice(op: str, name: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{op}: `{name}` must be one of {', '.join(map(repr, allowed))}, got {value!r}.")
    return value


def _value_range(op: str, value_range) -> tuple[float, float]:
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{op}: `value_range` must be a pair (low, high), got {value_range!r}.")
    lo = as_float(op, "value_range[0]", value_range[0], finite=True)
    hi = as_float(op, "value_range[1]", value_range[1], finite=True)
    if lo > hi:
        raise ValueError(f"{op}: `value_range` must have low <= high, got {tuple(value_range)!r}.")
    return lo, hi


def _output_hw(op: str, output_shape, h: int, w: int) -> tuple[int, int]:
    if output_shape is None:
        return h, w
    if (
        not isinstance(output_shape, (tuple, list))
        or len(output_shape) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in output_shape)
    ):
        raise ValueError(f"{op}: `output_shape` must be None or a pair of ints >= 0 (OH, OW), got {output_shape!r}.")
    return int(output_shape[0]), int(output_shape[1])


def affine_geometry(op: str, shape, output_shape) -> AffineGeometry:
    """The :class:`AffineGeometry` of images of ``shape`` (N, H, W, C) sampled into ``output_shape``.

    Raises:
        ValueError: H or W of 0, H * W >= 2**31, a bad output_shape, an output beyond _checks.MAX_ELEMENTS.
    """
    n, h, w, c = shape
    if h < 1 or w < 1 or h * w >= 2**31:
        raise ValueError(f"{op}: the images' H and W must be >= 1 with H * W < 2**31, got shape {tuple(shape)}.")
    oh, ow = _output_hw(op, output_shape, h, w)
    check_elements(op, "output_shape", (n, oh, ow, c), "an output")
    return AffineGeometry(n, h, w, c, oh, ow)


# ------------------------------------------------------------------------------ affine


def _describe_affine(
    images, transforms, *, interpolation="bilinear", fill_mode="constant", fill_value=0.0, output_shape=None, out=None
):
    op = "affine_transform"
    xi, ti = inspect(op, "images", images), inspect(op, "transforms", transforms)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"images": xi, "transforms": ti, **({"out": oi} if oi else {})})
    shape = _images(op, "images", xi)
    _per_image(op, "transforms", ti, (shape[0], 8), "8 numbers per image: a0, a1, a2, b0, b1, b2, c0, c1")
    interpolation = _choice(op, "interpolation", interpolation, INTERPOLATIONS)
    fill_mode = _choice(op, "fill_mode", fill_mode, FILL_MODES)
    fill_value = as_float(op, "fill_value", fill_value, finite=True)
    g = affine_geometry(op, shape, output_shape)
    if oi is not None:
        check_out(op, oi, g.out_shape, {"images": xi, "transforms": ti})
    params = (g, interpolation, fill_mode, fill_value)
    return descriptor(op, device, {"images": xi, "transforms": ti}, params, outputs={"out": g.out_shape})


def _launch_affine(desc, images, transforms, out):
    g, interpolation, fill_mode, fill_value = desc.params
    out, device = desc.output("out", out), desc.device
    k = _device.kernels(device)
    k.affine_transform(g, images, transforms, out, interpolation, fill_mode, fill_value, _device.launch_arg(device))
    return out


@preparable(_describe_affine, _launch_affine)
def affine_transform(
    images: Array,
    transforms: Array,
    *,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    output_shape: tuple[int, int] | None = None,
    out: Array | None = None,
) -> Array:
    """Each image through its own projective transform: keras.ops.image.affine_transform.

    Output pixel (x, y) (column, row) samples image n at ((a0 x + a1 y + a2) / k, (b0 x + b1 y +
    b2) / k), k = c0 x + c1 y + 1, with transforms[n] = [a0, a1, a2, b0, b1, b2, c0, c1] (Keras 3's
    convention; its JAX backend ignores c0, c1 — the layers always pass 0 — where this op divides
    by k as documented). ``interpolation``: "bilinear" (2x2 taps) or "nearest" (halves rounded away
    from zero); taps outside the image by ``fill_mode``: "constant" (``fill_value``), "reflect"
    (d c b a | a b c d | d c b a), "wrap" (periodic), "nearest" (the edge pixel), as
    jax.scipy.ndimage.map_coordinates.

    Shapes: images float32 (N, H, W, C), H, W >= 1; transforms float32 (N, 8); returns float32
    (N, OH, OW, C), (OH, OW) = ``output_shape`` or (H, W).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; a non-real
            fill_value.
        ValueError: images not 4-D or with H or W of 0; transforms not (N, 8); an unknown interpolation or
            fill_mode; a non-finite fill_value; a bad output_shape; non-contiguous arrays; a bad ``out``
            (shape, read-only, non-contiguous, overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe_affine(
        images,
        transforms,
        interpolation=interpolation,
        fill_mode=fill_mode,
        fill_value=fill_value,
        output_shape=output_shape,
        out=out,
    )
    return _launch_affine(desc, images, transforms, out)


def _describe_affine_backward(
    dy, transforms, images_shape, *, interpolation="bilinear", fill_mode="constant", out=None
):
    op = "affine_transform_backward"
    gi, ti = inspect(op, "dy", dy), inspect(op, "transforms", transforms)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"dy": gi, "transforms": ti, **({"out": oi} if oi else {})})
    dshape = _images(op, "dy", gi)
    if (
        not isinstance(images_shape, (tuple, list))
        or len(images_shape) != 4
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in images_shape)
    ):
        raise ValueError(f"{op}: `images_shape` must be the forward's (N, H, W, C), got {images_shape!r}.")
    shape = tuple(int(v) for v in images_shape)
    g = affine_geometry(op, shape, dshape[1:3])
    check_shape(op, "dy", gi, g.out_shape, "images_shape's N and C with the forward's output rows and columns")
    _per_image(op, "transforms", ti, (shape[0], 8), "8 numbers per image")
    interpolation = _choice(op, "interpolation", interpolation, INTERPOLATIONS)
    fill_mode = _choice(op, "fill_mode", fill_mode, FILL_MODES)
    check_elements(op, "images_shape", shape, "a gradient")
    if oi is not None:
        check_out(op, oi, shape, {"dy": gi, "transforms": ti})
    return descriptor(op, device, {"dy": gi, "transforms": ti}, (g, interpolation, fill_mode), outputs={"out": shape})


def _launch_affine_backward(desc, dy, transforms, out):
    g, interpolation, fill_mode = desc.params
    out, device = desc.output("out", out), desc.device
    k = _device.kernels(device)
    k.affine_transform_backward(g, dy, transforms, out, interpolation, fill_mode, _device.launch_arg(device))
    return out


@preparable(_describe_affine_backward, _launch_affine_backward)
def affine_transform_backward(
    dy: Array,
    transforms: Array,
    images_shape: tuple[int, int, int, int],
    *,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    out: Array | None = None,
) -> Array:
    """The gradient with respect to the images: each output pixel's dy goes back to its taps with
    their weights ("constant" taps outside the image take none). Deterministic: every image
    scatters its output pixels in row-major order (no atomics; the same order on every backend).

    Shapes: dy float32 (N, OH, OW, C); transforms float32 (N, 8); images_shape the forward's
    (N, H, W, C); returns float32 of that shape.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices.
        ValueError: dy not 4-D or not (N, OH, OW, C); a bad images_shape, transforms, interpolation or
            fill_mode; non-contiguous arrays; a bad ``out`` (shape, read-only, non-contiguous, overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe_affine_backward(
        dy, transforms, images_shape, interpolation=interpolation, fill_mode=fill_mode, out=out
    )
    return _launch_affine_backward(desc, dy, transforms, out)


# ------------------------------------------------------------------------------ flip


def _describe_flip(op, images, horizontal_flags, vertical_flags, out):
    name = "dy" if op.endswith("backward") else "images"
    xi = inspect(op, name, images)
    hi, vi = inspect(op, "horizontal_flags", horizontal_flags), inspect(op, "vertical_flags", vertical_flags)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {name: xi, "horizontal_flags": hi, "vertical_flags": vi, **({"out": oi} if oi else {})})
    shape = _images(op, name, xi)
    for flag, info in (("horizontal_flags", hi), ("vertical_flags", vi)):
        if info.dtype != np.bool_ or tuple(info.shape) != (shape[0],) or not info.c_contiguous:
            raise TypeError(
                f"{op}: `{flag}` must be a contiguous bool array of shape ({shape[0]},), got {info.describe()}."
            )
    infos = {name: xi, "horizontal_flags": hi, "vertical_flags": vi}
    if oi is not None:
        check_out(op, oi, shape, infos)
    return descriptor(op, device, infos, shape, outputs={"out": shape})


def _launch_flip(desc, images, horizontal_flags, vertical_flags, out):
    n, h, w, c = desc.params
    out, device = desc.output("out", out), desc.device
    hf, vf = horizontal_flags.view(np.uint8), vertical_flags.view(np.uint8)
    _device.kernels(device).flip(n, h, w, c, hf, vf, images, out, _device.launch_arg(device))
    return out


def _flip_forward(images, horizontal_flags, vertical_flags, *, out=None):
    return _describe_flip("flip", images, horizontal_flags, vertical_flags, out)


def _flip_backward(dy, horizontal_flags, vertical_flags, *, out=None):
    return _describe_flip("flip_backward", dy, horizontal_flags, vertical_flags, out)


@preparable(_flip_forward, _launch_flip)
def flip(images: Array, horizontal_flags: Array, vertical_flags: Array, *, out: Array | None = None) -> Array:
    """images[n] reversed along W where horizontal_flags[n], along H where vertical_flags[n]
    (Keras's RandomFlip; its "horizontal_and_vertical" mode sets both from one draw).

    Shapes: images float32 (N, H, W, C); the flags bool (N,); returns float32 (N, H, W, C).

    Raises:
        TypeError: a non-array, non-float32 images, flags not contiguous bool (N,), arrays on different
            devices.
        ValueError: images not 4-D or non-contiguous; a bad ``out`` (shape, read-only, non-contiguous,
            overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_flip(
        _flip_forward(images, horizontal_flags, vertical_flags, out=out), images, horizontal_flags, vertical_flags, out
    )


@preparable(_flip_backward, _launch_flip)
def flip_backward(dy: Array, horizontal_flags: Array, vertical_flags: Array, *, out: Array | None = None) -> Array:
    """The gradient of flip: dy flipped back with the same flags (a flip is its own inverse).

    Shapes: dy float32 (N, H, W, C); the flags bool (N,); returns float32 (N, H, W, C).

    Raises:
        TypeError: a non-array, non-float32 dy, flags not contiguous bool (N,), arrays on different devices.
        ValueError: dy not 4-D or non-contiguous; a bad ``out`` (shape, read-only, non-contiguous, overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_flip(
        _flip_backward(dy, horizontal_flags, vertical_flags, out=out), dy, horizontal_flags, vertical_flags, out
    )


# ------------------------------------------------------------------------------ contrast, brightness


def _describe_color(op, kind, dy, images, params, value_range, out):
    """Contrast or brightness (``kind``: the per-image array's name), forward (dy None) or backward."""
    arrays = ({} if dy is None else {"dy": dy}) | {"images": images, kind: params}
    infos = {name: inspect(op, name, a) for name, a in arrays.items()}
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {**infos, **({"out": oi} if oi else {})})
    shape = _images(op, "images", infos["images"])
    if dy is not None:
        check_float32(op, "dy", infos["dy"])
        check_shape(op, "dy", infos["dy"], shape, "the shape of `images`")
    _per_image(op, kind, infos[kind], (shape[0],), "one value per image")
    lo, hi = _value_range(op, value_range)
    allow = ("images",) if dy is None else ()
    if oi is not None:
        check_out(op, oi, shape, infos, allow=allow)
    return descriptor(
        op, device, infos, (shape, lo, hi), outputs={"out": shape}, allow=tuple(("out", a) for a in allow)
    )


def _launch_contrast(desc, images, factors, out):
    (n, h, w, c), lo, hi = desc.params
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).adjust_contrast(n, h * w, c, images, factors, lo, hi, out, _device.launch_arg(device))
    return out


def _launch_contrast_backward(desc, dy, images, factors, out):
    (n, h, w, c), lo, hi = desc.params
    out, device = desc.output("out", out), desc.device
    k = _device.kernels(device)
    k.adjust_contrast_backward(n, h * w, c, dy, images, factors, lo, hi, out, _device.launch_arg(device))
    return out


def _launch_brightness(desc, images, deltas, out):
    (n, h, w, c), lo, hi = desc.params
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).adjust_brightness(n, h * w * c, images, deltas, lo, hi, out, _device.launch_arg(device))
    return out


def _launch_brightness_backward(desc, dy, images, deltas, out):
    (n, h, w, c), lo, hi = desc.params
    out, device = desc.output("out", out), desc.device
    k = _device.kernels(device)
    k.adjust_brightness_backward(n, h * w * c, dy, images, deltas, lo, hi, out, _device.launch_arg(device))
    return out


def _contrast(images, factors, value_range=(0, 255), *, out=None):
    return _describe_color("adjust_contrast", "factors", None, images, factors, value_range, out)


def _contrast_backward(dy, images, factors, value_range=(0, 255), *, out=None):
    return _describe_color("adjust_contrast_backward", "factors", dy, images, factors, value_range, out)


def _brightness(images, deltas, value_range=(0, 255), *, out=None):
    return _describe_color("adjust_brightness", "deltas", None, images, deltas, value_range, out)


def _brightness_backward(dy, images, deltas, value_range=(0, 255), *, out=None):
    return _describe_color("adjust_brightness_backward", "deltas", dy, images, deltas, value_range, out)


_COLOR_RAISES = """
    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; a non-real
            value_range entry.
        ValueError: images not 4-D; the per-image array not (N,); dy not the images' shape; value_range not
            a finite pair with low <= high; non-contiguous arrays; a bad ``out`` (shape, read-only,
            non-contiguous, overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
"""


@preparable(_contrast, _launch_contrast)
def adjust_contrast(
    images: Array, factors: Array, value_range: tuple[float, float] = (0, 255), *, out: Array | None = None
) -> Array:
    """clip((x - m) * factors[n] + m, *value_range), m the mean of each image's channel over H and W
    (Keras 3's RandomContrast: mean over the height axis, then the width axis, then the clip).

    Shapes: images float32 (N, H, W, C); factors float32 (N,); returns float32 (N, H, W, C).
    ``out`` may be ``images`` (in place).
    """
    return _launch_contrast(_contrast(images, factors, value_range, out=out), images, factors, out)


@preparable(_contrast_backward, _launch_contrast_backward)
def adjust_contrast_backward(
    dy: Array, images: Array, factors: Array, value_range: tuple[float, float] = (0, 255), *, out: Array | None = None
) -> Array:
    """The gradient of adjust_contrast with respect to the images: with g = dy where the unclipped
    value lies in value_range (else 0), dx = f g + (1 - f) mean_hw(g) (the mean depends on x too).

    Shapes: dy, images float32 (N, H, W, C); factors float32 (N,); returns float32 (N, H, W, C).
    """
    desc = _contrast_backward(dy, images, factors, value_range, out=out)
    return _launch_contrast_backward(desc, dy, images, factors, out)


@preparable(_brightness, _launch_brightness)
def adjust_brightness(
    images: Array, deltas: Array, value_range: tuple[float, float] = (0, 255), *, out: Array | None = None
) -> Array:
    """clip(x + deltas[n], *value_range) (Keras 3's RandomBrightness, whose delta is its drawn factor
    times value_range[1] - value_range[0]: pass deltas in pixel units).

    Shapes: images float32 (N, H, W, C); deltas float32 (N,); returns float32 (N, H, W, C).
    ``out`` may be ``images`` (in place).
    """
    return _launch_brightness(_brightness(images, deltas, value_range, out=out), images, deltas, out)


@preparable(_brightness_backward, _launch_brightness_backward)
def adjust_brightness_backward(
    dy: Array, images: Array, deltas: Array, value_range: tuple[float, float] = (0, 255), *, out: Array | None = None
) -> Array:
    """The gradient of adjust_brightness: dy where value_range[0] <= x + delta <= value_range[1], else 0.

    Shapes: dy, images float32 (N, H, W, C); deltas float32 (N,); returns float32 (N, H, W, C).
    """
    desc = _brightness_backward(dy, images, deltas, value_range, out=out)
    return _launch_brightness_backward(desc, dy, images, deltas, out)


for _fn in (adjust_contrast, adjust_contrast_backward, adjust_brightness, adjust_brightness_backward):
    _fn.__doc__ = (_fn.__doc__ or "") + _COLOR_RAISES
del _fn
