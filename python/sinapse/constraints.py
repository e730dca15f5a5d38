"""Weight constraints (keras.constraints): MaxNorm, NonNeg, UnitNorm, MinMaxNorm.

A constraint projects a weight back onto an allowed set after every optimizer update, as
Keras 3 does (``BaseOptimizer.apply``: ``variable.assign(variable.constraint(variable))`` for
each trainable variable with a constraint). Give one to a layer (``Dense(64,
kernel_constraint=MaxNorm(3))``); ``fit`` and ``train_on_batch`` apply it right after each
``optimizer.apply`` to the trainable weights that have one (frozen weights are left alone).

The formulas are Keras 3's (keras/src/constraints/constraints.py), in float32 with Keras's
``backend.epsilon()`` = 1e-7 added to the norms, where
``norms = sqrt(sum(w**2, axis=axis, keepdims=True))``:

==============  ==================================================================
MaxNorm         ``w * (clip(norms, 0, max_value) / (1e-7 + norms))``
NonNeg          ``maximum(w, 0)``
UnitNorm        ``w / (1e-7 + norms)``
MinMaxNorm      ``w * ((rate * clip(norms, min_value, max_value) + (1 - rate) * norms)
                / (1e-7 + norms))``
==============  ==================================================================

``axis`` is an int, a list of ints or None (all axes): the axes summed over. A Dense kernel
(in, out) with ``axis=0`` constrains each unit's incoming weights; a Conv2D kernel (KH, KW,
in, out) takes ``axis=[0, 1, 2]`` to constrain each filter.

``constraint(w)`` returns the projected array (Keras's interface, ``w`` unchanged);
``constraint.apply_in_place(w)`` overwrites ``w`` (a float32 NumPy or CuPy array: the
weight's value on its device), which is what training calls. A subclass overrides either.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ._from_config import arguments
from .devices import array_module
from .ops._checks import as_float

EPSILON = 1e-7  # keras.backend.epsilon()


class Constraint:
    """Base class (Keras's ``keras.constraints.Constraint``): the identity.

    Override ``__call__(w) -> projected w`` (a new array, as in Keras) or
    ``apply_in_place(w)``; ``get_config`` returns the constructor's arguments."""

    def __call__(self, w):
        """The projected weight, a new array of ``w``'s shape and dtype (``w`` is unchanged)."""
        out = array_module(w).array(w, copy=True)
        self.apply_in_place(out)
        return out

    def apply_in_place(self, w) -> None:
        """Project ``w`` (a NumPy or CuPy array) in place. The default runs ``self(w)`` when a
        subclass overrides ``__call__`` and copies the result into ``w``; ValueError naming the
        class if that result does not have ``w``'s shape."""
        if type(self).__call__ is not Constraint.__call__:
            _assign(type(self).__name__, w, self(w))

    def check_weight(self, shape: tuple) -> None:
        """Raise ValueError if the constraint cannot apply to a weight of ``shape`` (layers call
        it when they create the weight, so a bad ``axis`` fails at build, not during ``fit``)."""

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        """``cls(**config)``; TypeError naming the class and a missing or unknown argument."""
        return cls(**arguments(cls, config))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _assign(where: str, w, value) -> None:
    xp = array_module(w)
    value = xp.asarray(value, dtype=w.dtype)
    if value.shape != w.shape:
        raise ValueError(f"{where}: the constraint returned shape {tuple(value.shape)} for a weight of shape {w.shape}")
    xp.copyto(w, value)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _axis(cls: str, axis) -> int | list[int] | None:
    """Keras's ``axis``: an int, a non-empty list/tuple of distinct ints (kept as a list, as a
    config read from JSON has it) or None (every axis)."""
    if axis is None or _is_int(axis):
        return None if axis is None else int(axis)
    if not isinstance(axis, (list, tuple)) or not axis or not all(_is_int(a) for a in axis):
        raise TypeError(f"{cls}: `axis` must be an int, a non-empty list of ints or None, got {axis!r}")
    axes = [int(a) for a in axis]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{cls}: `axis` must not repeat an axis, got {axis!r}")
    return axes


class _NormConstraint(Constraint):
    """What the norm constraints share: ``axis`` and the per-slice norms."""

    axis: int | list[int] | None

    def check_weight(self, shape: tuple) -> None:
        ndim = len(shape)
        axes = [] if self.axis is None else [self.axis] if isinstance(self.axis, int) else self.axis
        normalized = [a + ndim if a < 0 else a for a in axes]
        if any(not 0 <= a < ndim for a in normalized) or len(set(normalized)) != len(normalized):
            raise ValueError(
                f"{type(self).__name__}: `axis`={self.axis!r} does not fit a weight of shape {tuple(shape)} "
                f"({ndim} axes)"
            )

    def apply_in_place(self, w) -> None:
        self.check_weight(tuple(w.shape))
        xp = array_module(w)
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        # A diverged (inf/NaN) weight stays so without a warning, as in Keras.
        with np.errstate(over="ignore", invalid="ignore"):
            norms = xp.sqrt(xp.sum(xp.square(w), axis=axis, keepdims=True))  # in w's dtype
            self._project(xp, w, norms)

    def _project(self, xp, w, norms) -> None:
        raise NotImplementedError


class MaxNorm(_NormConstraint):
    """Keras's ``MaxNorm(max_value=2, axis=0)``: each slice's norm over ``axis`` is at most
    ``max_value``: ``w * (clip(norms, 0, max_value) / (1e-7 + norms))``.

    Raises TypeError for a non-number ``max_value`` or a bad ``axis`` type, ValueError for a
    negative or non-finite ``max_value`` or a repeated axis."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = as_float("MaxNorm", "max_value", max_value, lo=0.0, finite=True)
        self.axis = _axis("MaxNorm", axis)

    def _project(self, xp, w, norms) -> None:
        # Keras's order: the ratio first, then the product
        xp.multiply(w, xp.clip(norms, 0, self.max_value) / (EPSILON + norms), out=w)

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Keras's ``NonNeg()``: ``maximum(w, 0)``."""

    def apply_in_place(self, w) -> None:
        array_module(w).maximum(w, 0, out=w)


class UnitNorm(_NormConstraint):
    """Keras's ``UnitNorm(axis=0)``: each slice over ``axis`` scaled to unit norm,
    ``w / (1e-7 + norms)`` (an all-zero slice stays zero).

    Raises TypeError for a bad ``axis`` type, ValueError for a repeated axis."""

    def __init__(self, axis=0):
        self.axis = _axis("UnitNorm", axis)

    def _project(self, xp, w, norms) -> None:
        xp.divide(w, EPSILON + norms, out=w)

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(_NormConstraint):
    """Keras's ``MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)``: each slice's norm
    moved towards [min_value, max_value] at ``rate`` (1: all the way):
    ``w * ((rate * clip(norms, min_value, max_value) + (1 - rate) * norms) / (1e-7 + norms))``.

    Raises TypeError for a non-number argument or a bad ``axis`` type, ValueError for a negative
    or non-finite bound, ``min_value`` > ``max_value``, ``rate`` outside [0, 1] or a repeated axis."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = as_float("MinMaxNorm", "min_value", min_value, lo=0.0, finite=True)
        self.max_value = as_float("MinMaxNorm", "max_value", max_value, lo=0.0, finite=True)
        if self.min_value > self.max_value:
            raise ValueError(
                f"MinMaxNorm: `min_value` must be <= `max_value`, got min_value={min_value!r}, max_value={max_value!r}"
            )
        self.rate = as_float("MinMaxNorm", "rate", rate, lo=0.0, hi=1.0)
        self.axis = _axis("MinMaxNorm", axis)

    def _project(self, xp, w, norms) -> None:
        desired = self.rate * xp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        xp.multiply(w, desired / (EPSILON + norms), out=w)

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class _Callable(Constraint):
    """A plain function ``w -> projected w`` (Keras accepts any callable); not serialisable."""

    def __init__(self, function):
        self.function = function

    def __call__(self, w):
        return self.function(w)

    def apply_in_place(self, w) -> None:
        _assign(f"constraint {getattr(self.function, '__name__', self.function)!r}", w, self.function(w))


# Keras 3's lower-case aliases (keras.constraints.max_norm is the class MaxNorm)
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_CLASSES: dict[str, type[Constraint]] = {c.__name__: c for c in (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
# keras/src/constraints/__init__.py: every class also under its snake_case name
_NAMES: dict[str, type[Constraint]] = {
    **_CLASSES,
    "constraint": Constraint,
    "max_norm": MaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
    "min_max_norm": MinMaxNorm,
}


def get(identifier: Any) -> Constraint | None:
    """A constraint from None, a name (``"max_norm"``, ``"MaxNorm"``: Keras's class names and
    their snake_case forms, with default arguments), a config dict ``{"class_name", "config"}``
    (Keras 3's ``module``/``registered_name`` keys are accepted), a Constraint class or instance,
    or a plain callable ``w -> projected w``.

    Raises ValueError for an unknown name or class_name, TypeError for anything else."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Constraint):
        return identifier()
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier)
        if cls is None:
            raise ValueError(
                f"constraints.get: unknown constraint {identifier!r}; expected one of {', '.join(sorted(_NAMES))}"
            )
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier) and not inspect.isclass(identifier):
        return _Callable(identifier)
    raise TypeError(
        f"constraints.get: cannot interpret {identifier!r} ({type(identifier).__name__}) as a constraint; "
        f"pass a name such as 'max_norm', a config dict, a Constraint or a callable"
    )


