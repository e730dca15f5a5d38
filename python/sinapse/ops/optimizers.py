"""Fused optimizer updates (one kernel pass per step, param and state updated in place) and
gradient clipping, on the CPU and on CUDA. Formulas are Keras 3's, in Keras's operation
order (docs/kernels/optimizers.md derives them and lists where PyTorch differs):

    sgd_update       momentum == 0:  w = w - lr * g
                     momentum > 0:   velocity = momentum * velocity - lr * g
                                     w = w + velocity                       (nesterov=False)
                                     w = w + momentum * velocity - lr * g   (nesterov=True)
    adagrad_update   accumulator += g^2;  w -= lr * g / sqrt(accumulator + epsilon)
    adadelta_update  accumulated_grad = rho * accumulated_grad + (1 - rho) * g^2
                     delta = -sqrt(accumulated_delta + epsilon) * g / sqrt(accumulated_grad + epsilon)
                     accumulated_delta = rho * accumulated_delta + (1 - rho) * delta^2
                     w += lr * delta
    rmsprop_update   velocity = rho * velocity + (1 - rho) * g^2
                     centered: average_grad = rho * average_grad + (1 - rho) * g
                               denominator = velocity - average_grad^2 + epsilon
                     else      denominator = velocity + epsilon
                     increment = lr * g / sqrt(denominator)
                     momentum > 0: momentum_buffer = momentum * momentum_buffer + increment; w -= momentum_buffer
                     else          w -= increment
    adam_update      m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
                     amsgrad: vhat = max(vhat, v), used in place of v
                     w -= m * alpha / (sqrt(v) + epsilon),  alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
                     (t = ``step``, the 1-based step count; AdamW is adam_update with weight_decay > 0)

Every update also takes, applied first and in this order:

    g = g * grad_scale                         (clip by norm / global norm: see clip_scale)
    g = clip(g, -clipvalue, clipvalue)         (clipvalue=None: off)
    g = g + l2 * w                             (coupled L2, PyTorch's ``weight_decay``)
    w = w - w * weight_decay * learning_rate   (Keras 3's decoupled weight decay, as AdamW)

Arrays: float32, C-contiguous, one shape (any), one device; the state arrays start as
zeros (Adagrad's accumulator as ``initial_accumulator_value``, Keras's default 0.1).

Aliasing: an update writes ``param`` and every state array in place, so those and ``grad``
must all be separate memory (ValueError naming the pair otherwise). The clipping ops'
``out`` may be their input itself (in place), nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import _device, _enums
from ._checks import (
    CPU,
    FLOAT32_MAX,
    Array,
    as_bool,
    as_float,
    as_int,
    backend,
    check_aliasing,
    check_float32,
    check_shape,
    inspect,
)
from ._plan import descriptor, preparable, run

_KINDS = _enums.OPTIMIZERS  # names -> codes (csrc/common/enums.h)


def _scalar(op, name, value, *, lo=0.0, hi=math.inf, hi_open=False):
    """A finite real in [lo, hi] (or [lo, hi)): ValueError naming the op otherwise."""
    x = as_float(op, name, value)
    if not (math.isfinite(x) and lo <= x and (x < hi if hi_open else x <= hi)):
        bracket = ")" if hi_open else "]"
        raise ValueError(f"{op}: `{name}` must be a finite number in [{lo}, {hi}{bracket}, got {value!r}.")
    return x


def _clipvalue(op, clipvalue):
    if clipvalue is None:
        return 0.0
    x = as_float(op, "clipvalue", clipvalue)
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"{op}: `clipvalue` must be None or a positive finite number, got {clipvalue!r}.")
    return x


def _grad_scale(op, grad_scale):
    x = as_float(op, "grad_scale", grad_scale)
    if x < 0:  # NaN passes: a non-finite global norm makes the step NaN, as in Keras
        raise ValueError(f"{op}: `grad_scale` must not be negative, got {grad_scale!r}.")
    return x


def _step(op, step):
    return as_int(op, "step", step, lo=1, what="an int >= 1 (iterations + 1)")


def _describe_update(
    op,
    kind,
    param,
    grad,
    slots,
    needed,
    *,
    learning_rate,
    weight_decay,
    l2,
    grad_scale,
    clipvalue,
    momentum=0.0,
    rho=0.0,
    beta_1=0.0,
    beta_2=0.0,
    epsilon=0.0,
    step=1,
    nesterov=False,
    centered=False,
    amsgrad=False,
    simd=None,
):
    """An update's descriptor step. ``slots``: three (name, array or None), the op's state
    arguments first (name "" for none); ``needed``: for each, why it is required, or None
    when the options leave it unused (it must then be None)."""
    lr = _scalar(op, "learning_rate", learning_rate)
    decay = (_scalar(op, "weight_decay", weight_decay), _scalar(op, "l2", l2))
    dynamic = (lr, _grad_scale(op, grad_scale), _step(op, step))
    fixed = (*decay, _clipvalue(op, clipvalue))
    infos = {"param": inspect(op, "param", param), "grad": inspect(op, "grad", grad)}
    for (name, arr), why in zip(slots, needed):
        if why is not None and arr is None:
            raise ValueError(
                f"{op}: {why} needs `{name}` (an array like `param`; see the docstring for its initial value)."
            )
        if why is None and arr is not None:
            raise ValueError(f"{op}: `{name}` is not used with these options; pass None.")
        if arr is not None:
            infos[name] = inspect(op, name, arr)
    device = backend(op, infos)
    shape = infos["param"].shape
    for name, info in infos.items():
        check_float32(op, name, info)
        if name != "param":
            check_shape(op, name, info, shape, "the shape of `param`")
    # param and every state slot are written: no memory shared with each other or with grad.
    check_aliasing(op, {n: i for n, i in infos.items() if n != "grad"}, {"grad": infos["grad"]})
    rates = (float(momentum), float(rho), float(beta_1), float(beta_2), float(epsilon))
    tail = (
        as_bool(op, "nesterov", nesterov),
        as_bool(op, "centered", centered),
        as_bool(op, "amsgrad", amsgrad),
        _device.simd(device, simd, op),  # "" (no simd=): the process setting at each call
    )
    state = [name for name, _ in slots if name]
    # the arrays in the op's order, an absent state slot as None
    arrays = {"param": infos["param"], "grad": infos["grad"], **{n: infos.get(n) for n in state}}
    written = ("param", *(n for n in state if arrays[n] is not None))
    params = (kind, fixed, rates, tail, dynamic)
    return descriptor(op, device, arrays, params, in_place=written)


def _rebind(desc, learning_rate=None, step=None, grad_scale=None):
    """The per-call scalars of a prepared update (None: as prepared), checked as the op checks them."""
    op, (lr, scale, t) = desc.op, desc.params[4]
    if learning_rate is not None:
        fast = type(learning_rate) is float and 0.0 <= learning_rate <= FLOAT32_MAX
        lr = learning_rate if fast else _scalar(op, "learning_rate", learning_rate)
    if grad_scale is not None:
        fast = type(grad_scale) is float and 0.0 <= grad_scale <= FLOAT32_MAX
        scale = grad_scale if fast else _grad_scale(op, grad_scale)
    if step is not None:
        t = step if type(step) is int and 1 <= step < 2**63 else _step(op, step)
    return lr, scale, t


def _launch_update(desc, param, grad, s0=None, s1=None, s2=None, dynamic=None):
    kind, (weight_decay, l2, clipvalue), (momentum, rho, beta_1, beta_2, epsilon), tail, prepared = desc.params
    lr, grad_scale, step = prepared if dynamic is None else dynamic
    nesterov, centered, amsgrad, simd = tail
    _device.kernels(desc.device).optimizer_update(
        kind,
        param,
        grad,
        s0,
        s1,
        s2,
        lr,
        weight_decay,
        l2,
        grad_scale,
        clipvalue,
        momentum,
        rho,
        beta_1,
        beta_2,
        epsilon,
        step,
        nesterov,
        centered,
        amsgrad,
        simd,
        _device.launch_arg(desc.device),
    )


def _sgd(param, grad, velocity, *, momentum, nesterov, **common):
    """sgd_update's descriptor step (sinapse.ops._plan)."""
    op = "sgd_update"
    momentum = _scalar(op, "momentum", momentum, hi=1.0)
    return _describe_update(
        op,
        _KINDS["sgd"],
        param,
        grad,
        [("velocity", velocity), ("", None), ("", None)],
        [f"momentum={momentum}" if momentum != 0 else None, None, None],
        momentum=momentum,
        nesterov=nesterov,
        **common,
    )


