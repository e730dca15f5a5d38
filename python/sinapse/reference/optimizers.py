"""Reference optimizer updates and gradient clipping: Keras 3's formulas written out line by
line (keras/src/optimizers/*.py), in NumPy, in the arrays' dtype (float32 or float64).

Each update returns the new (param, *state) and leaves its inputs alone. The gradient and
the parameter first go through ``_prepare`` (grad_scale, clipvalue, coupled l2, Keras's
decoupled weight decay), as sinapse.ops.optimizers documents.
"""

from __future__ import annotations

import numpy as np


def _prepare(param, grad, learning_rate, weight_decay, l2, grad_scale, clipvalue):
    g = grad * grad_scale
    if clipvalue is not None:
        g = np.clip(g, -clipvalue, clipvalue)
    if l2:
        g = g + l2 * param
    w = param - param * weight_decay * learning_rate if weight_decay else param
    return g, w


def sgd_update(
    param,
    grad,
    velocity=None,
    *,
    learning_rate,
    momentum=0.0,
    nesterov=False,
    weight_decay=0.0,
    l2=0.0,
    grad_scale=1.0,
    clipvalue=None,
):
    g, w = _prepare(param, grad, learning_rate, weight_decay, l2, grad_scale, clipvalue)
    if momentum == 0:
        return w - g * learning_rate, None
    velocity = momentum * velocity - g * learning_rate
    if nesterov:
        return w + (momentum * velocity - g * learning_rate), velocity
    return w + velocity, velocity


def adagrad_update(
    param, grad, accumulator, *, learning_rate, epsilon=1e-7, weight_decay=0.0, l2=0.0, grad_scale=1.0, clipvalue=None
):
    g, w = _prepare(param, grad, learning_rate, weight_decay, l2, grad_scale, clipvalue)
    accumulator = accumulator + np.square(g)
    return w - (learning_rate * g) / np.sqrt(accumulator + epsilon), accumulator


def adadelta_update(
    param,
    grad,
    accumulated_grad,
    accumulated_delta,
    *,
    learning_rate,
    rho=0.95,
    epsilon=1e-7,
    weight_decay=0.0,
    l2=0.0,
    grad_scale=1.0,
    clipvalue=None,
):
    g, w = _prepare(param, grad, learning_rate, weight_decay, l2, grad_scale, clipvalue)

    def rms(x):
        return np.sqrt(x + epsilon)

    accumulated_grad = rho * accumulated_grad + (1 - rho) * np.square(g)
    delta = -(rms(accumulated_delta) * g) / rms(accumulated_grad)
    accumulated_delta = rho * accumulated_delta + (1 - rho) * np.square(delta)
    return w + learning_rate * delta, accumulated_grad, accumulated_delta


def rmsprop_update(
    param,
    grad,
    velocity,
    momentum_buffer=None,
    average_grad=None,
    *,
    learning_rate,
    rho=0.9,
    momentum=0.0,
    epsilon=1e-7,
    centered=False,
    weight_decay=0.0,
    l2=0.0,
    grad_scale=1.0,
    clipvalue=None,
):
    g, w = _prepare(param, grad, learning_rate, weight_decay, l2, grad_scale, clipvalue)
    velocity = rho * velocity + (1 - rho) * np.square(g)
    if centered:
        average_grad = rho * average_grad + (1 - rho) * g
        denominator = velocity - np.square(average_grad) + epsilon
    else:
        denominator = velocity + epsilon
    increment = (learning_rate * g) / np.sqrt(denominator)
    if momentum > 0:
        momentum_buffer = momentum * momentum_buffer + increment
        return w - momentum_buffer, velocity, momentum_buffer, average_grad
    return w - increment, velocity, momentum_buffer, average_grad


def adam_update(
    param,
    grad,
    m,
    v,
    vhat=None,
    *,
    learning_rate,
    step,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-7,
    amsgrad=False,
    weight_decay=0.0,
    l2=0.0,
    grad_scale=1.0,
    clipvalue=None,
):
    g, w = _prepare(param, grad, learning_rate, weight_decay, l2, grad_scale, clipvalue)
    alpha = learning_rate * np.sqrt(1 - beta_2**step) / (1 - beta_1**step)
    m = m + (g - m) * (1 - beta_1)
    v = v + (np.square(g) - v) * (1 - beta_2)
    v_used = v
    if amsgrad:
        vhat = np.maximum(vhat, v)
        v_used = vhat
    return w - (m * alpha) / (np.sqrt(v_used) + epsilon), m, v, vhat


def global_norm(arrays) -> float:
    """sqrt of the sum of squares of every element of every array (Keras's global_norm); NaN if
    any element is NaN, else inf if any is +-inf."""
    return float(np.sqrt(sum(float(np.sum(np.square(np.asarray(a, np.float64)))) for a in arrays)))


def clip_by_value(x, clipvalue):
    return np.clip(x, -clipvalue, clipvalue)


def _clip_scale(norm, clipnorm):
    """clipnorm * min(1/norm, 1/clipnorm); NaN when the norm is NaN or inf, so every element
    turns NaN (tf.clip_by_global_norm's documented rule, which Keras's global_clipnorm adopts
    with its ``+ (norm - norm)`` term): a non-finite gradient never becomes a finite step."""
    if not np.isfinite(norm):
        return np.nan
    return clipnorm * min(1.0 / norm, 1.0 / clipnorm) if norm > 0 else 1.0


def clip_by_norm(x, clipnorm):
    """Keras's _clip_by_norm: x * clipnorm / max(||x||, clipnorm); all NaN if ||x|| is not finite."""
    norm = float(np.sqrt(np.sum(np.square(np.asarray(x, np.float64)))))
    return x * np.asarray(_clip_scale(norm, clipnorm), dtype=np.asarray(x).dtype)


def clip_by_global_norm(arrays, clipnorm):
    """Keras's clip_by_global_norm: every array times clipnorm * min(1/norm, 1/clipnorm)."""
    norm = global_norm(arrays)
    scale = _clip_scale(norm, clipnorm)
    return [a * np.asarray(scale, dtype=np.asarray(a).dtype) for a in arrays], norm
