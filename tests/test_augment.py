"""The augment family (affine_transform, flip, adjust_contrast, adjust_brightness and their
backward) on the CPU kernels and the simulated CUDA kernels (checked + racecheck) against the
reference: every interpolation and fill mode, C = 1 and C > 1, output_shape, empty batches;
Keras 3.15.1's own results (tests/golden/keras_augment.npz); the backward against the adjoint
identity and finite differences; determinism; a mutant CUDA kernel the checks catch; bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import ops, reference

GOLDEN = np.load(Path(__file__).parent / "golden" / "keras_augment.npz")
INTERPOLATIONS = ["bilinear", "nearest"]
FILL_MODES = ["constant", "reflect", "wrap", "nearest"]


def transforms_for(rng, n, spread=3.0):
    """Rotations (about the origin) with shifts and a little scaling/shear: every tap case, taps far
    outside the image included."""
    a = rng.uniform(-0.6, 0.6, n)
    s = rng.uniform(0.7, 1.4, n)
    t = np.zeros((n, 8), np.float32)
    t[:, 0], t[:, 1], t[:, 2] = s * np.cos(a), -np.sin(a) + rng.uniform(-0.2, 0.2, n), rng.uniform(-spread, spread, n)
    t[:, 3], t[:, 4], t[:, 5] = np.sin(a), s * np.cos(a), rng.uniform(-spread, spread, n)
    return t


SHAPES = [(3, 7, 9, 1), (2, 6, 5, 3), (1, 1, 1, 2), (2, 4, 4, 33)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_affine_matches_reference(rng, backend, shape, interpolation, fill_mode):
    x = rng.standard_normal(shape).astype(np.float32)
    t = transforms_for(rng, shape[0], spread=max(shape[1:3]))
    kw = {"interpolation": interpolation, "fill_mode": fill_mode}
    with on(backend):
        y = ops.affine_transform(x, t, fill_value=0.5, **kw)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = ops.affine_transform_backward(dy, t, x.shape, **kw)
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    np.testing.assert_allclose(y, reference.affine_transform(x64, t64, fill_value=0.5, **kw), rtol=1e-5, atol=1e-5)
    rdx = reference.affine_transform_backward(dy.astype(np.float64), t64, x.shape, **kw)
    np.testing.assert_allclose(dx, rdx, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_affine_output_shape_and_empty(rng, backend):
    x = rng.standard_normal((2, 8, 6, 2)).astype(np.float32)
    t = transforms_for(rng, 2)
    with on(backend):
        y = ops.affine_transform(x, t, output_shape=(3, 11))
        dx = ops.affine_transform_backward(np.ones_like(y), t, x.shape)
        empty = ops.affine_transform(np.zeros((0, 4, 4, 1), np.float32), np.zeros((0, 8), np.float32))
        none = ops.affine_transform(x, t, output_shape=(0, 5))
    assert y.shape == (2, 3, 11, 2) and empty.shape == (0, 4, 4, 1) and none.shape == (2, 0, 5, 2)
    np.testing.assert_allclose(y, reference.affine_transform(x, t, output_shape=(3, 11)), rtol=1e-5, atol=1e-5)
    want = reference.affine_transform_backward(np.ones((2, 3, 11, 2)), t.astype(np.float64), x.shape)
    np.testing.assert_allclose(dx, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_affine_matches_keras(interpolation, fill_mode):
    """Keras 3.15.1's keras.ops.image.affine_transform (JAX backend) on the same inputs."""
    y = ops.affine_transform(
        GOLDEN["images"], GOLDEN["transforms"], interpolation=interpolation, fill_mode=fill_mode, fill_value=0.25
    )
    np.testing.assert_allclose(y, GOLDEN[f"affine/{interpolation}/{fill_mode}"], rtol=1e-6, atol=1e-6)