@preparable(_sgd, _launch_update, rebind=_rebind)
def sgd_update(
    param: Array,
    grad: Array,
    velocity: Array | None = None,
    *,
    learning_rate: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    l2: float = 0.0,
    grad_scale: float = 1.0,
    clipvalue: float | None = None,
    simd: str | None = None,
) -> None:
    """One Keras SGD step in place. ``velocity`` (zeros at the start) is needed iff momentum > 0.

    Source: Keras 3 ``keras.optimizers.SGD`` (Nesterov: Sutskever et al. 2013).
    Shapes: param, grad and every state array float32, one shape (any), C-contiguous;
    returns None (param and the state are updated in place).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-number
            scalars; non-bool flags.
        ValueError: a scalar out of range (learning_rate, weight_decay, l2, grad_scale < 0, clipvalue <= 0,
            momentum outside [0, 1]); a state array missing for the options, or given when unused; mismatched
            shapes; param, grad and the state sharing memory.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    run(_sgd, _launch_update, locals())


def _adagrad(param, grad, accumulator, *, epsilon, **common):
    """adagrad_update's descriptor step (sinapse.ops._plan)."""
    op = "adagrad_update"
    return _describe_update(
        op,
        _KINDS["adagrad"],
        param,
        grad,
        [("accumulator", accumulator), ("", None), ("", None)],
        ["Adagrad", None, None],
        epsilon=_scalar(op, "epsilon", epsilon),
        **common,
    )


