"""sinapse.ops.layer_norm / group_norm and their backward: one kernel family (layer_norm).

Both normalise "rows" of x and then scale and shift per feature:
``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` with the row's mean and biased
variance (Keras's LayerNormalization and GroupNormalization; Ba, Kiros & Hinton 2016,
"Layer Normalization"; Wu & He 2018, "Group Normalization").

- layer_norm: a row is the trailing axes ``axis`` of x (default -1; any run of trailing
  axes, e.g. ``[1, 2]`` of a 3-D x, is one contiguous row). A set of axes that is not the
  trailing ones is a ValueError: the caller moves those axes last (np.moveaxis) first.
- group_norm: x is (N, ..., C), channels last; a row is one sample's ``groups`` channel group
  over every spatial position: (H*W) runs of C / G contiguous floats, C floats apart — the
  same kernels walk it as ``segments`` runs (no transpose).

The forward returns ``(y, mean, inv_std)``; hand mean and inv_std (one per row) to the
backward, which returns ``(dx, dgamma, dbeta)`` (dgamma / dbeta summed in a fixed order:
deterministic). variant: "naive" (the definition as loops in double, one thread; on CUDA
one thread per row) or "tuned" (the default, or $SINAPSE_LAYER_NORM). docs/kernels/layer_norm.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from ..registry import resolve_variant
from . import _device
from ._checks import (
    Array,
    as_float,
    as_int,
    backend,
    check_float32,
    check_outs,
    check_shape,
    inspect,
    inspect_outs,
    present,
)
from ._plan import descriptor, preparable, run

_RESULTS = ("y", "mean", "inv_std")  # the forward's results: the order of its out=(...) tuple
_RESULTS_BACKWARD = ("dx", "dgamma", "dbeta")


class LayerNormGeometry(NamedTuple):
    """The kernels' view of x (C++ LayerNormArgs, common/layer_norm_row.h, less epsilon):
    ``batch * groups`` rows, each ``segments`` runs of ``length`` floats ``groups * length``
    apart. Layer norm: groups = segments = 1; group norm: batch N, segments H*W."""

    batch: int
    segments: int
    groups: int
    length: int


def _first_axis(op: str, axis, shape: tuple[int, ...]) -> int:
    """The first normalised axis of ``axis`` (an int or a sequence of ints): they must be
    the trailing axes of x, each once."""
    ndim = len(shape)
    items = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not items:
        raise ValueError(f"{op}: `axis` must name at least one axis, got {axis!r}.")
    axes = [as_int(op, "axis", a, lo=-ndim, hi=ndim - 1, what="an axis of x") % max(ndim, 1) for a in items]
    first = min(axes)
    if sorted(axes) != list(range(first, ndim)):
        raise ValueError(
            f"{op}: `axis` must be the trailing axes of x (a contiguous row), e.g. -1 or "
            f"{list(range(max(ndim - 2, 0), ndim))}, got axis={axis!r} for x of shape {tuple(shape)}; "
            "move the axes to normalise last first (np.moveaxis)."
        )
    return first


def _inputs(op, arrays: dict, outs: dict):
    """Inspect the arrays (gamma / beta may be None: absent, kept as None), check float32 and
    one device."""
    infos = {
        name: None if a is None and name in ("gamma", "beta") else inspect(op, name, a) for name, a in arrays.items()
    }
    device = backend(op, {**present(infos), **present(outs)})
    for name, info in present(infos).items():
        check_float32(op, name, info)
    return device, infos


def _epsilon(op, epsilon):
    return as_float(op, "epsilon", epsilon, lo=0.0, lo_open=True, lo_as_float32=True, finite=True)


def _describe_forward(op, x, gamma, beta, out, epsilon, variant, geometry_of):
    variant = resolve_variant("layer_norm", variant, op)
    epsilon = _epsilon(op, epsilon)
    outs = inspect_outs(op, out, _RESULTS)
    device, infos = _inputs(op, {"x": x, "gamma": gamma, "beta": beta}, outs)
    shape = tuple(infos["x"].shape)
    geom, stats_shape, param_shape = geometry_of(shape)
    for name in ("gamma", "beta"):
        if infos[name] is not None:
            check_shape(op, name, infos[name], param_shape, "one value per normalised feature")
    shapes = dict(zip(outs, (shape, stats_shape, stats_shape)))
    check_outs(op, outs, shapes, infos, allow=(("out[0]", "x"),))
    return descriptor(
        op,
        device,
        infos,
        (geom, epsilon, variant),
        outputs=dict(zip(_RESULTS, shapes.values())),
        allow=(("y", "x"),),
        out_tuple=_RESULTS,
    )


def _launch_forward(desc, x, gamma, beta, out=None, mean=None, inv_std=None):
    geom, epsilon, variant = desc.params
    device = desc.device
    y, mean, inv_std = desc.output("y", out), desc.output("mean", mean), desc.output("inv_std", inv_std)
    _device.kernels(device).layer_norm_forward(
        x, gamma, beta, y, mean, inv_std, *geom, epsilon, variant, _device.launch_arg(device)
    )
    return y, mean, inv_std


def _describe_backward(op, dy, x, gamma, mean, inv_std, out, variant, geometry_of):
    variant = resolve_variant("layer_norm", variant, op)
    outs = inspect_outs(op, out, _RESULTS_BACKWARD)
    arrays = {"dy": dy, "x": x, "gamma": gamma, "mean": mean, "inv_std": inv_std}
    device, infos = _inputs(op, arrays, outs)
    shape = tuple(infos["dy"].shape)
    check_shape(op, "x", infos["x"], shape, "the shape of dy")
    geom, stats_shape, param_shape = geometry_of(shape)
    for name in ("mean", "inv_std"):
        check_shape(op, name, infos[name], stats_shape, "one value per normalised row, as the forward returned")
    if infos["gamma"] is not None:
        check_shape(op, "gamma", infos["gamma"], param_shape, "one value per normalised feature")
    shapes = dict(zip(outs, (shape, param_shape, param_shape)))
    check_outs(op, outs, shapes, infos, allow=(("out[0]", "dy"),))
    return descriptor(
        op,
        device,
        infos,
        (geom, variant),
        outputs=dict(zip(_RESULTS_BACKWARD, shapes.values())),
        allow=(("dx", "dy"),),
        out_tuple=_RESULTS_BACKWARD,
    )


def _launch_backward(desc, dy, x, gamma, mean, inv_std, out=None, dgamma=None, dbeta=None):
    geom, variant = desc.params
    device = desc.device
    dx, dgamma, dbeta = desc.output("dx", out), desc.output("dgamma", dgamma), desc.output("dbeta", dbeta)
    _device.kernels(device).layer_norm_backward(
        dy, x, gamma, mean, inv_std, dx, dgamma, dbeta, *geom, variant, _device.launch_arg(device)
    )
    return dx, dgamma, dbeta


def _layer_geometry(op, axis):
    def geometry_of(shape):
        first = _first_axis(op, axis, shape)
        rows, features = math.prod(shape[:first]), math.prod(shape[first:])
        if features == 0:
            raise ValueError(f"{op}: the normalised axes of x must hold at least one value, got x of shape {shape}.")
        return LayerNormGeometry(rows, 1, 1, features), shape[:first], shape[first:]

    return geometry_of


def _group_geometry(op, groups):
    groups = as_int(op, "groups", groups, lo=1, what="a positive integer", bounds="")

    def geometry_of(shape):
        if len(shape) < 2:
            raise ValueError(f"{op}: `x` must be at least 2-D (N, ..., C), channels last, got shape {shape}.")
        c = shape[-1]
        if c % groups:
            raise ValueError(
                f"{op}: the channels of x ({c}, its last axis; shape {shape}) must be a multiple of `groups`={groups}."
            )
        if math.prod(shape[1:-1]) == 0:
            raise ValueError(f"{op}: `x` must hold at least one position per sample, got shape {shape}.")
        geom = LayerNormGeometry(shape[0], math.prod(shape[1:-1]), groups, c // groups)
        return geom, (shape[0], groups), (c,)

    return geometry_of


def _ln(x, gamma=None, beta=None, *, axis=-1, epsilon=1e-3, out=None, variant=None):
    op = "layer_norm"
    return _describe_forward(op, x, gamma, beta, out, epsilon, variant, _layer_geometry(op, axis))


def _ln_backward(dy, x, gamma, mean, inv_std, *, axis=-1, out=None, variant=None):
    op = "layer_norm_backward"
    return _describe_backward(op, dy, x, gamma, mean, inv_std, out, variant, _layer_geometry(op, axis))


def _gn(x, gamma=None, beta=None, *, groups=32, epsilon=1e-3, out=None, variant=None):
    op = "group_norm"
    return _describe_forward(op, x, gamma, beta, out, epsilon, variant, _group_geometry(op, groups))


def _gn_backward(dy, x, gamma, mean, inv_std, *, groups=32, out=None, variant=None):
    op = "group_norm_backward"
    return _describe_backward(op, dy, x, gamma, mean, inv_std, out, variant, _group_geometry(op, groups))


_RAISES = """
    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; a
            non-integer ``axis`` / ``groups``; a non-real ``epsilon``.
        ValueError: ``axis`` not the trailing axes of x; channels not a multiple of ``groups``; an
            empty row; gamma / beta / mean / inv_std of the wrong shape; ``epsilon`` not positive
            and finite; a bad ``out`` (shape, read-only, non-contiguous, forbidden overlap); an
            unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
