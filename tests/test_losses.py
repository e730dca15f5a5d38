"""Losses on the CPU kernel and the simulated CUDA kernel: values against the reference,
gradients against central finite differences of the reference (float64), weights and
reductions, stability with extreme logits, and bad input."""

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops, reference

# (name, from_logits)
CASES = [
    ("mse", False),
    ("mae", False),
    ("huber", False),
    ("binary_crossentropy", False),
    ("binary_crossentropy", True),
    ("categorical_crossentropy", False),
    ("categorical_crossentropy", True),
    ("sparse_categorical_crossentropy", False),
    ("sparse_categorical_crossentropy", True),
]


def make(rng, name, from_logits, shape):
    n, c = int(np.prod(shape[:-1])), shape[-1]
    if name.startswith("sparse"):
        y_true = rng.integers(0, c, shape[:-1]).astype(np.int32)
    elif name == "categorical_crossentropy":
        y_true = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)].reshape(shape)
    elif name == "binary_crossentropy":
        y_true = rng.integers(0, 2, shape).astype(np.float32)
    else:
        y_true = rng.standard_normal(shape).astype(np.float32)
    if from_logits or name in ("mse", "mae", "huber"):
        y_pred = (rng.standard_normal(shape) * 2).astype(np.float32)
    else:  # probabilities away from the clipping edges, where the loss is differentiable
        y_pred = rng.uniform(0.05, 0.95, shape).astype(np.float32)
    return y_true, y_pred


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,from_logits", CASES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (128, 10), (2, 3, 4)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_value_and_gradient(rng, backend, name, from_logits, shape, reduction, weighted):
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy") and shape[-1] == 1 and not from_logits:
        shape = (shape[0], 2)  # one normalised class is always probability 1
    y_true, y_pred = make(rng, name, from_logits, shape)
    w = rng.uniform(0.5, 2.0, shape[:-1]).astype(np.float32) if weighted else None
    kw = dict(from_logits=from_logits, reduction=reduction, sample_weight=w, delta=0.7)
    with on(backend):
        value, grad = ops.loss(y_true, y_pred, name, grad=True, **kw)
        assert ops.loss(y_true, y_pred, name, **kw) == pytest.approx(value, rel=1e-6)
    f = lambda p: reference.loss(y_true, p, name, **kw)  # noqa: E731
    p64 = y_pred.astype(np.float64)
    assert value == pytest.approx(f(p64), rel=1e-5, abs=1e-6)
    h = 1e-6
    numeric = np.zeros_like(p64)
    for idx in np.ndindex(p64.shape):
        e = np.zeros_like(p64)
        e[idx] = h
        numeric[idx] = (f(p64 + e) - f(p64 - e)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=2e-3, atol=2e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_extreme_logits_are_stable(backend):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], np.float32)
    with on(backend):
        ce, g = ops.loss(np.array([0, 0], np.int32), z, "sparse_categorical_crossentropy", from_logits=True, grad=True)
        bce = ops.loss(np.ones_like(z), z, "binary_crossentropy", from_logits=True)
    assert ce == pytest.approx(1000.0, rel=1e-6)  # (0 + 2000) / 2
    np.testing.assert_allclose(g, [[0, 0, 0], [-0.5, 0.5, 0]], atol=1e-6)
    assert np.isfinite(bce)


def test_probabilities_are_clipped_as_keras():
    # log(0) would be -inf: Keras clips to 1e-7, so the loss is -log(1e-7) and the gradient 0.
    value, grad = ops.loss(np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32), "binary_crossentropy", grad=True)
    assert value == pytest.approx(-np.log(1e-7), rel=1e-5)
    assert grad[0, 0] == 0.0


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(name="hinge"), ValueError, r"loss: unknown loss 'hinge'"),
        (dict(reduction="none"), ValueError, r"loss: `reduction` must be 'mean' or 'sum'"),
        (dict(name="mse", from_logits=True), ValueError, r"loss: `from_logits` applies to the cross-entropies"),
        (dict(name="huber", delta=0.0), ValueError, r"loss: `delta` must be positive"),
        (dict(y_true=np.zeros((4, 2), np.float32)), ValueError, r"loss: `y_true` must have shape \(4, 3\)"),
        (dict(sample_weight=np.ones(3, np.float32)), ValueError, r"loss: `sample_weight` must have shape \(4,\)"),
        (
            dict(name="sparse_categorical_crossentropy", y_true=np.zeros(4, np.int64)),
            TypeError,
            r"loss: `y_true` must be int32 class labels.*astype\(np.int32\)",
        ),
        (
            dict(name="sparse_categorical_crossentropy", y_true=np.array([0, 1, 3, 0], np.int32)),
            ValueError,
            r"loss: `y_true` labels must be in \[0, 3\), got values in \[0, 3\]",
        ),
        (
            dict(y_pred=np.zeros((0, 3), np.float32), y_true=np.zeros((0, 3), np.float32)),
            ValueError,
            r"loss: `y_pred` must hold at least one sample",
        ),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = dict(
        name="categorical_crossentropy", y_true=np.zeros((4, 3), np.float32), y_pred=np.full((4, 3), 1 / 3, np.float32)
    )
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        ops.loss(args.pop("y_true"), args.pop("y_pred"), args.pop("name"), **args)