@preparable(_adagrad, _launch_update, rebind=_rebind)
def adagrad_update(
    param: Array,
    grad: Array,
    accumulator: Array,
    *,
    learning_rate: float,
    epsilon: float = 1e-7,
    weight_decay: float = 0.0,
    l2: float = 0.0,
    grad_scale: float = 1.0,
    clipvalue: float | None = None,
    simd: str | None = None,
) -> None:
    """One Keras Adagrad step in place; ``accumulator`` starts at initial_accumulator_value (Keras: 0.1).

    Source: Duchi et al. 2011, in Keras 3's ``keras.optimizers.Adagrad`` form.
    Shapes: param, grad and every state array float32, one shape (any), C-contiguous;
    returns None (param and the state are updated in place).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-number
            scalars; non-bool flags.
        ValueError: a scalar out of range (learning_rate, weight_decay, l2, grad_scale < 0, clipvalue <= 0,
            epsilon < 0); a state array missing for the options, or given when unused; mismatched shapes;
            param, grad and the state sharing memory.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    run(_adagrad, _launch_update, locals())


def _adadelta(param, grad, accumulated_grad, accumulated_delta, *, rho, epsilon, **common):
    """adadelta_update's descriptor step (sinapse.ops._plan)."""
    op = "adadelta_update"
    return _describe_update(
        op,
        _KINDS["adadelta"],
        param,
        grad,
        [("accumulated_grad", accumulated_grad), ("accumulated_delta", accumulated_delta), ("", None)],
        ["Adadelta", "Adadelta", None],
        rho=_scalar(op, "rho", rho, hi=1.0),
        epsilon=_scalar(op, "epsilon", epsilon),
        **common,
    )


@preparable(_adadelta, _launch_update, rebind=_rebind)
def adadelta_update(
    param: Array,
    grad: Array,
    accumulated_grad: Array,
    accumulated_delta: Array,
    *,
    learning_rate: float,
    rho: float = 0.95,
    epsilon: float = 1e-7,
    weight_decay: float = 0.0,
    l2: float = 0.0,
    grad_scale: float = 1.0,
    clipvalue: float | None = None,
    simd: str | None = None,
) -> None:
    """One Keras Adadelta step in place; both accumulators start at zero.

    Source: Zeiler 2012, in Keras 3's ``keras.optimizers.Adadelta`` form.
    Shapes: param, grad and every state array float32, one shape (any), C-contiguous;
    returns None (param and the state are updated in place).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-number
            scalars; non-bool flags.
        ValueError: a scalar out of range (learning_rate, weight_decay, l2, grad_scale < 0, clipvalue <= 0,
            rho outside [0, 1]); a state array missing for the options, or given when unused; mismatched
            shapes; param, grad and the state sharing memory.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    run(_adadelta, _launch_update, locals())


def _rmsprop(param, grad, velocity, momentum_buffer, average_grad, *, rho, momentum, epsilon, centered, **common):
    """rmsprop_update's descriptor step (sinapse.ops._plan)."""
    op = "rmsprop_update"
    momentum = _scalar(op, "momentum", momentum, hi=1.0)
    return _describe_update(
        op,
        _KINDS["rmsprop"],
        param,
        grad,
        [("velocity", velocity), ("momentum_buffer", momentum_buffer), ("average_grad", average_grad)],
        ["RMSprop", f"momentum={momentum}" if momentum > 0 else None, "centered=True" if centered else None],
        rho=_scalar(op, "rho", rho, hi=1.0),
        momentum=momentum,
        epsilon=_scalar(op, "epsilon", epsilon),
        centered=centered,
        **common,
    )