def test_flip_contrast_brightness_match_keras():
    images, flags = GOLDEN["images"], GOLDEN["flip/flags"]
    none = np.zeros_like(flags)
    np.testing.assert_array_equal(ops.flip(images, flags, none), GOLDEN["flip/horizontal"])
    np.testing.assert_array_equal(ops.flip(images, none, flags), GOLDEN["flip/vertical"])
    np.testing.assert_array_equal(ops.flip(images, flags, flags), GOLDEN["flip/horizontal_and_vertical"])
    got = ops.adjust_contrast(images, GOLDEN["contrast/factors"], (0, 1))
    np.testing.assert_allclose(got, GOLDEN["contrast/out"], rtol=1e-6, atol=1e-6)
    got = ops.adjust_brightness(images, GOLDEN["brightness/deltas"], (0, 1))
    np.testing.assert_allclose(got, GOLDEN["brightness/out"], rtol=1e-6, atol=1e-6)
    assert "RandomFlip" in json.loads(str(GOLDEN["configs"]))


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_affine_backward_is_the_adjoint(rng, interpolation, fill_mode):
    """The transform is linear in the images (plus a constant from fill_value): <dy, T x> = <T* dy, x>."""
    x = rng.standard_normal((2, 6, 7, 3))
    t = transforms_for(rng, 2).astype(np.float64)
    dy = rng.standard_normal((2, 5, 8, 3))
    kw = {"interpolation": interpolation, "fill_mode": fill_mode, "output_shape": (5, 8)}
    tx = reference.affine_transform(x, t, **kw) - reference.affine_transform(np.zeros_like(x), t, **kw)
    dx = reference.affine_transform_backward(dy, t, x.shape, interpolation=interpolation, fill_mode=fill_mode)
    assert abs(np.sum(dy * tx) - np.sum(dx * x)) < 1e-9 * max(1.0, np.abs(dy).sum())


def _finite_difference(f, x, dy, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = np.sum(dy * (f(xp) - f(xm))) / (2 * eps)
    return g


def test_color_backward_matches_finite_differences(rng):
    x = rng.uniform(0.0, 1.0, (2, 3, 4, 2))
    dy = rng.standard_normal(x.shape)
    f, d, vr = np.array([0.5, 1.7]), np.array([0.3, -0.2]), (0.05, 0.95)
    fd = _finite_difference(lambda v: reference.adjust_contrast(v, f, vr), x, dy)
    np.testing.assert_allclose(reference.adjust_contrast_backward(dy, x, f, vr), fd, rtol=1e-6, atol=1e-6)
    fd = _finite_difference(lambda v: reference.adjust_brightness(v, d, vr), x, dy)
    np.testing.assert_allclose(reference.adjust_brightness_backward(dy, x, d, vr), fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(3, 5, 7, 1), (2, 4, 3, 5), (0, 2, 2, 1), (1, 1, 1, 1)])
def test_flip_contrast_brightness_match_reference(rng, backend, shape):
    x = rng.uniform(-0.5, 1.5, shape).astype(np.float32)
    n = shape[0]
    h, v = rng.random(n) < 0.5, rng.random(n) < 0.5
    f = rng.uniform(0.2, 1.8, n).astype(np.float32)
    d = rng.uniform(-0.4, 0.4, n).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    with on(backend):
        got = {
            "flip": ops.flip(x, h, v),
            "flip_backward": ops.flip_backward(dy, h, v),
            "contrast": ops.adjust_contrast(x, f, (0, 1)),
            "contrast_backward": ops.adjust_contrast_backward(dy, x, f, (0, 1)),
            "brightness": ops.adjust_brightness(x, d, (0, 1)),
            "brightness_backward": ops.adjust_brightness_backward(dy, x, d, (0, 1)),
        }
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    want = {
        "flip": reference.flip(x, h, v),
        "flip_backward": reference.flip_backward(dy, h, v),
        "contrast": reference.adjust_contrast(x64, f, (0, 1)),
        "contrast_backward": reference.adjust_contrast_backward(dy64, x64, f, (0, 1)),
        "brightness": reference.adjust_brightness(x64, d, (0, 1)),
        "brightness_backward": reference.adjust_brightness_backward(dy64, x64, d, (0, 1)),
    }
    for k in got:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_place_color_ops(rng, backend):
    x = rng.uniform(0, 1, (2, 3, 3, 2)).astype(np.float32)
    want_c = reference.adjust_contrast(x, np.array([1.5, 0.5]), (0, 1))
    want_b = reference.adjust_brightness(want_c, np.array([0.1, -0.1]), (0, 1))
    with on(backend):
        ops.adjust_contrast(x, np.array([1.5, 0.5], np.float32), (0, 1), out=x)
        np.testing.assert_allclose(x, want_c, rtol=1e-6, atol=1e-6)
        ops.adjust_brightness(x, np.array([0.1, -0.1], np.float32), (0, 1), out=x)
    np.testing.assert_allclose(x, want_b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_is_deterministic(rng, backend):
    x_shape = (4, 9, 9, 2)
    t = transforms_for(rng, 4)
    dy = rng.standard_normal(x_shape).astype(np.float32)
    with on(backend):
        a = ops.affine_transform_backward(dy, t, x_shape, fill_mode="reflect")
        b = ops.affine_transform_backward(dy, t, x_shape, fill_mode="reflect")
    np.testing.assert_array_equal(a, b)


def test_cpu_threads_give_the_same_bits(rng, restore_threads):
    x = rng.standard_normal((16, 28, 28, 1)).astype(np.float32)
    t = transforms_for(rng, 16)
    sinapse.set_num_threads(1)
    one = ops.affine_transform(x, t), ops.affine_transform_backward(x, t, x.shape)
    sinapse.set_num_threads(2)
    two = ops.affine_transform(x, t), ops.affine_transform_backward(x, t, x.shape)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="needs the CUDA simulator")
