"""sinapse.ops.dropout / dropout_backward: inverted dropout with a counter-based RNG.

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


def _rebind(desc, offset=None):
    """A prepared dropout's per-call ``offset`` (a training loop advances it at every call)."""
    rate, seed, prepared, _ = desc.params
    return prepared if offset is None else as_int(desc.op, "offset", offset, hi=2**64 - 1, what="an integer")


def _launch(desc, x, out, dynamic=None):
    rate, seed, offset, training = desc.params
    if not training:  # the identity, as Keras's Dropout at inference
        if out is None:
            return x
        _device.copy_into(out, x)
        return out
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
