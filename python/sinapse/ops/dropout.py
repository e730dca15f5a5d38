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
from ._checks import as_bool, as_float, as_int


def _check(op, rate, seed, offset):
    rate = as_float(op, "rate", rate)
    if not (0.0 <= rate < 1.0) or math.isnan(rate):
        raise ValueError(f"{op}: `rate` must be in [0, 1), got {rate}.")
    seed = as_int(op, "seed", seed, hi=2**64 - 1, what="an integer")
    offset = as_int(op, "offset", offset, hi=2**64 - 1, what="an integer")
    return rate, seed, offset


def _run(op, name, x, rate, seed, offset, out):
    device, infos, out, out_info = _elementwise.prepare(op, {name: x}, out, allow=(name,))
    with _device.kernel_arrays(device, {"x": x, "out": out}, written=("out",)) as arr:
        _device.kernels(device).dropout(arr["x"], arr["out"], rate, seed, offset, **_device.launch_options(device))
    return out


def dropout(x, rate, seed, offset=0, *, training=True, out=None):
    """``x * mask / (1 - rate)``, each element dropped with probability ``rate``.

    With ``training=False`` it is the identity: ``x`` itself is returned (or copied into
    ``out`` when given), as Keras's Dropout does at inference.

    seed, offset: ints in [0, 2**64) (TypeError for non-ints, ValueError out of range).
    Aliasing: ``out`` may be ``x`` itself (in place); no other overlap.
    """
    op = "dropout"
    rate, seed, offset = _check(op, rate, seed, offset)
    if not as_bool(op, "training", training):
        if out is None:
            return x
        _elementwise.prepare(op, {"x": x}, out, allow=("x",))
        _device.copy_into(out, x)
        return out
    return _run(op, "x", x, rate, seed, offset, out)


def dropout_backward(dy, rate, seed, offset=0, *, out=None):
    """The gradient: ``dy`` through the same mask and scale as the forward (same seed/offset).

    Aliasing: ``out`` may be ``dy`` itself (in place); no other overlap.
    """
    op = "dropout_backward"
    rate, seed, offset = _check(op, rate, seed, offset)
    return _run(op, "dy", dy, rate, seed, offset, out)
