"""Resize (nearest / bilinear) and crop, forward and backward, on the CPU and the simulated
CUDA kernels: against the reference (jax.image.resize's weight matrices in float64), the
adjoint identity, finite differences, PyTorch's interpolate, the same bits for any thread
count, bad input, and deliberately broken CUDA kernels the checks must catch."""

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.ops.resize import ResizeGeometry

RTOL, ATOL = 1e-5, 1e-6

# (input shape NHWC, output size): 2x up (the autoencoder's), odd up, down, mixed, identity,
# 1x1 to many, many to 1x1, an empty batch, more channels than a vector.
CASES = [
    ((2, 7, 7, 5), (14, 14)),
    ((1, 5, 9, 3), (11, 13)),
    ((2, 9, 8, 2), (4, 3)),
    ((1, 10, 3, 17), (7, 8)),
    ((1, 4, 6, 1), (4, 6)),
    ((2, 1, 1, 2), (3, 5)),
    ((1, 6, 5, 3), (1, 1)),
    ((0, 3, 3, 2), (5, 5)),
    ((1, 3, 4, 40), (9, 2)),
]
MODES = ["nearest", "bilinear"]


def normal(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape, size", CASES)
@pytest.mark.parametrize("interpolation", MODES)
@pytest.mark.parametrize("variant", ["naive", "tuned"])
def test_resize_matches_reference(rng, backend, shape, size, interpolation, variant):
    x = normal(rng, shape)
    dy = normal(rng, (shape[0], *size, shape[3]))
    with on(backend):
        y = ops.resize(x, size, interpolation=interpolation, variant=variant)
        dx = ops.resize_backward(dy, shape[1:3], interpolation=interpolation, variant=variant)
    want = reference.resize(x.astype(np.float64), size, interpolation)
    np.testing.assert_allclose(y, want, rtol=RTOL, atol=ATOL)
    want_dx = reference.resize_backward(dy.astype(np.float64), shape[1:3], interpolation)
    np.testing.assert_allclose(dx, want_dx, rtol=RTOL, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("interpolation", MODES)
def test_backward_is_the_adjoint_of_the_forward(rng, backend, interpolation):
    """<resize(x), dy> == <x, resize_backward(dy)>: checks the backward's gather independently."""
    x, dy = rng.standard_normal((2, 5, 7, 3)), rng.standard_normal((2, 12, 4, 3))
    with on(backend):
        y = ops.resize(x.astype(np.float32), (12, 4), interpolation=interpolation)
        dx = ops.resize_backward(dy.astype(np.float32), (5, 7), interpolation=interpolation)
    np.testing.assert_allclose((y * dy).sum(), (x * dx).sum(), rtol=1e-5)


@pytest.mark.parametrize("interpolation", MODES)
def test_reference_backward_matches_finite_differences(rng, interpolation):
    x = rng.standard_normal((1, 3, 4, 2))
    dy = rng.standard_normal((1, 5, 3, 2))
    dx = reference.resize_backward(dy, (3, 4), interpolation)
    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (
            (reference.resize(xp, (5, 3), interpolation) - reference.resize(xm, (5, 3), interpolation)) * dy
        ).sum()
    np.testing.assert_allclose(dx, num / (2 * eps), rtol=1e-6, atol=1e-8)


def test_nearest_integer_factor_repeats_pixels(rng):
    """Keras's UpSampling2D(interpolation='nearest') repeats each pixel; so does resize."""
    x = normal(rng, (2, 3, 5, 4))
    y = ops.resize(x, (6, 15), interpolation="nearest")
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2))


