"""Batch normalization (NHWC, channel axis last) on the CPU and the simulated CUDA kernels:
training and inference forward against the reference (running statistics updated as
Keras), the backward against finite differences of the reference, and bad input. Every
kernel variant of the registry (naive, tuned) on every backend, and the variants against
each other."""

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.registry import OPS

VARIANTS = OPS["batch_norm"].variants
SHAPES = [(1, 1), (4, 3), (2, 5, 5, 65), (8, 7, 7, 1), (3, 4, 16)]


def params(rng, c):
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return f(c), f(c), f(c), rng.uniform(0.5, 2.0, c).astype(np.float32)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_forward_matches_reference(rng, backend, shape, training, variant):
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    gamma, beta, rmean, rvar = params(rng, shape[-1])
    rm, rv = rmean.copy(), rvar.copy()
    with on(backend):
        y, mean, invstd = ops.batch_norm(
            x, gamma, beta, rm, rv, training=training, momentum=0.9, epsilon=1e-3, variant=variant
        )
    ry, rmean2, rvar2 = reference.batch_norm(
        x.astype(np.float64),
        gamma,
        beta,
        rmean.astype(np.float64),
        rvar.astype(np.float64),
        training=training,
        momentum=0.9,
        epsilon=1e-3,
    )
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rm, rmean2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv, rvar2, rtol=1e-5, atol=1e-6)
    if not training:
        np.testing.assert_array_equal(rm, rmean)  # inference leaves the running statistics alone
        np.testing.assert_array_equal(rv, rvar)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("training", [True, False])
def test_backward_matches_finite_differences(rng, backend, training, variant):
    shape = (3, 2, 2, 4)
    x = rng.standard_normal(shape)
    gamma, beta, rmean, rvar = (a.astype(np.float64) for a in params(rng, 4))
    dy = rng.standard_normal(shape)

    def f(x_, gamma_, beta_):
        return (reference.batch_norm(x_, gamma_, beta_, rmean, rvar, training=training)[0] * dy).sum()

    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    with on(backend):
        _, mean, invstd = ops.batch_norm(
            f32(x), f32(gamma), f32(beta), f32(rmean), f32(rvar), training=training, variant=variant
        )
        dx, dgamma, dbeta = ops.batch_norm_backward(
            f32(dy), f32(x), f32(gamma), mean, invstd, training=training, variant=variant
        )
    h = 1e-6
    for got, arg in ((dx, 0), (dgamma, 1), (dbeta, 2)):
        args = [x, gamma, beta]
        numeric = np.zeros_like(args[arg])
        for idx in np.ndindex(args[arg].shape):
            e = np.zeros_like(args[arg])
            e[idx] = h
            plus, minus = list(args), list(args)
            plus[arg], minus[arg] = args[arg] + e, args[arg] - e
            numeric[idx] = (f(*plus) - f(*minus)) / (2 * h)
        np.testing.assert_allclose(got, numeric, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("training", [True, False])
def test_variants_agree(rng, backend, training):
    """naive and tuned: the same statistics (same sums, in double) and outputs within float32
    rounding, forward and backward, in place too (out=x, out=dy)."""
    x = (rng.standard_normal((6, 5, 5, 37)) * 2 + 3).astype(np.float32)
    gamma, beta, rmean, rvar = params(rng, 37)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    got = {}
    with on(backend):
        for v in VARIANTS:
            rm, rv, y = rmean.copy(), rvar.copy(), x.copy()
            _, mean, invstd = ops.batch_norm(y, gamma, beta, rm, rv, training=training, out=(y, None, None), variant=v)
            dx = dy.copy()
            grads = ops.batch_norm_backward(
                dx, x, gamma, mean, invstd, training=training, out=(dx, None, None), variant=v
            )
            got[v] = (y, mean, invstd, rm, rv, *grads)
    first, *others = got.values()
    for other in others:
        for label, a, b in zip(
            ("y", "mean", "invstd", "running_mean", "running_var", "dx", "dgamma", "dbeta"), first, other
        ):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5, err_msg=label)


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_variant_reaches_the_cuda_kernel(rng):
    """Each variant name launches its own kernels (the simulator names the latest launch)."""
    import sinapse

    x = rng.standard_normal((4, 3)).astype(np.float32)
    g = np.ones(3, np.float32)
    expected = {"naive": ("train_naive", "infer_naive", "backward_naive"), "tuned": ("apply", "apply", "dx")}
    for v in VARIANTS:
        launched = []
        with on("cuda_sim"):
            for training in (True, False):
                _, mean, invstd = ops.batch_norm(x, g, g, g.copy(), g.copy(), training=training, variant=v)
                launched.append(sinapse._cuda_sim.last_launch())
            ops.batch_norm_backward(x, x, g, mean, invstd, training=True, variant=v)
            launched.append(sinapse._cuda_sim.last_launch())
        for name, launch in zip(expected[v], launched):
            assert launch.startswith(f"batch_norm_{name}_kernel<<<"), launch


def test_variant_from_environment(rng, monkeypatch):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    g = np.ones(3, np.float32)
    monkeypatch.setenv("SINAPSE_BATCH_NORM", "naive")
    naive = ops.batch_norm(x, g, g, g.copy(), g.copy(), training=True)[0]
    monkeypatch.setenv("SINAPSE_BATCH_NORM", "fastest")
    with pytest.raises(ValueError, match=r"batch_norm: \$SINAPSE_BATCH_NORM='fastest' is not a variant of batch_norm"):
        ops.batch_norm(x, g, g, g.copy(), g.copy(), training=True)
    with pytest.raises(ValueError, match=r"batch_norm_backward: `variant`='slow' is not a variant of batch_norm"):
        ops.batch_norm_backward(x, x, g, g, g, training=True, variant="slow")
    monkeypatch.delenv("SINAPSE_BATCH_NORM")
    np.testing.assert_allclose(naive, ops.batch_norm(x, g, g, g.copy(), g.copy(), training=True)[0], rtol=1e-6)


def test_bad_input(rng):
    x = np.ones((4, 3), np.float32)
    g = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"batch_norm: `gamma` must have shape \(3,\)"):
        ops.batch_norm(x, np.ones(2, np.float32), g, g.copy(), g.copy(), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: `momentum` must be in \[0, 1\]"):
        ops.batch_norm(x, g, g, g.copy(), g.copy(), training=True, momentum=1.5)
    with pytest.raises(ValueError, match=r"batch_norm: `epsilon` must be positive"):
        ops.batch_norm(x, g, g, g.copy(), g.copy(), training=True, epsilon=0.0)
    ro = g.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"batch_norm: `running_mean` and `running_var` are updated in place"):
        ops.batch_norm(x, g, g, ro, g.copy(), training=True)
    with pytest.raises(ValueError, match=r"batch_norm_backward: `x` must have shape \(4, 3\)"):
        ops.batch_norm_backward(x, np.ones((2, 3), np.float32), g, g, g, training=True)
