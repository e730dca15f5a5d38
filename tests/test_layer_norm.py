"""Layer and group normalization (the layer_norm kernel family) on the CPU and the simulated
CUDA kernels: forward and backward against the float64 reference on awkward row lengths
(1, 31, 32, 33, 768, 1025: the warp/block team edges), multi-axis rows and group-norm
geometries, finite differences, huge offsets, in place, determinism, every variant, the
simulator plain and checked+racecheck, mutants the checks must catch, and bad input."""

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.registry import OPS

VARIANTS = OPS["layer_norm"].variants
FEATURES = [1, 31, 32, 33, 768, 1025]
f64 = lambda a: None if a is None else a.astype(np.float64)  # noqa: E731


def _params(rng, shape, affine=True):
    if not affine:
        return None, None
    return (rng.standard_normal(shape) + 1).astype(np.float32), rng.standard_normal(shape).astype(np.float32)


def _check_layer(rng, backend, variant, shape, axis, offset=0.0, affine=True, atol=2e-4):
    x = (rng.standard_normal(shape) * 2 + offset).astype(np.float32)
    first = min(a % len(shape) for a in (axis if isinstance(axis, list) else [axis]))
    gamma, beta = _params(rng, shape[first:], affine)
    dy = rng.standard_normal(shape).astype(np.float32)
    with on(backend):
        y, mean, inv_std = ops.layer_norm(x, gamma, beta, axis=axis, variant=variant)
        dx, dgamma, dbeta = ops.layer_norm_backward(dy, x, gamma, mean, inv_std, axis=axis, variant=variant)
    ry, rmean, rinv = reference.layer_norm(f64(x), f64(gamma), f64(beta), axis=axis)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=atol)
    np.testing.assert_allclose(mean, rmean, rtol=1e-5, atol=1e-5 * max(1.0, abs(offset)))
    np.testing.assert_allclose(inv_std, rinv, rtol=1e-3 if offset else 1e-4)
    rdx, rdg, rdb = reference.layer_norm_backward(f64(dy), f64(x), f64(gamma), rmean, rinv, axis=axis)
    scale = np.abs(rdx).max() + 1
    np.testing.assert_allclose(dx, rdx, rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(dgamma, rdg, rtol=1e-4, atol=1e-4 * np.sqrt(x.size))
    np.testing.assert_allclose(dbeta, rdb, rtol=1e-4, atol=1e-4 * np.sqrt(x.size))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("features", FEATURES)
def test_layer_norm_matches_reference(rng, backend, variant, features):
    rows = 5 if features < 1000 else 3
    _check_layer(rng, backend, variant, (rows, features), -1)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("shape", "axis"), [((2, 3, 7), -1), ((2, 3, 7), [1, 2]), ((4, 2, 3, 5), [-3, -2, -1])])
def test_trailing_axes_and_no_affine(rng, backend, variant, shape, axis):
    _check_layer(rng, backend, variant, shape, axis)
    _check_layer(rng, backend, variant, shape, axis, affine=False)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("features", [33, 768, 1025])
def test_huge_offset_keeps_the_signal(rng, backend, variant, features):
    """x = 1e4 + N(0, 2): a float32 sum of the raw values would lose the signal (the
    one-pass E[x^2] - E[x]^2 loses all of it); the shifted two-pass statistics do not."""
    _check_layer(rng, backend, variant, (3, features), -1, offset=1e4, atol=3e-3)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_outlier_first_element(rng, backend, variant):
    """The row's first element (the tuned kernels' shift) far from the rest: 1e4 + 362 among
    8191 values 1e4 + N(0, 1), (mean - x0)^2 / var about 7700 (the CPU's one-read statistics
    would cancel 13 bits: it reads the row again around the mean)."""
    x = (1e4 + rng.standard_normal((3, 8192))).astype(np.float32)
    x[:, 0] += 362
    with on(backend):
        y, mean, inv_std = ops.layer_norm(x, variant=variant)
    ry, rmean, rinv = reference.layer_norm(f64(x))
    np.testing.assert_allclose(mean, rmean, rtol=1e-7)
    np.testing.assert_allclose(inv_std, rinv, rtol=1e-4)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=3e-3)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_group_norm_outlier_first_element(rng, backend, variant):
    """As test_outlier_first_element for group norm over positions: each group's first
    element (the shift) far from the rest, and a common offset of 1e4."""
    x = (1e4 + rng.standard_normal((2, 1024, 8))).astype(np.float32)
    x[:, 0, ::4] += 256
    with on(backend):
        y, mean, inv_std = ops.group_norm(x, groups=2, variant=variant)
    ry, rmean, rinv = reference.group_norm(f64(x), groups=2)
    np.testing.assert_allclose(mean, rmean, rtol=1e-7)
    np.testing.assert_allclose(inv_std, rinv, rtol=1e-4)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=3e-3)


