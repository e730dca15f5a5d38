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

from ..registry import resolve_variant
from . import _device, _elementwise
from ._checks import as_bool, as_float, check_aliasing, check_float32, check_shape
from ._plan import descriptor, preparable, run


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
    device, infos, out_info = _elementwise.validate(op, {"x": x}, out, min_ndim=1, others=others, allow=("x",))
    channels = infos["x"].shape[-1]
    if channels == 0 or infos["x"].obj.size == 0:
        raise ValueError(f"{op}: `x` must hold at least one value per channel, got {infos['x'].describe()}.")
    _channel_arrays(op, infos, channels, others)
    if training and not (infos["running_mean"].writeable and infos["running_var"].writeable):
        raise ValueError(
            f"{op}: `running_mean` and `running_var` are updated in place in training: they must be "
            f"writeable (np.array(x) makes a writeable copy)."
        )
    if training:  # the running statistics are written too: no overlap with each other or any input
        # (out against the inputs was checked by validate: only the statistics here, ~200 ns a pair)
        stats = {name: infos[name] for name in ("running_mean", "running_var")}
        check_aliasing(op, stats, {**infos, **({"out": out_info} if out_info else {})})
    in_place = ("running_mean", "running_var") if training else ()
    return descriptor(
        op,
        device,
        infos,
        (training, momentum, epsilon, channels, variant),
        outputs={"out": infos["x"].shape},
        in_place=in_place,
        allow=(("out", "x"),),
    )


def _launch(desc, x, gamma, beta, running_mean, running_var, out):
    training, momentum, epsilon, channels, variant = desc.params
    op, device = desc.op, desc.device
    out = desc.output("out", out)
    mean = _device.empty(op, device, (channels,)) if training else running_mean
    invstd = _device.empty(op, device, (channels,))
    k, launch = _device.kernels(device), _device.launch_arg(device)
    if training:
        k.batch_norm_train(
            x, gamma, beta, running_mean, running_var, momentum, epsilon, out, mean, invstd, variant, launch
        )
    else:
        k.batch_norm_infer(x, gamma, beta, running_mean, running_var, epsilon, out, invstd, variant, launch)
    return out, mean, invstd


@preparable(_describe, _launch)
def batch_norm(
    x, gamma, beta, running_mean, running_var, *, training, momentum=0.99, epsilon=1e-3, out=None, variant=None
):
    """Returns ``(y, mean, invstd)``; hand mean and invstd to batch_norm_backward.

    training=True: batch statistics, running_mean/running_var updated in place.
    training=False: the running statistics; nothing is updated.

    Shapes: x (..., C) float32; gamma, beta, running_mean, running_var (C,) float32.
    Aliasing: ``out`` may be ``x`` itself (in place); in training, running_mean and
    running_var must share no memory with each other or with any other argument (in
    inference they are only read, and read-only arguments may share memory freely).
    Raises TypeError (dtype, device) and ValueError (shape, layout, aliasing, ranges).
    """
    return run(_describe, _launch, locals())


def _describe_backward(dy, x, gamma, mean, invstd, *, training, out=None, variant=None):
    """batch_norm_backward's descriptor step (sinapse.ops._plan)."""
    op = "batch_norm_backward"
    variant = resolve_variant("batch_norm", variant, op)
    training = as_bool(op, "training", training)
    others = {"x": x, "gamma": gamma, "mean": mean, "invstd": invstd}
    device, infos, _ = _elementwise.validate(op, {"dy": dy}, out, min_ndim=1, others=others, allow=("dy",))
    check_shape(op, "x", infos["x"], infos["dy"].shape, "the shape of dy")
    channels = infos["dy"].shape[-1]
    if channels == 0 or infos["dy"].obj.size == 0:
        raise ValueError(f"{op}: `dy` must hold at least one value per channel, got {infos['dy'].describe()}.")
    _channel_arrays(op, infos, channels, ("gamma", "mean", "invstd"))
    params = (training, channels, variant)
    return descriptor(op, device, infos, params, outputs={"out": infos["dy"].shape}, allow=(("out", "dy"),))


def _launch_backward(desc, dy, x, gamma, mean, invstd, out):
    training, channels, variant = desc.params
    op, device = desc.op, desc.device
    out = desc.output("out", out)
    dgamma, dbeta = _device.empty(op, device, (channels,)), _device.empty(op, device, (channels,))
    _device.kernels(device).batch_norm_backward(
        x, dy, gamma, mean, invstd, training, out, dgamma, dbeta, variant, _device.launch_arg(device)
    )
    return out, dgamma, dbeta


@preparable(_describe_backward, _launch_backward)
def batch_norm_backward(dy, x, gamma, mean, invstd, *, training, out=None, variant=None):
    """Returns ``(dx, dgamma, dbeta)`` given the forward's x, gamma, mean and invstd.

    Aliasing: ``out`` (dx) may be ``dy`` itself (in place); no other overlap.
    """
    return run(_describe_backward, _launch_backward, locals())