@preparable(_rmsprop, _launch_update, rebind=_rebind)
def rmsprop_update(
    param: Array,
    grad: Array,
    velocity: Array,
    momentum_buffer: Array | None = None,
    average_grad: Array | None = None,
    *,
    learning_rate: float,
    rho: float = 0.9,
    momentum: float = 0.0,
    epsilon: float = 1e-7,
    centered: bool = False,
    weight_decay: float = 0.0,
    l2: float = 0.0,
    grad_scale: float = 1.0,
    clipvalue: float | None = None,
    simd: str | None = None,
) -> None:
    """One Keras RMSprop step in place. State, zeros at the start: ``velocity`` always,
    ``momentum_buffer`` iff momentum > 0, ``average_grad`` iff centered.

    Source: Hinton's lecture 6e (2012), in Keras 3's ``keras.optimizers.RMSprop`` form.
    Shapes: param, grad and every state array float32, one shape (any), C-contiguous;
    returns None (param and the state are updated in place).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-number
            scalars; non-bool flags.
        ValueError: a scalar out of range (learning_rate, weight_decay, l2, grad_scale < 0, clipvalue <= 0,
            rho or momentum outside [0, 1]); a state array missing for the options, or given when unused;
            mismatched shapes; param, grad and the state sharing memory.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    run(_rmsprop, _launch_update, locals())


def _adam(param, grad, m, v, vhat, *, step, beta_1, beta_2, epsilon, amsgrad, **common):
    """adam_update's descriptor step (sinapse.ops._plan)."""
    op = "adam_update"
    return _describe_update(
        op,
        _KINDS["adam"],
        param,
        grad,
        [("m", m), ("v", v), ("vhat", vhat)],
        ["Adam", "Adam", "amsgrad=True" if amsgrad else None],
        beta_1=_scalar(op, "beta_1", beta_1, hi=1.0, hi_open=True),
        beta_2=_scalar(op, "beta_2", beta_2, hi=1.0, hi_open=True),
        epsilon=_scalar(op, "epsilon", epsilon),
        step=_step(op, step),
        amsgrad=amsgrad,
        **common,
    )


@preparable(_adam, _launch_update, rebind=_rebind)
def adam_update(
    param: Array,
    grad: Array,
    m: Array,
    v: Array,
    vhat: Array | None = None,
    *,
    learning_rate: float,
    step: int,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    amsgrad: bool = False,
    weight_decay: float = 0.0,
    l2: float = 0.0,
    grad_scale: float = 1.0,
    clipvalue: float | None = None,
    simd: str | None = None,
) -> None:
    """One Keras Adam (AdamW when weight_decay > 0) step in place. ``step`` is t, 1 on the
    first step; ``m``, ``v`` (and ``vhat`` iff amsgrad) start at zero.

    Source: Kingma & Ba 2015 (Algorithm 1, the epsilon-hat form), Keras 3's
    ``keras.optimizers.Adam``; AMSGrad: Reddi et al. 2018; AdamW: Loshchilov & Hutter 2019.
    Shapes: param, grad and every state array float32, one shape (any), C-contiguous;
    returns None (param and the state are updated in place).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; non-number
            scalars; a non-int ``step``; non-bool flags.
        ValueError: a scalar out of range (learning_rate, weight_decay, l2, grad_scale < 0, clipvalue <= 0,
            beta_1/beta_2 outside [0, 1), step < 1); a state array missing for the options, or given when
            unused; mismatched shapes; param, grad and the state sharing memory.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    run(_adam, _launch_update, locals())


# ------------------------------------------------------------------------ gradient clipping

SUM_SQUARES_PARTIALS = 256  # CUDA: per-array partial sums, combined in a fixed order


def _float32_arrays(op, arrays):
    if isinstance(arrays, (str, bytes)) or not hasattr(arrays, "__iter__"):
        raise TypeError(f"{op}: `arrays` must be a list of arrays, got {type(arrays).__name__}.")
    infos = {f"arrays[{i}]": inspect(op, f"arrays[{i}]", a) for i, a in enumerate(arrays)}
    device = backend(op, infos)
    for name, info in infos.items():
        check_float32(op, name, info)
    return device, infos


def global_norm(arrays: Sequence[Array], *, simd: str | None = None) -> float:
    """sqrt(sum of x**2 over every element of every array), as a Python float.

    Each array is reduced by its own kernel into a float64 sum (fixed-size blocks combined in
    a fixed order: the same bits for any thread count or launch), and the per-array sums are
    added in list order. On CUDA this is one device-to-host copy of len(arrays) doubles.

    arrays: a list of float32 arrays of any shapes, on one device.

    Raises:
        TypeError: ``arrays`` not a list of float32 arrays, or arrays on different devices.
        ValueError: a non-contiguous array.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    op = "global_norm"
    device, infos = _float32_arrays(op, arrays)
    return _norm(op, device, infos, simd)


