"""Activations (ops.activation / activation_backward) on the CPU kernels and on the CUDA
kernels in the simulator, against sinapse.reference; the reference's hand-written
derivatives against central finite differences of its own forward, in float64."""

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.ops.activation import ALPHA_DEFAULTS, KINDS

NAMES = sorted(KINDS)
SIZES = [0, 1, 7, 33, 1000, 100_003]  # the last crosses the threading cut-off (and CUDA grid limits are irrelevant)


def sample(rng, n):
    # Values on both sides of every kink and saturation: 0, +-3 (hard_sigmoid), large |x|.
    x = rng.standard_normal(n).astype(np.float32) * 4
    x[: min(n, 6)] = np.array([0.0, -3.0, 3.0, -30.0, 30.0, 1e-3], np.float32)[: min(n, 6)]
    return x


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", SIZES)
def test_forward_and_backward_match_reference(rng, backend, name, n):
    x = sample(rng, n).reshape(-1, 1) if n % 2 else sample(rng, n)  # any shape
    dy = rng.standard_normal(x.shape).astype(np.float32)
    alpha = 0.1 if name in ALPHA_DEFAULTS else None
    with on(backend):
        y = ops.activation(x, name, alpha=alpha)
        dx = ops.activation_backward(dy, x, name, alpha=alpha)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, reference.activation(name, alpha)(x64), rtol=2e-6, atol=2e-6, err_msg=name)
    np.testing.assert_allclose(
        dx, reference.activation_backward(dy.astype(np.float64), x64, name, alpha), rtol=2e-5, atol=2e-6, err_msg=name
    )


@pytest.mark.parametrize("name", NAMES)
def test_reference_derivative_matches_finite_differences(rng, name):
    # Away from the kinks (relu at 0, hard_sigmoid at +-3), central differences in float64.
    x = rng.uniform(-5, 5, 200)
    x = x[(np.abs(x) > 1e-3) & (np.abs(np.abs(x) - 3) > 1e-3)]
    alpha = 0.3 if name in ALPHA_DEFAULTS else None
    f = reference.activation(name, alpha)
    h = 1e-6
    numeric = (f(x + h) - f(x - h)) / (2 * h)
    analytic = reference.activation_backward(np.ones_like(x), x, name, alpha)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_and_defaults(rng, backend):
    x = sample(rng, 50)
    with on(backend):
        out = np.full_like(x, np.nan)
        assert ops.activation(x, "leaky_relu", out=out) is out
        np.testing.assert_allclose(out, np.where(x < 0, 0.2 * x, x), rtol=1e-6)  # Keras's default slope
        np.testing.assert_array_equal(ops.activation(x, "swish"), ops.activation(x, "silu"))
        want = ops.activation(x, "relu")
        assert ops.activation(x, "relu", out=x) is x  # exactly in place: allowed (tests/test_aliasing.py)
        np.testing.assert_array_equal(x, want)
        with pytest.raises(ValueError, match="`out` overlaps input `x`"):
            ops.activation(x[1:], "relu", out=x[:-1])


def test_relu_keeps_nan():
    x = np.array([np.nan, -1.0, 2.0], np.float32)
    y = ops.activation(x, "relu")
    assert np.isnan(y[0]) and y[1] == 0 and y[2] == 2


@pytest.mark.parametrize(
    "bad,exc,match",
    [
        (dict(name="mish"), ValueError, r"activation: unknown activation 'mish'"),
        (dict(name=None), ValueError, r"activation: unknown activation None"),
        (dict(name="relu", alpha=0.5), ValueError, r"activation: activation 'relu' takes no `alpha`"),
        (dict(name="elu", alpha=float("nan")), ValueError, r"activation: `alpha` must be finite"),
        (dict(name="elu", alpha="1"), TypeError, r"activation: `alpha` must be a real number"),
    ],
)
def test_bad_arguments(bad, exc, match):
    with pytest.raises(exc, match=match):
        ops.activation(np.ones(3, np.float32), bad.pop("name"), **bad)


def test_bad_arrays():
    with pytest.raises(TypeError, match=r"activation: `x` must be float32"):
        ops.activation(np.ones(3), "relu")
    with pytest.raises(ValueError, match=r"activation_backward: `x` must have shape \(3,\)"):
        ops.activation_backward(np.ones(3, np.float32), np.ones(4, np.float32), "relu")
    with pytest.raises(ValueError, match=r"activation: `x` must be C-contiguous"):
        ops.activation(np.ones((4, 4), np.float32)[:, ::2], "relu")
    with pytest.raises(ValueError, match=r"activation: `out` must have shape \(3,\)"):
        ops.activation(np.ones(3, np.float32), "relu", out=np.ones(2, np.float32))
