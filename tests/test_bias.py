"""bias_add / bias_backward on the CPU and the simulated CUDA kernels vs the reference;
determinism of the gradient; shapes from the seed models; bad input."""

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops, reference

SHAPES = [(1,), (7,), (3, 1), (128, 10), (2, 5, 5, 65), (32, 13, 13, 3), (0, 4), (4, 0), (2000, 300)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_reference(rng, backend, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape[-1]).astype(np.float32)
    with on(backend):
        y = ops.bias_add(x, b)
        db = ops.bias_backward(x)
    np.testing.assert_array_equal(y, reference.bias_add(x, b))
    rows = max(1, x.size // max(1, shape[-1]))
    np.testing.assert_allclose(db, reference.bias_backward(x.astype(np.float64)), rtol=1e-6, atol=1e-6 * np.sqrt(rows))
    assert db.shape == (shape[-1],)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_is_deterministic(rng, backend):
    dy = rng.standard_normal((3000, 17)).astype(np.float32)
    with on(backend):
        first = ops.bias_backward(dy)
        for _ in range(3):
            np.testing.assert_array_equal(ops.bias_backward(dy), first)


def test_out_arguments(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    b = np.ones(3, np.float32)
    out = np.empty_like(x)
    assert ops.bias_add(x, b, out=out) is out
    db = np.empty(3, np.float32)
    assert ops.bias_backward(x, out=db) is db
    np.testing.assert_allclose(db, x.sum(axis=0), rtol=1e-6)


def test_bad_input():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"bias_add: `bias` must have shape \(3,\) \(one value per channel"):
        ops.bias_add(x, np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"bias_add: `bias` must be 1-D"):
        ops.bias_add(x, np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match=r"bias_add: `bias` must be float32"):
        ops.bias_add(x, np.ones(3))
    with pytest.raises(ValueError, match=r"bias_backward: `out` must have shape \(3,\)"):
        ops.bias_backward(x, out=np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"bias_backward: `dy` must have at least 1 dimension"):
        ops.bias_backward(np.ones((), np.float32))