def _norm(op, device, infos, simd=None) -> float:
    """global_norm of already validated arrays (infos: name -> ArrayInfo, one device)."""
    kernels, launch = _device.kernels(device), _device.launch_arg(device)
    if device == CPU:
        path = _device.simd(device, simd, op)
        return math.sqrt(sum(kernels.sum_squares(info.obj, path, launch) for info in infos.values()))
    # CUDA: each array is reduced on the device into its own row of `work` (the sum, then the
    # partial sums), and the sums come to the host in one copy (sum_squares_into).
    k = len(infos)
    if device == "cuda":
        from ..devices import import_cupy

        work = import_cupy().empty((max(k, 1), SUM_SQUARES_PARTIALS + 1), dtype=np.float64)
    else:
        work = np.empty((max(k, 1), SUM_SQUARES_PARTIALS + 1), dtype=np.float64)
    for i, info in enumerate(infos.values()):
        kernels.sum_squares_into(info.obj, work[i], launch)
    sums = work[:k, 0] if device != "cuda" else work[:k, 0].get()
    return math.sqrt(sum(float(s) for s in sums))


def clip_scale(norm: float, clipnorm: float) -> float:
    """Keras's factor ``clipnorm * min(1 / norm, 1 / clipnorm)``: 1 when norm <= clipnorm,
    clipnorm / norm above; NaN when the norm is not finite (as Keras: the step turns NaN)."""
    if not math.isfinite(norm):
        return math.nan
    return 1.0 if norm <= clipnorm else clipnorm / norm


def _clip_prepare(op, x, out, xname="x", outname="out"):
    """Validate one clipping input and its ``out`` (which may be the input itself, exactly:
    in place); returns (device, x_info, out, out_info)."""
    xi = inspect(op, xname, x)
    oi = inspect(op, outname, out) if out is not None else None
    device = backend(op, {xname: xi, **({outname: oi} if oi else {})})
    check_float32(op, xname, xi)
    if oi is None:
        out = _device.empty(op, device, xi.shape)
        oi = inspect(op, outname, out)
    else:
        check_float32(op, outname, oi)
        check_shape(op, outname, oi, xi.shape, f"the shape of `{xname}`")
        check_aliasing(op, {outname: oi}, {xname: xi}, allow=((outname, xname),))
    return device, xi, out, oi


def _scale_clip(device, x, out, scale, clipvalue):
    _device.kernels(device).scale_clip(x, out, scale, clipvalue, _device.launch_arg(device))
    return out


def _clipnorm(op, clipnorm):
    x = as_float(op, "clipnorm", clipnorm)
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"{op}: `clipnorm` must be a positive finite number, got {clipnorm!r}.")
    return x


def _describe_clip(op, x, out, limit):
    """clip_by_value's and clip_by_norm's descriptor step (sinapse.ops._plan)."""
    xi = inspect(op, "x", x)
    oi = inspect(op, "out", out) if out is not None else None
    device = backend(op, {"x": xi, **({"out": oi} if oi else {})})
    check_float32(op, "x", xi)
    if oi is not None:
        check_float32(op, "out", oi)
        check_shape(op, "out", oi, xi.shape, "the shape of `x`")
        check_aliasing(op, {"out": oi}, {"x": xi}, allow=(("out", "x"),))
    return descriptor(op, device, {"x": xi}, limit, outputs={"out": xi.shape}, allow=(("out", "x"),))


