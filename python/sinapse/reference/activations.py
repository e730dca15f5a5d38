"""Element-wise activations by their textbook formulas."""

from __future__ import annotations

import numpy as np


def linear(x):
    return x


def relu(x):
    return np.where(x < 0, np.zeros_like(x), x)  # NaN stays NaN


def sigmoid(x):
    # 1 / (1 + e^-x) written as e^(-log(1 + e^-x)): logaddexp never overflows.
    return np.exp(-np.logaddexp(0, -x))


def tanh(x):
    return np.tanh(x)


ACTIVATIONS = {None: linear, "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh}


def activation(name):
    """The activation function called ``name`` (None or "linear" is the identity)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {list(ACTIVATIONS)}") from None
