"""ops.prelu / prelu_backward (the activation family's PReLU kernels) and the PReLU layer:
kernels against the NumPy reference on the CPU and the simulated CUDA kernels (checked +
racecheck), every sharing pattern; dalpha bit-identical across thread counts and backends;
finite differences; the layer against Keras 3.15.1 (values, configs, one SGD step:
tests/golden/keras_misc.npz); saving; bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from keras_helpers import check_layer_gradients
from sinapse import layers, ops, reference

GOLDEN = np.load(Path(__file__).parent / "golden" / "keras_misc.npz")
CONFIGS = json.loads(str(GOLDEN["configs"]))

# (x shape, alpha shape): no sharing, per channel, shared last axis, alternating, everything shared
SHAPES = [
    ((4, 7), (7,)),
    ((3, 5, 6, 4), (1, 1, 4)),
    ((3, 5, 4), (5, 1)),
    ((2, 3, 4, 5, 2), (3, 1, 5, 1)),
    ((5, 3, 2), (1, 1)),
    ((1, 1, 6), (1, 6)),
    ((0, 3), (3,)),
    ((2, 0, 3), (0, 3)),
    ((3, 2, 600), (2, 600)),  # more entries along the last dim than the CPU sums together (256)
]


def _inputs(rng, xs, alpha_shape):
    x = rng.standard_normal(xs).astype(np.float32)
    x.reshape(-1)[::7] = 0.0  # exact zeros: gradient 0 there, as Keras (relu'(0) = 0)
    return x, rng.standard_normal(alpha_shape).astype(np.float32), rng.standard_normal(xs).astype(np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("xs", "alpha_shape"), SHAPES)
def test_matches_reference(rng, backend, xs, alpha_shape):
    x, alpha, dy = _inputs(rng, xs, alpha_shape)
    with on(backend):
        y = ops.prelu(x, alpha)
        dx, dalpha = ops.prelu_backward(dy, x, alpha)
    np.testing.assert_array_equal(y, reference.prelu(x, alpha))
    want_dx, want_dalpha = reference.prelu_backward(dy.astype(np.float64), x.astype(np.float64), alpha)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-6)
    np.testing.assert_allclose(dalpha, want_dalpha, rtol=1e-6, atol=1e-6)


def test_reference_gradient_by_finite_differences(rng):
    x, alpha, dy = (a.astype(np.float64) for a in _inputs(rng, (3, 4, 2), (4, 1)))
    x[x == 0] = 0.3
    dx, dalpha = reference.prelu_backward(dy, x, alpha)
    eps = 1e-6
    for array, grad in ((x, dx), (alpha, dalpha)):
        flat = array.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = np.sum(reference.prelu(x, alpha) * dy)
            flat[i] = old - eps
            down = np.sum(reference.prelu(x, alpha) * dy)
            flat[i] = old
            assert grad.reshape(-1)[i] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-8)


def test_dalpha_bits_do_not_depend_on_threads_or_backend(rng):
    x, alpha, dy = _inputs(rng, (64, 9, 9, 8), (1, 1, 8))
    before = sinapse.get_num_threads()
    sinapse.set_num_threads(1)
    try:
        one = ops.prelu_backward(dy, x, alpha)[1]
    finally:
        sinapse.set_num_threads(before)
    sinapse.set_num_threads(2)
    try:
        np.testing.assert_array_equal(ops.prelu_backward(dy, x, alpha)[1], one)
    finally:
        sinapse.set_num_threads(before)
    if "cuda_sim" in BACKENDS:
        with sinapse.cuda.simulate():
            np.testing.assert_array_equal(ops.prelu_backward(dy, x, alpha)[1], one)


def test_nan_propagates_forward(rng):
    y = ops.prelu(np.array([[np.nan, -1.0, 2.0]], np.float32), np.full(3, 0.5, np.float32))
    assert np.isnan(y[0, 0]) and y[0, 1] == -0.5 and y[0, 2] == 2.0


@pytest.mark.parametrize(
    ("alpha_shape", "message"),
    [
        ((3, 1), r"^prelu: `alpha` must have the shape of x without its batch axis"),
        ((), r"^prelu: `alpha` must have the shape of x without its batch axis"),
        ((5,), r"^prelu: `alpha` dim 0 is 5: it must be x's dim 1 \(3\) or 1"),
    ],
)
def test_bad_alpha(alpha_shape, message):
    with pytest.raises(ValueError, match=message):
        ops.prelu(np.ones((2, 3), np.float32), np.ones(alpha_shape, np.float32))


def test_bad_out():
    x, alpha = np.ones((2, 3), np.float32), np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"^prelu_backward: `out\[1\]`"):
        ops.prelu_backward(x, x, alpha, out=(None, np.ones(4, np.float32)))
    with pytest.raises(TypeError, match=r"^prelu_backward: `out` must be None or a tuple of 2"):
        ops.prelu_backward(x, x, alpha, out=np.ones(3, np.float32))


# ----------------------------------------------------------------------------------- layer


@pytest.mark.parametrize("case", ["prelu", "prelu_shared"])
def test_layer_matches_keras(case):
    layer = layers.deserialize({"class_name": "PReLU", "config": CONFIGS[case]})
    x = GOLDEN[f"layer/{case}/x"]
    layer.build((None, *x.shape[1:]))
    layer.set_weights([GOLDEN[f"layer/{case}/w0"]])
    np.testing.assert_allclose(layer(x), GOLDEN[f"layer/{case}/y"], rtol=1e-6, atol=1e-7)
    ours = layer.get_config()
    for key in ("shared_axes", "alpha_regularizer", "alpha_constraint"):
        assert ours[key] == CONFIGS[case][key], key
    assert ours["alpha_initializer"]["class_name"] == "RandomNormal"


def test_one_sgd_step_matches_keras():
    key = "prelu_step"
    model = sinapse.Sequential([layers.Input((4, 3)), layers.Dense(3), layers.PReLU(shared_axes=[1])])
    model.set_weights([GOLDEN[f"{key}/w{i}"] for i in range(3)])
    model.compile(optimizer=sinapse.optimizers.SGD(0.1), loss="mse")
    x, y = GOLDEN[f"{key}/x"], GOLDEN[f"{key}/y"]
    assert model.train_on_batch(x, y) == pytest.approx(float(GOLDEN[f"{key}/loss"]), rel=1e-5)
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, GOLDEN[f"{key}/after{i}"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shared_axes", [None, [1, 2], [3], 2])
def test_layer_gradients(rng, shared_axes):
    layer = layers.PReLU(alpha_initializer="random_normal", shared_axes=shared_axes)
    x = rng.standard_normal((3, 4, 5, 2)).astype(np.float32)
    check_layer_gradients(layer, x, rng)


def test_layer_on_simulated_cuda(rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    cpu, sim = (layers.PReLU(alpha_initializer="random_normal", shared_axes=[1]) for _ in range(2))
    y = cpu(x)
    sim.build((None, 4, 5))
    sim.set_weights(cpu.get_weights())
    dx = cpu.backward(dy).copy()
    with sinapse.cuda.simulate(checked=True, racecheck=True):
        np.testing.assert_array_equal(sim.forward(x), y)
        np.testing.assert_array_equal(sim.backward(dy), dx)
    np.testing.assert_array_equal(sim.alpha.grad, cpu.alpha.grad)


def test_layer_frozen_and_constraint(rng, tmp_path):
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = rng.standard_normal((16, 6)).astype(np.float32)
    model = sinapse.Sequential([layers.Input((6,)), layers.PReLU(alpha_initializer="ones", alpha_constraint="non_neg")])
    model.compile(optimizer=sinapse.optimizers.SGD(10.0), loss="mse")
    model.fit(x, y, epochs=3, verbose=0)
    assert np.all(model.layers[0].get_weights()[0] >= 0)
    model.save(tmp_path / "m.keras")
    loaded = sinapse.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    model.layers[0].trainable = False
    before = model.get_weights()[0].copy()
    model.compile(optimizer=sinapse.optimizers.SGD(1.0), loss="mse")
    model.train_on_batch(x, y)
    np.testing.assert_array_equal(model.get_weights()[0], before)


def test_layer_errors():
    with pytest.raises(ValueError, match=r"PReLU layer .*`shared_axes` \[3\] names axis 3"):
        layers.PReLU(shared_axes=3).build((None, 4, 5))
    with pytest.raises(ValueError, match=r"^PReLU: `shared_axes`"):
        layers.PReLU(shared_axes=[0])