def _check_group(rng, backend, variant, shape, groups, affine=True):
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    gamma, beta = _params(rng, (shape[-1],), affine)
    dy = rng.standard_normal(shape).astype(np.float32)
    with on(backend):
        y, mean, inv_std = ops.group_norm(x, gamma, beta, groups=groups, variant=variant)
        dx, dgamma, dbeta = ops.group_norm_backward(dy, x, gamma, mean, inv_std, groups=groups, variant=variant)
    ry, rmean, rinv = reference.group_norm(f64(x), f64(gamma), f64(beta), groups=groups)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=2e-4)
    np.testing.assert_allclose(mean, rmean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(inv_std, rinv, rtol=1e-4)
    rdx, rdg, rdb = reference.group_norm_backward(f64(dy), f64(x), f64(gamma), rmean, rinv, groups=groups)
    np.testing.assert_allclose(dx, rdx, rtol=1e-3, atol=1e-4 * (np.abs(rdx).max() + 1))
    np.testing.assert_allclose(dgamma, rdg, rtol=1e-4, atol=1e-4 * np.sqrt(x.size))
    np.testing.assert_allclose(dbeta, rdb, rtol=1e-4, atol=1e-4 * np.sqrt(x.size))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("shape", "groups"),
    [((2, 5, 5, 64), 32), ((3, 4, 6), 2), ((2, 7, 3, 6), 6), ((2, 3, 3, 5), 1), ((1, 40, 40, 8), 4)],
)
def test_group_norm_matches_reference(rng, backend, variant, shape, groups):
    _check_group(rng, backend, variant, shape, groups)
    _check_group(rng, backend, variant, shape, groups, affine=False)


def _numeric_grad(f, arg, args, h=1e-6):
    grad = np.zeros_like(args[arg])
    for idx in np.ndindex(args[arg].shape):
        plus, minus = [a.copy() for a in args], [a.copy() for a in args]
        plus[arg][idx] += h
        minus[arg][idx] -= h
        grad[idx] = (f(*plus) - f(*minus)) / (2 * h)
    return grad


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["layer", "group"])
def test_backward_matches_finite_differences(rng, backend, variant, kind):
    shape = (2, 3, 4) if kind == "layer" else (2, 3, 4)
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    param = (3, 4) if kind == "layer" else (4,)
    gamma, beta = rng.standard_normal(param) + 1, rng.standard_normal(param)
    fwd = {"layer": (reference.layer_norm, {"axis": [1, 2]}), "group": (reference.group_norm, {"groups": 2})}[kind]

    def f(x_, g_, b_):
        return (fwd[0](x_, g_, b_, **fwd[1])[0] * dy).sum()

    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    op, op_b = (
        (ops.layer_norm, ops.layer_norm_backward) if kind == "layer" else (ops.group_norm, ops.group_norm_backward)
    )
    with on(backend):
        _, mean, inv_std = op(f32(x), f32(gamma), f32(beta), **fwd[1], variant=variant)
        got = op_b(f32(dy), f32(x), f32(gamma), mean, inv_std, **fwd[1], variant=variant)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, _numeric_grad(f, i, [x, gamma, beta]), rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_variants_agree_in_place(rng, backend):
    """naive and tuned within float32 rounding, forward and backward, with out=x and out=dy."""
    x = (rng.standard_normal((9, 130)) * 2 + 3).astype(np.float32)
    gamma, beta = _params(rng, (130,))
    dy = rng.standard_normal(x.shape).astype(np.float32)
    got = {}
    with on(backend):
        for v in VARIANTS:
            y = x.copy()
            _, mean, inv_std = ops.layer_norm(y, gamma, beta, out=(y, None, None), variant=v)
            dx = dy.copy()
            grads = ops.layer_norm_backward(dx, x, gamma, mean, inv_std, out=(dx, None, None), variant=v)
            got[v] = (y, mean, inv_std, *grads)
    first, *others = got.values()
    for other in others:
        for label, a, b in zip(("y", "mean", "inv_std", "dx", "dgamma", "dbeta"), first, other):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=2e-5, err_msg=label)