"""


@preparable(_ln, _launch_forward, out_tuple=_RESULTS)
def layer_norm(
    x: Array,
    gamma: Array | None = None,
    beta: Array | None = None,
    *,
    axis: int | Sequence[int] = -1,
    epsilon: float = 1e-3,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
) -> tuple[Array, Array, Array]:
    """Returns ``(y, mean, inv_std)``: each row over the trailing axes ``axis`` normalised,
    ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` (biased variance).

    Shapes: x float32 (..., *F) with F = x.shape[axis...] the normalised (trailing) axes;
    gamma, beta F or None (scale 1, offset 0); y the shape of x; mean and inv_std
    (= 1 / sqrt(var + epsilon)) x.shape[:first normalised axis], float32.
    out: None or a tuple ``(y, mean, inv_std)`` of arrays or None; ``out[0]`` may be x (in place).

    Source: Keras 3 LayerNormalization (https://keras.io/api/layers/normalization_layers/
    layer_normalization/: epsilon 1e-3, axis -1); Ba, Kiros & Hinton 2016.
    """
    return run(_ln, _launch_forward, locals())


@preparable(_ln_backward, _launch_backward, out_tuple=_RESULTS_BACKWARD)
def layer_norm_backward(
    dy: Array,
    x: Array,
    gamma: Array | None,
    mean: Array,
    inv_std: Array,
    *,
    axis: int | Sequence[int] = -1,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
) -> tuple[Array, Array, Array]:
    """Returns ``(dx, dgamma, dbeta)`` of layer_norm given its x, gamma, mean and inv_std:
    with xhat = (x - mean) * inv_std and g = dy * gamma,
    ``dx = inv_std * (g - mean(g) - xhat * mean(g * xhat))`` per row, dgamma = sum(dy * xhat)
    and dbeta = sum(dy) over the rows.

    Shapes: dy and x (..., *F), dx that shape; gamma F or None; mean, inv_std as the forward
    returned them; dgamma, dbeta F; float32. out: None or ``(dx, dgamma, dbeta)``; ``out[0]``
    may be dy (in place).

    Source: the derivative of Ba et al. 2016's normalisation (as PyTorch's
    native_layer_norm_backward).
    """
    return run(_ln_backward, _launch_backward, locals())


@preparable(_gn, _launch_forward, out_tuple=_RESULTS)
def group_norm(
    x: Array,
    gamma: Array | None = None,
    beta: Array | None = None,
    *,
    groups: int = 32,
    epsilon: float = 1e-3,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
) -> tuple[Array, Array, Array]:
    """Returns ``(y, mean, inv_std)``: x (N, ..., C) channels last, each sample's ``groups``
    channel groups normalised over every position and the group's C / groups channels, then
    ``* gamma + beta`` per channel.

    Shapes: x float32 (N, ..., C), C a multiple of groups; gamma, beta (C,) or None; y the
    shape of x; mean and inv_std (N, groups). out: None or ``(y, mean, inv_std)``; ``out[0]``
    may be x.

    Source: Keras 3 GroupNormalization (https://keras.io/api/layers/normalization_layers/
    group_normalization/: groups 32, epsilon 1e-3); Wu & He 2018.
    """
    return run(_gn, _launch_forward, locals())


@preparable(_gn_backward, _launch_backward, out_tuple=_RESULTS_BACKWARD)
def group_norm_backward(
    dy: Array,
    x: Array,
    gamma: Array | None,
    mean: Array,
    inv_std: Array,
    *,
    groups: int = 32,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
) -> tuple[Array, Array, Array]:
    """Returns ``(dx, dgamma, dbeta)`` of group_norm given its x, gamma, mean and inv_std
    (the layer_norm_backward formula per (sample, group) row; dgamma, dbeta (C,)).

    Shapes: dy and x (N, ..., C); gamma (C,) or None; mean, inv_std (N, groups); dx the
    shape of dy; float32. out: None or ``(dx, dgamma, dbeta)``; ``out[0]`` may be dy.

    Source: Wu & He 2018 (the layer-norm derivative per group).
    """
    return run(_gn_backward, _launch_backward, locals())


for _fn in (layer_norm, layer_norm_backward, group_norm, group_norm_backward):
    _fn.__doc__ = (_fn.__doc__ or "") + _RAISES
