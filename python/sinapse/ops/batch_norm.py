"""sinapse.ops.batch_norm / batch_norm_backward over the channel (last) axis (NHWC).

Keras's BatchNormalization: momentum 0.99 and epsilon 1e-3 by default; in training the
batch mean and biased variance normalise x and update the running statistics in place
(``running = momentum * running + (1 - momentum) * batch``); in inference the running
statistics normalise x. ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``.

variant: "naive" (the definition as loops, one channel at a time, one thread; on CUDA one
thread per channel) or "tuned" (the default, or $SINAPSE_BATCH_NORM), resolved by the
descriptor step (a plan keeps it). docs/kernels/batch_norm.md tells the steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..registry import resolve_variant
from . import _device, _elementwise
from ._checks import (
    Array,
    as_bool,
    as_float,
    check_aliasing,
    check_float32,
    check_outs,
    check_shape,
    inspect_outs,
    present,
)
from ._plan import descriptor, preparable, run

_RESULTS = ("y", "mean", "invstd")  # batch_norm's results: the order of its out=(...) tuple
_RESULTS_BACKWARD = ("dx", "dgamma", "dbeta")  # batch_norm_backward's


def _channel_arrays(op, infos, channels, names):
    for name in names:
        check_float32(op, name, infos[name], ndim=1)
        check_shape(op, name, infos[name], (channels,), "one value per channel (the last axis of x)")


def _describe(
    x, gamma, beta, running_mean, running_var, *, training, momentum=0.99, epsilon=1e-3, out=None, variant=None
):
    """batch_norm's descriptor step (sinapse.ops._plan)."""
    op = "batch_norm"
    variant = resolve_variant(op, variant)
    training = as_bool(op, "training", training)
    momentum, epsilon = as_float(op, "momentum", momentum), as_float(op, "epsilon", epsilon)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{op}: `momentum` must be in [0, 1], got {momentum}.")
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"{op}: `epsilon` must be positive and finite, got {epsilon}.")
    others = {"gamma": gamma, "beta": beta, "running_mean": running_mean, "running_var": running_var}
    outs = inspect_outs(op, out, _RESULTS)
    outs_given = {k: v.obj for k, v in present(outs).items()}
    device, infos, _ = _elementwise.validate(op, {"x": x}, None, min_ndim=1, others={**others, **outs_given})
    for k in outs_given:
        del infos[k]
    channels = infos["x"].shape[-1]
    if channels == 0 or infos["x"].obj.size == 0:
        raise ValueError(f"{op}: `x` must hold at least one value per channel, got {infos['x'].describe()}.")
    _channel_arrays(op, infos, channels, others)
    if training and not (infos["running_mean"].writeable and infos["running_var"].writeable):
        raise ValueError(
            f"{op}: `running_mean` and `running_var` are updated in place in training: they must be "
            f"writeable (np.array(x) makes a writeable copy)."
        )
    shapes = dict(zip(outs, (infos["x"].shape, (channels,), (channels,))))
    check_outs(op, outs, shapes, infos, allow=(("out[0]", "x"),))
    if training:  # the running statistics are written too: no overlap with each other or any input
        # (the results against the inputs were checked above: only the statistics here, ~200 ns a pair)
        stats = {name: infos[name] for name in ("running_mean", "running_var")}
        check_aliasing(op, stats, {**infos, **present(outs)})
    in_place = ("running_mean", "running_var") if training else ()
    return descriptor(
        op,
        device,
        infos,
        (training, momentum, epsilon, channels, variant),
        outputs=dict(zip(_RESULTS, shapes.values())),
        in_place=in_place,
        allow=(("y", "x"),),
        out_tuple=_RESULTS,
    )


def _launch(desc, x, gamma, beta, running_mean, running_var, out=None, mean=None, invstd=None):
    training, momentum, epsilon, channels, variant = desc.params
    device = desc.device
    out, invstd, given_mean = desc.output("y", out), desc.output("invstd", invstd), mean
    mean = desc.output("mean", mean) if training else running_mean  # inference: the running mean is the mean
    k, launch = _device.kernels(device), _device.launch_arg(device)
    if training:
        k.batch_norm_train(
            x, gamma, beta, running_mean, running_var, momentum, epsilon, out, mean, invstd, variant, launch
        )
    else:
        k.batch_norm_infer(x, gamma, beta, running_mean, running_var, epsilon, out, invstd, variant, launch)
    if not training and given_mean is not None:  # an out=(..., mean, ...) array: the running mean copied in
        _device.copy_into(given_mean, running_mean)
        mean = given_mean
    return out, mean, invstd


