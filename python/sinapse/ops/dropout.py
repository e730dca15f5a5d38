"""sinapse.ops.dropout / dropout_backward: inverted dropout with a counter-based RNG; its
channel-wise form (spatial_dropout) and Gaussian noise (gaussian_noise) from the same draws.

The mask of element i is ``u >= rate`` with u the uniform (i % 4) of Philox4x32-10 counter
block ``offset + i // 4`` under key ``seed`` (csrc/common/philox.h): a pure function of
(seed, offset, i). So the CPU and CUDA kernels draw bit-identical masks, the backward
recomputes the forward's mask instead of storing it, and a training loop advances
``offset`` by ``ceil(x.size / 4)`` per call to get fresh masks.
"""

from __future__ import annotations

import math

from . import _device, _elementwise
from ._checks import CPU, Array, as_bool, as_float, as_int
from ._plan import descriptor, preparable


def _check(op, rate, seed, offset):
    rate = as_float(op, "rate", rate)
    if not (0.0 <= rate < 1.0) or math.isnan(rate):
        raise ValueError(f"{op}: `rate` must be in [0, 1), got {rate}.")
    seed = as_int(op, "seed", seed, hi=2**64 - 1, what="an integer")
    offset = as_int(op, "offset", offset, hi=2**64 - 1, what="an integer")
    return rate, seed, offset


def _describe(op, name, x, rate, seed, offset, training, out):
    rate, seed, offset = _check(op, rate, seed, offset)
    training = as_bool(op, "training", training)
    if not training and out is None:  # the identity: x itself, whatever it is (as Keras)
        return descriptor(op, CPU, {name: None}, (rate, seed, offset, training))
    device, infos, _ = _elementwise.validate(op, {name: x}, out, allow=(name,))
    return descriptor(
        op, device, infos, (rate, seed, offset, training), outputs={"out": infos[name].shape}, allow=(("out", name),)
    )


def _identity(x, out):
    """Inference: x itself, or copied into ``out`` when given."""
    if out is None:
        return x
    _device.copy_into(out, x)
    return out


def _rebind(desc, offset=None):
    """A prepared dropout's per-call ``offset`` (a training loop advances it at every call)."""
    rate, seed, prepared, _ = desc.params
    return prepared if offset is None else as_int(desc.op, "offset", offset, hi=2**64 - 1, what="an integer")


def _launch(desc, x, out, dynamic=None):
    rate, seed, offset, training = desc.params
    if not training:  # the identity, as Keras's Dropout at inference
        return _identity(x, out)
    offset = offset if dynamic is None else dynamic
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).dropout(x, out, rate, seed, offset, _device.launch_arg(device))
    return out


def _describe_forward(x, rate, seed, offset=0, *, training=True, out=None):
    return _describe("dropout", "x", x, rate, seed, offset, training, out)


def _describe_backward(dy, rate, seed, offset=0, *, out=None):
    return _describe("dropout_backward", "dy", dy, rate, seed, offset, True, out)