def _describe_clip_by_value(x, clipvalue, *, out=None):
    op = "clip_by_value"
    if clipvalue is None:  # None means "no clipping" to the optimizer updates; here it is a mistake
        raise TypeError(f"{op}: `clipvalue` must be a positive finite number, got None.")
    return _describe_clip(op, x, out, _clipvalue(op, clipvalue))


def _launch_clip_by_value(desc, x, out):
    return _scale_clip(desc.device, x, desc.output("out", out), 1.0, desc.params)


@preparable(_describe_clip_by_value, _launch_clip_by_value)
def clip_by_value(x: Array, clipvalue: float, *, out: Array | None = None) -> Array:
    """``clip(x, -clipvalue, clipvalue)``; ``out`` may be ``x`` itself (in place), no other overlap.

    Shapes: x float32, any shape; the result has its shape (Keras's ``clipvalue``).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; clipvalue None
            or not a number.
        ValueError: clipvalue not positive and finite; non-contiguous x; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_clip_by_value(_describe_clip_by_value(x, clipvalue, out=out), x, out)


def _describe_clip_by_norm(x, clipnorm, *, out=None):
    op = "clip_by_norm"
    return _describe_clip(op, x, out, _clipnorm(op, clipnorm))


def _launch_clip_by_norm(desc, x, out):
    norm = _norm(desc.op, desc.device, {"x": inspect(desc.op, "x", x)})  # the data's: at every call
    return _scale_clip(desc.device, x, desc.output("out", out), clip_scale(norm, desc.params), 0.0)


@preparable(_describe_clip_by_norm, _launch_clip_by_norm)
def clip_by_norm(x: Array, clipnorm: float, *, out: Array | None = None) -> Array:
    """Keras's clipnorm for one array: ``x * clipnorm / max(||x||, clipnorm)``.

    Shapes: x float32, any shape; the result has its shape. ||x||: the L2 norm over all of x.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; clipnorm not a
            number.
        ValueError: clipnorm not positive and finite; non-contiguous x; a bad ``out`` (shape, read-only,
            non-contiguous, forbidden overlap).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return _launch_clip_by_norm(_describe_clip_by_norm(x, clipnorm, out=out), x, out)


def clip_by_global_norm(
    arrays: Sequence[Array], clipnorm: float, *, out: Sequence[Array] | None = None
) -> tuple[list[Array], float]:
    """Keras's global_clipnorm: every array times ``clip_scale(global_norm(arrays), clipnorm)``.

    Returns ``(clipped arrays, global norm)``; ``out`` is a list of arrays (may be ``arrays``).

    Shapes: arrays float32, any shapes, one device; each result the shape of its input.
    Source: Pascanu et al. 2013; Keras 3's ``global_clipnorm``.

    Raises:
        TypeError: ``arrays``/``out`` not lists of float32 arrays, arrays on different devices; clipnorm not a
            number.
        ValueError: clipnorm not positive and finite; ``out`` of another length; a bad ``out[i]`` (shape,
            overlap other than with arrays[i]).
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    op = "clip_by_global_norm"
    clipnorm = _clipnorm(op, clipnorm)
    for name, value in (("arrays", arrays), ("out", out)):
        if (value is None and name == "arrays") or (
            value is not None and (isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"))
        ):
            raise TypeError(f"{op}: `{name}` must be a list of arrays, got {type(value).__name__}.")
    arrays = list(arrays)
    if out is not None and len(out) != len(arrays):
        raise ValueError(f"{op}: `out` must hold one array per input array ({len(arrays)}), got {len(out)}.")
    outs = list(out) if out is not None else [None] * len(arrays)
    prepared = [_clip_prepare(op, a, o, f"arrays[{i}]", f"out[{i}]") for i, (a, o) in enumerate(zip(arrays, outs))]
    inputs = {f"arrays[{i}]": p[1] for i, p in enumerate(prepared)}
    written = {f"out[{i}]": p[3] for i, p in enumerate(prepared)}
    device = backend(op, {**inputs, **written})
    # out[i] is written before arrays[i + 1] is read: it may be arrays[i] itself, nothing else.
    check_aliasing(op, written, inputs, allow=tuple((f"out[{i}]", f"arrays[{i}]") for i in range(len(arrays))))
    norm = _norm(op, device, inputs)
    scale = clip_scale(norm, clipnorm)
    return [_scale_clip(device, xi.obj, o, scale, 0.0) for _, xi, o, _ in prepared], norm
