"""Element-wise activations by their textbook formulas (Keras's definitions), and their
derivatives written out by hand. Work in float32 and float64.

NaN and Inf (the definition the kernels follow, docs/reliability.md): f(NaN) = NaN and
f'(NaN) = NaN for every activation; at +-inf each gives its limit, so products x * s(x)
with s -> 0 (silu, gelu, their derivatives) are 0 there, not inf * 0 = NaN."""

from __future__ import annotations

import math

import numpy as np

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
ALPHA_DEFAULTS = {"leaky_relu": 0.2, "elu": 1.0}


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(np.asarray(x).dtype)


def _vanish(x, s):
    """x * s, but 0 where s == 0 and x is not NaN: the limit of x * s(x) when s(x) -> 0 faster
    than |x| -> inf (csrc/common/nan_rules.h, times_vanishing)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where((s == 0) & ~np.isnan(x), np.zeros_like(x * s), x * s)


def linear(x):
    return x


def relu(x):
    return np.where(x < 0, np.zeros_like(x), x)  # NaN stays NaN


def sigmoid(x):
    # 1 / (1 + e^-x) written as e^(-log(1 + e^-x)): logaddexp never overflows.
    return np.exp(-np.logaddexp(0, -x))


def tanh(x):
    return np.tanh(x)


def softsign(x):
    """x / (1 + |x|) (Keras's softsign), with its limits +-1 at +-inf."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(x), np.sign(x), x / (1 + np.abs(x)))


def _forms(alpha):
    """name -> (f, f') with the parameter bound."""
    c = math.sqrt(2 / math.pi)

    def gelu_tanh(x):
        return _vanish(x, 0.5 * (1 + np.tanh(c * (x + 0.044715 * x**3))))

    def gelu_tanh_d(x):
        t = np.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + _vanish(x * c * (1 + 3 * 0.044715 * x**2), 0.5 * (1 - t**2))

    def silu_d(x):  # s (1 + x (1 - s)), written so the limits at +-inf are 1 and 0
        s = sigmoid(x)
        return s + _vanish(x, s * (1 - s))

    neg = lambda x: np.minimum(x, 0)  # noqa: E731  (expm1 of the negative part only: no overflow)
    return {
        "linear": (linear, lambda x: np.ones_like(x)),
        "relu": (relu, lambda x: (x > 0).astype(x.dtype)),
        "sigmoid": (sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x))),
        "tanh": (tanh, lambda x: 1 - np.tanh(x) ** 2),
        "leaky_relu": (lambda x: np.where(x < 0, alpha * x, x), lambda x: np.where(x < 0, alpha, 1).astype(x.dtype)),
        "elu": (
            lambda x: np.where(x > 0, x, alpha * np.expm1(neg(x))),
            lambda x: np.where(x > 0, 1, alpha * np.exp(neg(x))).astype(x.dtype),
        ),
        "selu": (
            lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(neg(x))),
            lambda x: SELU_SCALE * np.where(x > 0, 1, SELU_ALPHA * np.exp(neg(x))).astype(x.dtype),
        ),
        "gelu_tanh": (gelu_tanh, gelu_tanh_d),
        "gelu": (
            lambda x: _vanish(x, 0.5 * (1 + _erf(x / math.sqrt(2)))),
            lambda x: 0.5 * (1 + _erf(x / math.sqrt(2))) + _vanish(x, np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)),
        ),
        "hard_sigmoid": (
            lambda x: np.clip(x / 6 + 0.5, 0, 1),
            lambda x: np.where((x > -3) & (x < 3), 1 / 6, 0).astype(x.dtype),
        ),
        "softplus": (lambda x: np.logaddexp(0, x), sigmoid),
        "silu": (lambda x: _vanish(x, sigmoid(x)), silu_d),
        "softsign": (softsign, lambda x: 1 / (1 + np.abs(x)) ** 2),
        "exponential": (np.exp, np.exp),
        "relu6": (lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(x.dtype)),
    }


NAMES = tuple(_forms(0.0)) + ("swish",)
ACTIVATIONS = {None: linear, "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh}


def _lookup(name, alpha):
    if name is None:
        name = "linear"
    if name == "swish":
        name = "silu"
    alpha = ALPHA_DEFAULTS.get(name, 0.0) if alpha is None else float(alpha)  # a Python int may exceed C long
    forms = _forms(alpha)
    if name not in forms:
        raise ValueError(f"unknown activation {name!r}; expected one of {list(NAMES)}")
    return forms[name]


def activation(name, alpha=None):
    """The activation function called ``name`` (None or "linear" is the identity)."""
    return _lookup(name, alpha)[0]


def activation_backward(dy, x, name, alpha=None):
    """``dy * f'(x)``, with f'(NaN) = NaN (relu's flat piece would otherwise hide a NaN input)."""
    d = _lookup(name, alpha)[1](x)
    return dy * np.where(np.isnan(x), x, d)


def prelu(x, alpha):
    """Keras 3's PReLU, ``relu(x) - alpha * relu(-x)``: x where x > 0, alpha * x where x < 0, 0 at
    0 (He et al. 2015). alpha broadcasts over x's non-batch axes (1 along shared ones)."""
    x = np.asarray(x)
    a = np.asarray(alpha, dtype=x.dtype)[None]
    return np.where(x > 0, x, np.where(x < 0, a * x, x * 0))  # NaN stays NaN, as relu(NaN) in Keras


def prelu_backward(dy, x, alpha):
    """(dx, dalpha) of ``prelu``: dx = dy where x > 0, alpha * dy where x < 0, 0 at 0 (relu'(0) = 0,
    as JAX); dalpha = the sum of dy * x (x < 0) over the batch and the shared axes, alpha's shape.
    A NaN x gives NaN in dx and in its alpha entry's sum."""
    dy, x = np.asarray(dy), np.asarray(x)
    alpha = np.asarray(alpha, dtype=x.dtype)
    a = alpha[None]
    dx = np.where(x > 0, dy, np.where(x < 0, a * dy, np.where(x == 0, 0, x)))  # NaN x: NaN
    term = np.where(x < 0, dy * x, np.where(x >= 0, 0, x))
    shared = (0,) + tuple(d + 1 for d in range(alpha.ndim) if alpha.shape[d] == 1 and x.shape[d + 1] != 1)
    return dx, term.sum(axis=shared, keepdims=True).reshape(alpha.shape).astype(x.dtype)
