"""Weight regularizers (keras.regularizers): L1, L2, L1L2.

A regularizer adds ``penalty(w)`` to the training loss (and to the reported loss, as Keras
does) and its gradient to the weight's gradient during the backward pass:
L1: ``l1 * sum|w|`` -> ``l1 * sign(w)``; L2: ``l2 * sum(w**2)`` -> ``2 * l2 * w``.
The gradient is added in place with ``ops.axpy`` on the weight's device.
"""

from __future__ import annotations

import math

from . import ops
from .devices import array_module


class Regularizer:
    """Base class: ``__call__(w) -> float`` (the penalty) and ``add_gradient(w, grad)``."""

    def __call__(self, w) -> float:
        raise NotImplementedError

    def add_gradient(self, w, grad) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _coefficient(name, value):
    value = float(value)
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"regularizer: {name} must be a non-negative number, got {value}")
    return value


class L1L2(Regularizer):
    """Penalty ``l1 * sum(|w|) + l2 * sum(w**2)`` (Keras's ``regularizers.L1L2``); its gradient
    ``l1 * sign(w) + 2 * l2 * w`` is added to the weight's gradient. ValueError for a negative
    or non-finite coefficient."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _coefficient("l1", l1), _coefficient("l2", l2)
        self._sign = {}

    def __call__(self, w) -> float:
        total = 0.0
        if self.l1:
            total += self.l1 * float(abs(w).sum())
        if self.l2:
            total += self.l2 * float((w * w).sum())
        return total

    def add_gradient(self, w, grad) -> None:
        if self.l2:
            ops.axpy(2.0 * self.l2, w, grad, out=grad)
        if self.l1:
            key = (id(w), w.shape)
            sign = self._sign.get(key)
            if sign is None or type(sign) is not type(w):
                sign = self._sign[key] = w.copy()
            array_module(w).sign(w, out=sign)
            ops.axpy(self.l1, sign, grad, out=grad)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|w|)`` (Keras's ``regularizers.L1``)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(w**2)`` (Keras's ``regularizers.L2``)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier: str | dict | Regularizer | None) -> Regularizer | None:
    """A regularizer from None, a name ("l2"), a config dict or an instance."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _CLASSES:
            raise ValueError(f"unknown regularizer {identifier!r}; expected l1, l2 or l1_l2")
        return _CLASSES[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise TypeError(f"cannot interpret {identifier!r} as a regularizer (use sinapse.regularizers.L2(0.01))")


def serialize(regularizer: Regularizer | None) -> dict | None:
    """``{"class_name": ..., "config": ...}`` (None for None), which ``get`` reads back."""
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