@pytest.mark.parametrize("mode", ["bilinear", "nearest-exact"])
def test_matches_torch(rng, mode):
    torch = pytest.importorskip("torch")
    x = normal(rng, (2, 6, 9, 3))
    dy = normal(rng, (2, 13, 4, 3))
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
    kw = {"align_corners": False} if mode == "bilinear" else {}
    ty = torch.nn.functional.interpolate(tx, size=(13, 4), mode=mode, **kw)
    ty.backward(torch.from_numpy(dy.transpose(0, 3, 1, 2).copy()))
    ours = "bilinear" if mode == "bilinear" else "nearest"
    np.testing.assert_allclose(
        ops.resize(x, (13, 4), interpolation=ours), ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        ops.resize_backward(dy, (6, 9), interpolation=ours), tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("interpolation", MODES)
def test_backward_same_bits_for_any_thread_count(rng, restore_threads, interpolation):
    dy = normal(rng, (16, 28, 28, 32))
    results = []
    for n in (1, 2):
        sinapse.set_num_threads(n)
        results.append(ops.resize_backward(dy, (14, 14), interpolation=interpolation))
        results.append(ops.resize(dy, (14, 14), interpolation=interpolation))
    np.testing.assert_array_equal(results[0], results[2])
    np.testing.assert_array_equal(results[1], results[3])


@pytest.mark.parametrize("backend", BACKENDS)
def test_crop_and_its_backward(rng, backend):
    x = normal(rng, (2, 7, 9, 3))
    dy = normal(rng, (2, 3, 4, 3))
    with on(backend):
        y = ops.crop(x, 2, 5, 3, 4)
        dx = ops.crop_backward(dy, (7, 9), 2, 5)
        padded = ops.crop_backward(dy, (7, 9), 2, 5, fill_value=-1.5)
        whole = ops.crop(x, 0, 0, 7, 9)
    np.testing.assert_array_equal(y, reference.crop(x, 2, 5, 3, 4))
    np.testing.assert_array_equal(dx, reference.crop_backward(dy, (7, 9), 2, 5))
    np.testing.assert_array_equal(padded, reference.crop_backward(dy, (7, 9), 2, 5, fill_value=-1.5))
    np.testing.assert_array_equal(whole, x)


def test_out_argument(rng):
    x = normal(rng, (1, 3, 3, 2))
    out = np.full((1, 6, 6, 2), np.nan, np.float32)
    assert ops.resize(x, (6, 6), out=out) is out
    np.testing.assert_allclose(out, reference.resize(x, (6, 6)), rtol=RTOL, atol=ATOL)
    dx = np.full((1, 3, 3, 2), np.nan, np.float32)
    assert ops.resize_backward(out, (3, 3), out=dx) is dx
    assert np.isfinite(dx).all()
    c = np.full((1, 2, 2, 2), np.nan, np.float32)
    assert ops.crop(x, 1, 1, 2, 2, out=c) is c
    np.testing.assert_array_equal(c, x[:, 1:, 1:])


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input(backend):
    x = np.ones((1, 4, 4, 2), np.float32)
    with on(backend):
        with pytest.raises(
            ValueError, match=r"resize: `interpolation` must be one of 'nearest', 'bilinear', got 'bicubic'"
        ):
            ops.resize(x, (2, 2), interpolation="bicubic")
        with pytest.raises(ValueError, match=r"resize: `x` must be 4-D \(N, H, W, C\)"):
            ops.resize(np.ones((4, 4, 2), np.float32), (2, 2))
        with pytest.raises(ValueError, match=r"resize: `size` must be a positive int or a pair"):
            ops.resize(x, (0, 2))
        with pytest.raises(TypeError, match=r"resize: `size` must be a positive int or a pair"):
            ops.resize(x, (2.0, 2))
        with pytest.raises(ValueError, match=r"resize: `x` must have at least one row and one column"):
            ops.resize(np.ones((1, 0, 4, 2), np.float32), (2, 2))
        with pytest.raises(TypeError, match=r"resize_backward: `input_size` must be a positive int or a pair"):
            ops.resize_backward(x, (2, 2, 2))
        with pytest.raises(
            ValueError, match=r"crop: the window of 3 x 2 pixels at \(top, left\) = \(2, 0\) leaves the 4 x 4 image"
        ):
            ops.crop(x, 2, 0, 3, 2)
        with pytest.raises(ValueError, match=r"crop: `top` must be a non-negative int"):
            ops.crop(x, -1, 0, 1, 1)
        with pytest.raises(ValueError, match=r"crop: `height` must be a positive int"):
            ops.crop(x, 0, 0, 0, 1)
        with pytest.raises(ValueError, match=r"crop_backward: the window of 4 x 4 pixels .* leaves the 3 x 3 image"):
            ops.crop_backward(x, (3, 3), 0, 0)
        with pytest.raises(ValueError, match=r"crop_backward: `fill_value`"):
            ops.crop_backward(x, (5, 5), 0, 0, fill_value=float("nan"))
        with pytest.raises(ValueError, match=r"resize: `out` must have shape \(1, 2, 2, 2\)"):
            ops.resize(x, (2, 2), out=np.ones((1, 2, 3, 2), np.float32))
    with pytest.raises(
        ValueError, match=r"resize: `variant`='fast' is not a variant of resize; expected one of naive, tuned"
    ):
        ops.resize(x, (2, 2), variant="fast")
    with pytest.raises(TypeError, match=r"resize: `x` must be float32"):
        ops.resize(np.ones((1, 2, 2, 1)), (2, 2))


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="needs the CUDA simulator")
@pytest.mark.parametrize("which", ["first_tap_only", "edge_clamp"])
def test_simulated_mutants_are_caught(rng, which):
    """The comparison of test_resize_matches_reference must fail on broken CUDA backward kernels."""
    dy = normal(rng, (2, 14, 13, 3))
    geometry = ResizeGeometry(N=2, H=7, W=6, C=3, OH=14, OW=13, bilinear=1)
    good = np.full((2, 7, 6, 3), np.nan, np.float32)
    bad = good.copy()
    with sinapse.cuda.simulate():
        ops.resize_backward(dy, (7, 6), out=good)
        sinapse._cuda_sim.resize_backward_mutant(geometry, dy, bad, which)
    want = reference.resize_backward(dy.astype(np.float64), (7, 6))
    np.testing.assert_allclose(good, want, rtol=RTOL, atol=1e-5)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(bad, want, rtol=RTOL, atol=1e-5)


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="needs the CUDA simulator")
@pytest.mark.parametrize("interpolation", MODES)
def test_simulator_plain_mode(rng, interpolation):
    """The plain simulator (no guard pages, no race check) gives the checked mode's results."""
    x, dy = normal(rng, (2, 5, 6, 3)), normal(rng, (2, 9, 4, 3))
    results = []
    for mode in ({}, {"checked": True, "racecheck": True}):
        with sinapse.cuda.simulate(**mode):
            results.append(
                (
                    ops.resize(x, (9, 4), interpolation=interpolation),
                    ops.resize_backward(dy, (5, 6), interpolation=interpolation),
                    ops.crop_backward(ops.crop(x, 1, 2, 3, 3), (5, 6), 1, 2),
                )
            )
    for plain, checked in zip(*results):
        np.testing.assert_array_equal(plain, checked)
    np.testing.assert_allclose(
        results[0][0], reference.resize(x.astype(np.float64), (9, 4), interpolation), rtol=RTOL, atol=ATOL
    )