@preparable(_describe_forward, _launch, rebind=_rebind)
def dropout(
    x: Array, rate: float, seed: int, offset: int = 0, *, training: bool = True, out: Array | None = None
) -> Array:
    """``x * mask / (1 - rate)``, each element dropped with probability ``rate``.

    With ``training=False`` it is the identity: ``x`` itself is returned (or copied into
    ``out`` when given), as Keras's Dropout does at inference.

    seed, offset: ints in [0, 2**64) (TypeError for non-ints, ValueError out of range).
    Aliasing: ``out`` may be ``x`` itself (in place); no other overlap.

    Shapes: x float32, any shape; the result has its shape. rate: a float in [0, 1).
    Sources: Srivastava et al. 2014 (dropout; the inverted scaling as Keras's Dropout);
    Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3" (Philox4x32-10).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            seed/offset; non-bool ``training``.
        ValueError: ``rate`` outside [0, 1); seed or offset outside [0, 2**64); non-contiguous x; a bad
            ``out`` (shape, read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch(_describe_forward(x, rate, seed, offset, training=training, out=out), x, out)


@preparable(_describe_backward, _launch, rebind=_rebind)
def dropout_backward(dy: Array, rate: float, seed: int, offset: int = 0, *, out: Array | None = None) -> Array:
    """The gradient: ``dy`` through the same mask and scale as the forward (same seed/offset).

    Aliasing: ``out`` may be ``dy`` itself (in place); no other overlap.

    Shapes: dy float32, any shape; the result has its shape (Srivastava et al. 2014).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            seed/offset.
        ValueError: ``rate`` outside [0, 1); seed or offset outside [0, 2**64); non-contiguous dy; a bad
            ``out`` (shape, read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch(_describe_backward(dy, rate, seed, offset, out=out), dy, out)


# ------------------------------------------------------------- spatial dropout, Gaussian noise


def _lane(op, lane):
    return as_int(op, "lane", lane, hi=3, what="an integer")


def _describe_spatial(op, name, x, rate, seed, offset, lane, training, out):
    rate, seed, offset = _check(op, rate, seed, offset)
    lane, training = _lane(op, lane), as_bool(op, "training", training)
    if not training and out is None:
        return descriptor(op, CPU, {name: None}, (rate, seed, offset, lane, training, 1))
    device, infos, _ = _elementwise.validate(op, {name: x}, out, min_ndim=2, allow=(name,))
    shape = infos[name].shape
    inner = math.prod(shape[1:-1])
    if shape[-1] == 0 or inner == 0:
        raise ValueError(f"{op}: `{name}` must have at least one position and channel per row, got shape {shape}.")
    params = (rate, seed, offset, lane, training, inner)
    return descriptor(op, device, infos, params, outputs={"out": shape}, allow=(("out", name),))


def _launch_spatial(desc, x, out):
    rate, seed, offset, lane, training, inner = desc.params
    if not training:
        return _identity(x, out)
    out, device = desc.output("out", out), desc.device
    channels = x.shape[-1]
    _device.kernels(device).dropout_channels(
        x, out, inner, channels, rate, seed, offset, lane, _device.launch_arg(device)
    )
    return out


def _describe_spatial_forward(x, rate, seed, offset=0, *, lane=0, training=True, out=None):
    return _describe_spatial("spatial_dropout", "x", x, rate, seed, offset, lane, training, out)


def _describe_spatial_backward(dy, rate, seed, offset=0, *, lane=0, out=None):
    return _describe_spatial("spatial_dropout_backward", "dy", dy, rate, seed, offset, lane, True, out)


@preparable(_describe_spatial_forward, _launch_spatial)
def spatial_dropout(
    x: Array, rate: float, seed: int, offset: int = 0, *, lane: int = 0, training: bool = True, out: Array | None = None
) -> Array:
    """Channel-wise inverted dropout (Keras's SpatialDropout1D/2D/3D): x is (N, ..., C); each
    (sample, channel) is kept with probability 1 - rate (scaled by 1 / (1 - rate)) or zeroed at
    every position of that sample. The draw of (n, c) is ``lane + n * C + c`` in the Philox
    stream of :func:`dropout` (uniform ``d % 4`` of block ``offset + d // 4``), so a training loop
    advances ``offset`` by ``ceil((lane + N * C) / 4)``; ``lane`` in [0, 3] starts a distributed
    shard inside a block. ``training=False``: the identity (x itself, or copied into ``out``).

    Shapes: x float32, at least 2-D, with at least one position and channel per row; the result
    has x's shape. Aliasing: ``out`` may be ``x`` itself (in place); no other overlap.
    Sources: Tompson et al. 2015, "Efficient object localization using convolutional networks"
    (spatial dropout); Salmon et al. 2011 (Philox4x32-10).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            seed/offset/lane; non-bool ``training``.
        ValueError: ``rate`` outside [0, 1); seed or offset outside [0, 2**64); lane outside [0, 3]; x
            below 2-D or without positions or channels; a bad ``out`` (shape, read-only, non-contiguous,
            forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_spatial(
        _describe_spatial_forward(x, rate, seed, offset, lane=lane, training=training, out=out), x, out
    )


@preparable(_describe_spatial_backward, _launch_spatial)
def spatial_dropout_backward(
    dy: Array, rate: float, seed: int, offset: int = 0, *, lane: int = 0, out: Array | None = None
) -> Array:
    """The gradient of :func:`spatial_dropout`: dy through the same channel masks and scale (same
    seed, offset and lane). Shapes and aliasing as the forward's (Tompson et al. 2015).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            seed/offset/lane.
        ValueError: ``rate`` outside [0, 1); seed or offset outside [0, 2**64); lane outside [0, 3]; dy
            below 2-D or without positions or channels; a bad ``out`` (shape, read-only, non-contiguous,
            forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_spatial(_describe_spatial_backward(dy, rate, seed, offset, lane=lane, out=out), dy, out)


def _describe_noise(x, stddev, seed, offset=0, *, lane=0, training=True, out=None):
    op = "gaussian_noise"
    stddev = as_float(op, "stddev", stddev)
    if not (0.0 <= stddev) or not math.isfinite(stddev):
        raise ValueError(f"{op}: `stddev` must be a finite number >= 0, got {stddev}.")
    _, seed, offset = _check(op, 0.0, seed, offset)
    lane, training = _lane(op, lane), as_bool(op, "training", training)
    if not training and out is None:
        return descriptor(op, CPU, {"x": None}, (stddev, seed, offset, lane, training))
    device, infos, _ = _elementwise.validate(op, {"x": x}, out, allow=("x",))
    params = (stddev, seed, offset, lane, training)
    return descriptor(op, device, infos, params, outputs={"out": infos["x"].shape}, allow=(("out", "x"),))


def _launch_noise(desc, x, out):
    stddev, seed, offset, lane, training = desc.params
    if not training:
        return _identity(x, out)
    out, device = desc.output("out", out), desc.device
    _device.kernels(device).gaussian_noise(x, out, stddev, seed, offset, lane, _device.launch_arg(device))
    return out


@preparable(_describe_noise, _launch_noise)
def gaussian_noise(
    x: Array,
    stddev: float,
    seed: int,
    offset: int = 0,
    *,
    lane: int = 0,
    training: bool = True,
    out: Array | None = None,
) -> Array:
    """``x + stddev * z`` with z standard normal (Keras's GaussianNoise); the identity with
    ``training=False`` (x itself, or copied into ``out``). The gradient is dy itself.

    Element i uses normal ``d % 4`` of Philox block ``offset + d // 4``, d = lane + i: the block's
    words (0, 1) and (2, 3) through the Box-Muller transform (csrc/common/philox_normal.h), so the
    CPU and CUDA kernels give the same bits; a training loop advances ``offset`` by
    ``ceil((lane + x.size) / 4)``. stddev: a finite float >= 0.

    Shapes: x float32, any shape; the result has its shape. Aliasing: ``out`` may be ``x`` itself.
    Sources: Box & Muller 1958, "A note on the generation of random normal deviates"; Salmon et
    al. 2011 (Philox4x32-10).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-int
            seed/offset/lane; a non-number stddev; non-bool ``training``.
        ValueError: stddev negative or not finite; seed or offset outside [0, 2**64); lane outside
            [0, 3]; a bad ``out`` (shape, read-only, non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_noise(_describe_noise(x, stddev, seed, offset, lane=lane, training=training, out=out), x, out)