def for_argument(where: str, name: str, identifier: Any) -> Constraint | None:
    """``get(identifier)`` for the argument ``name`` of ``where`` (a layer's ``kernel_constraint``):
    its ValueError or TypeError starts with "where: `name`: "."""
    try:
        return get(identifier)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: `{name}`: {exc}") from None


def deserialize(config: dict) -> Constraint:
    """The constraint a ``{"class_name", "config"}`` dict (``serialize``'s, or Keras 3's) describes.

    Raises ValueError for an unknown class_name (custom Keras objects included), TypeError for a
    malformed dict or config."""
    if not isinstance(config, dict):
        raise TypeError(f"constraints.deserialize: `config` must be a dict, got {type(config).__name__}")
    name = config.get("class_name")
    registered = config.get("registered_name")
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None or registered not in (None, name):
        raise ValueError(
            f"constraints.deserialize: unknown constraint class_name {name!r} (registered_name "
            f"{registered!r}); expected one of {', '.join(sorted(_CLASSES))}"
        )
    return cls.from_config(config.get("config") or {})


def serialize(constraint: Constraint | None) -> dict | None:
    """``{"class_name": ..., "config": ...}`` (None for None), which ``get`` reads back.

    Raises ValueError for a plain callable, which cannot be saved."""
    if constraint is None:
        return None
    if isinstance(constraint, _Callable) or not isinstance(constraint, Constraint):
        raise ValueError(
            f"constraints.serialize: cannot save a plain callable constraint ({constraint!r}); "
            "use a Constraint subclass"
        )
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