@preparable(_describe, _launch, out_tuple=_RESULTS)
def batch_norm(
    x: Array,
    gamma: Array,
    beta: Array,
    running_mean: Array,
    running_var: Array,
    *,
    training: bool,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
) -> tuple[Array, Array, Array]:
    """Returns ``(y, mean, invstd)``; hand mean and invstd to batch_norm_backward.

    training=True: batch statistics, running_mean/running_var updated in place.
    training=False: the running statistics; nothing is updated (mean is running_mean itself,
    or a copy of it in a given ``out`` entry).

    Shapes: x (..., C) float32; gamma, beta, running_mean, running_var (C,) float32; y the
    shape of x, mean and invstd (C,).
    out: None, or a tuple ``(y, mean, invstd)`` of preallocated float32 arrays or None
    (allocated), the NumPy ufunc convention; each of its result's shape, writeable.
    Aliasing: ``out[0]`` (y) may be ``x`` itself (in place); in training, running_mean and
    running_var must share no memory with each other or with any other argument (in
    inference they are only read, and read-only arguments may share memory freely).
    Raises TypeError (dtype, device) and ValueError (shape, layout, aliasing, ranges).

    Source: Ioffe & Szegedy 2015, "Batch Normalization" (Algorithm 1), with Keras's
    defaults and running-statistics update.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-bool
            ``training``.
        ValueError: a wrong shape (the per-channel arrays not (C,), x empty); ``momentum`` outside [0, 1] or
            ``epsilon`` not positive; read-only running statistics in training; a bad ``out`` (shape,
            read-only, non-contiguous, forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return run(_describe, _launch, locals())


def _describe_backward(dy, x, gamma, mean, invstd, *, training, out=None, variant=None):
    """batch_norm_backward's descriptor step (sinapse.ops._plan)."""
    op = "batch_norm_backward"
    variant = resolve_variant("batch_norm", variant, op)
    training = as_bool(op, "training", training)
    others = {"x": x, "gamma": gamma, "mean": mean, "invstd": invstd}
    outs = inspect_outs(op, out, _RESULTS_BACKWARD)
    outs_given = {k: v.obj for k, v in present(outs).items()}
    device, infos, _ = _elementwise.validate(op, {"dy": dy}, None, min_ndim=1, others={**others, **outs_given})
    for k in outs_given:
        del infos[k]
    check_shape(op, "x", infos["x"], infos["dy"].shape, "the shape of dy")
    channels = infos["dy"].shape[-1]
    if channels == 0 or infos["dy"].obj.size == 0:
        raise ValueError(f"{op}: `dy` must hold at least one value per channel, got {infos['dy'].describe()}.")
    _channel_arrays(op, infos, channels, ("gamma", "mean", "invstd"))
    shapes = dict(zip(outs, (infos["dy"].shape, (channels,), (channels,))))
    check_outs(op, outs, shapes, infos, allow=(("out[0]", "dy"),))
    params = (training, channels, variant)
    return descriptor(
        op,
        device,
        infos,
        params,
        outputs=dict(zip(_RESULTS_BACKWARD, shapes.values())),
        allow=(("dx", "dy"),),
        out_tuple=_RESULTS_BACKWARD,
    )


def _launch_backward(desc, dy, x, gamma, mean, invstd, out=None, dgamma=None, dbeta=None):
    training, channels, variant = desc.params
    device = desc.device
    out = desc.output("dx", out)
    dgamma, dbeta = desc.output("dgamma", dgamma), desc.output("dbeta", dbeta)
    _device.kernels(device).batch_norm_backward(
        x, dy, gamma, mean, invstd, training, out, dgamma, dbeta, variant, _device.launch_arg(device)
    )
    return out, dgamma, dbeta


@preparable(_describe_backward, _launch_backward, out_tuple=_RESULTS_BACKWARD)
def batch_norm_backward(
    dy: Array,
    x: Array,
    gamma: Array,
    mean: Array,
    invstd: Array,
    *,
    training: bool,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
) -> tuple[Array, Array, Array]:
    """Returns ``(dx, dgamma, dbeta)`` given the forward's x, gamma, mean and invstd:
    dx the shape of dy (..., C), dgamma and dbeta (C,), float32.

    out: None, or a tuple ``(dx, dgamma, dbeta)`` of preallocated float32 arrays or None
    (allocated), the NumPy ufunc convention.
    Aliasing: ``out[0]`` (dx) may be ``dy`` itself (in place); no other overlap.

    Source: Ioffe & Szegedy 2015 (the backward of Algorithm 1); training=False
    differentiates the inference formula (mean and invstd constants).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-bool
            ``training``.
        ValueError: dy and x of different shapes; gamma, mean or invstd not (C,); a bad ``out`` (shape,
            read-only, non-contiguous, forbidden overlap); an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return run(_describe_backward, _launch_backward, locals())