def test_backward_is_deterministic(rng):
    """dgamma / dbeta: no atomics, a fixed summation order: bit-identical on repeat."""
    x = rng.standard_normal((257, 96)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    _, mean, inv_std = ops.layer_norm(x)
    first = ops.layer_norm_backward(dy, x, None, mean, inv_std)
    for _ in range(3):
        for a, b in zip(first, ops.layer_norm_backward(dy, x, None, mean, inv_std)):
            np.testing.assert_array_equal(a, b)


def test_empty_batch(rng):
    x = np.zeros((0, 5), np.float32)
    y, mean, inv_std = ops.layer_norm(x)
    assert y.shape == (0, 5) and mean.shape == (0,) and inv_std.shape == (0,)
    dx, dg, db = ops.layer_norm_backward(x, x, None, mean, inv_std)
    assert dx.shape == (0, 5)
    np.testing.assert_array_equal(dg, np.zeros(5, np.float32))
    np.testing.assert_array_equal(db, np.zeros(5, np.float32))


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
@pytest.mark.parametrize("features", [31, 1025])
def test_simulator_plain_mode(rng, features):
    """The default simulator (no guard pages, no race check) gives the same answers."""
    x = rng.standard_normal((4, features)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    with sinapse.cuda.simulate():
        y, mean, inv_std = ops.layer_norm(x)
        dx = ops.layer_norm_backward(dy, x, None, mean, inv_std)[0]
    ry, rmean, rinv = reference.layer_norm(f64(x))
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=2e-4)
    np.testing.assert_allclose(dx, reference.layer_norm_backward(f64(dy), f64(x), None, rmean, rinv)[0], atol=2e-4)


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_each_variant_and_team_reaches_its_kernel(rng):
    expected = {
        ("naive", 31): ("forward_naive", "dx_naive"),
        ("naive", 1025): ("forward_naive", "dx_naive"),
        ("tuned", 31): ("forward_kernel<warp>", "dx_kernel<warp>"),
        ("tuned", 1025): ("forward_kernel<block>", "dx_kernel<block>"),
    }
    for (v, features), names in expected.items():
        x = rng.standard_normal((3, features)).astype(np.float32)
        with sinapse.cuda.simulate():
            _, mean, inv_std = ops.layer_norm(x, variant=v)
            launched = [sinapse._cuda_sim.last_launch()]
            ops.layer_norm_backward(x, x, None, mean, inv_std, variant=v)
            launched.append(sinapse._cuda_sim.last_launch())
        for name, launch in zip(names, launched):
            assert launch.startswith(f"layer_norm_{name}"), launch


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_mutants_are_caught(rng):
    """A missing barrier (block teams) is a race the race check names; statistics that skip
    an element fail the reference comparison above."""
    x = rng.standard_normal((2, 1025)).astype(np.float32)
    y, mean, inv_std = np.empty_like(x), np.empty(2, np.float32), np.empty(2, np.float32)
    with sinapse.cuda.simulate(racecheck=True):
        with pytest.raises(RuntimeError, match=r"layer_norm_forward_kernel<block,no_sync>.*shared-memory race"):
            sinapse._cuda_sim.layer_norm_forward_mutant(x, y, mean, inv_std, 2, 1025, "no_sync")
    ry = reference.layer_norm(f64(x))[0]
    for features in (33, 1025):
        x = rng.standard_normal((2, features)).astype(np.float32)
        y = np.empty_like(x)
        with sinapse.cuda.simulate(checked=True, racecheck=True):
            sinapse._cuda_sim.layer_norm_forward_mutant(x, y, mean, inv_std, 2, features, "short_row")
        ry = reference.layer_norm(f64(x))[0]
        with pytest.raises(AssertionError):
            np.testing.assert_allclose(y, ry, rtol=1e-4, atol=2e-4)
    with pytest.raises(ValueError, match="unknown mutant"):
        sinapse._cuda_sim.layer_norm_forward_mutant(x, y, mean, inv_std, 2, 1025, "nope")


def test_variant_from_environment(rng, monkeypatch):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    monkeypatch.setenv("SINAPSE_LAYER_NORM", "naive")
    naive = ops.layer_norm(x)[0]
    monkeypatch.setenv("SINAPSE_LAYER_NORM", "fastest")
    with pytest.raises(ValueError, match=r"layer_norm: \$SINAPSE_LAYER_NORM='fastest' is not a variant of layer_norm"):
        ops.layer_norm(x)
    with pytest.raises(ValueError, match=r"group_norm_backward: `variant`='slow' is not a variant of layer_norm"):
        ops.group_norm_backward(x, x, None, x[:, :1], x[:, :1], groups=1, variant="slow")
    monkeypatch.delenv("SINAPSE_LAYER_NORM")
    np.testing.assert_allclose(naive, ops.layer_norm(x)[0], rtol=1e-5, atol=1e-6)


def test_bad_input():
    x = np.ones((4, 3, 6), np.float32)
    g = np.ones(6, np.float32)
    with pytest.raises(ValueError, match=r"layer_norm: `axis` must be the trailing axes of x .* got axis=1 for x of"):
        ops.layer_norm(x, axis=1)
    with pytest.raises(ValueError, match=r"layer_norm: `axis` must be an axis of x in \[-3, 2\], got 3"):
        ops.layer_norm(x, axis=3)
    with pytest.raises(TypeError, match=r"layer_norm: `axis` must be an axis of x"):
        ops.layer_norm(x, axis=1.0)
    with pytest.raises(ValueError, match=r"layer_norm: `gamma` must have shape \(3, 6\)"):
        ops.layer_norm(x, g, axis=[1, 2])
    with pytest.raises(ValueError, match=r"layer_norm: `epsilon` must be > 0"):
        ops.layer_norm(x, epsilon=0.0)
    with pytest.raises(TypeError, match=r"layer_norm: `x` must be float32, got NumPy array of dtype float64"):
        ops.layer_norm(x.astype(np.float64))
    with pytest.raises(ValueError, match=r"layer_norm: the normalised axes of x must hold at least one value"):
        ops.layer_norm(np.ones((3, 0), np.float32))
    with pytest.raises(ValueError, match=r"layer_norm_backward: `mean` must have shape \(4, 3\)"):
        ops.layer_norm_backward(x, x, g, np.ones(4, np.float32), np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"layer_norm_backward: `x` must have shape \(4, 3, 6\)"):
        ops.layer_norm_backward(x, x[:2], g, np.ones((4, 3), np.float32), np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"group_norm: the channels of x \(6, its last axis; shape \(4, 3, 6\)\) must"):
        ops.group_norm(x, groups=4)
    with pytest.raises(ValueError, match=r"group_norm: `groups` must be a positive integer, got 0"):
        ops.group_norm(x, groups=0)
    with pytest.raises(ValueError, match=r"group_norm: `x` must be at least 2-D"):
        ops.group_norm(np.ones(6, np.float32), groups=2)
    with pytest.raises(ValueError, match=r"layer_norm: `out\[0\]` must have shape \(4, 3, 6\)"):
        ops.layer_norm(x, out=(np.ones((4, 3), np.float32), None, None))