def test_simulated_mutants_are_caught(rng):
    """Broken CUDA forwards fail the checks above: a dropped tap the comparison with the reference,
    a write past the output the checked simulator's guard."""
    from sinapse.ops import _device

    x = rng.standard_normal((2, 5, 6, 3)).astype(np.float32)
    t = transforms_for(rng, 2)
    geometry = ops.augment.affine_geometry("t", x.shape, None)
    want = reference.affine_transform(x.astype(np.float64), t.astype(np.float64), fill_mode="reflect")
    good, bad = np.zeros_like(x), np.zeros_like(x)
    with sinapse.cuda.simulate(checked=True, racecheck=True):
        k = _device.kernels("cuda_sim")
        k.affine_transform(geometry, x, t, good, "bilinear", "reflect", 0.0, _device.launch_arg("cuda_sim"))
        k.affine_transform_mutant(geometry, x, t, bad, "bilinear", "reflect", 0.0, "last_tap")
        with pytest.raises(RuntimeError, match=r"affine_forward_kernel<2>.*out-of-bounds global memory access"):
            k.affine_transform_mutant(geometry, x, t, np.zeros_like(x), "bilinear", "reflect", 0.0, "row_overrun")
    np.testing.assert_allclose(good, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(bad, want, rtol=1e-5, atol=1e-5)


def _raises(exc, match, fn, *args, **kwargs):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


def test_bad_input_is_refused_clearly():
    x = np.zeros((2, 4, 4, 1), np.float32)
    t = np.zeros((2, 8), np.float32)
    _raises(ValueError, r"affine_transform: `images` must be 4-D", ops.affine_transform, x[0], t)
    _raises(
        ValueError,
        r"affine_transform: `transforms` must have shape \(2, 8\)",
        ops.affine_transform,
        x,
        np.zeros((2, 6), np.float32),
    )
    _raises(TypeError, r"affine_transform: `transforms` must be float32", ops.affine_transform, x, t.astype(np.float64))
    _raises(
        ValueError,
        r"`interpolation` must be one of 'bilinear', 'nearest', got 'cubic'",
        ops.affine_transform,
        x,
        t,
        interpolation="cubic",
    )
    _raises(ValueError, r"`fill_mode` must be one of .*got 'mirror'", ops.affine_transform, x, t, fill_mode="mirror")
    _raises(ValueError, r"`output_shape` must be None or a pair", ops.affine_transform, x, t, output_shape=(3,))
    _raises(ValueError, r"H and W must be >= 1", ops.affine_transform, np.zeros((1, 0, 3, 1), np.float32), t[:1])
    _raises(ValueError, r"fill_value", ops.affine_transform, x, t, fill_value=float("nan"))
    _raises(ValueError, r"affine_transform_backward: `images_shape`", ops.affine_transform_backward, x, t, (2, 4))
    _raises(
        ValueError,
        r"affine_transform_backward: `dy` must have shape",
        ops.affine_transform_backward,
        x,
        t,
        (2, 4, 4, 3),
    )
    flags = np.zeros(2, bool)
    _raises(
        TypeError,
        r"flip: `horizontal_flags` must be a contiguous bool array of shape \(2,\)",
        ops.flip,
        x,
        flags[:1],
        flags,
    )
    _raises(TypeError, r"flip: `vertical_flags` must be a contiguous bool", ops.flip, x, flags, flags.astype(np.int32))
    _raises(ValueError, r"flip: `out` .*overlap|flip: `out` must not", ops.flip, x, flags, flags, out=x)
    f = np.ones(2, np.float32)
    _raises(ValueError, r"adjust_contrast: `factors` must have shape \(2,\)", ops.adjust_contrast, x, f[:1])
    _raises(ValueError, r"adjust_contrast: `value_range` must have low <= high", ops.adjust_contrast, x, f, (1, 0))
    _raises(ValueError, r"adjust_brightness: `value_range` must be a pair", ops.adjust_brightness, x, f, 255)
    _raises(
        ValueError, r"adjust_brightness_backward: `dy` must have shape", ops.adjust_brightness_backward, x[:1], x, f
    )
