"""MaxPooling1D / AveragePooling1D / GlobalAveragePooling1D / GlobalMaxPooling1D, Permute and
RepeatVector: values against Keras 3.15.1 (tests/golden/keras_misc.npz, written by
tests/golden/make_keras_misc_goldens.py), gradients by finite differences, configs, the masked
global average, saving, the CUDA kernels under the simulator, argument errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sinapse
from keras_helpers import check_layer_gradients
from sinapse import layers

GOLDEN = np.load(Path(__file__).parent / "golden" / "keras_misc.npz")
CONFIGS = json.loads(str(GOLDEN["configs"]))
CLASSES = {
    "max1d": "MaxPooling1D",
    "max1d_same": "MaxPooling1D",
    "avg1d": "AveragePooling1D",
    "avg1d_same": "AveragePooling1D",
    "gap1d": "GlobalAveragePooling1D",
    "gap1d_keep": "GlobalAveragePooling1D",
    "gmp1d": "GlobalMaxPooling1D",
    "permute": "Permute",
    "repeat": "RepeatVector",
}
CASES = list(CLASSES)


def _keras_layer(case):
    """The sinapse layer made from the config Keras wrote."""
    return layers.deserialize({"class_name": CLASSES[case], "config": CONFIGS[case]})


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_and_its_config(case):
    layer = _keras_layer(case)
    x, want = GOLDEN[f"layer/{case}/x"], GOLDEN[f"layer/{case}/y"]
    np.testing.assert_allclose(layer(x), want, rtol=1e-6, atol=1e-6)
    assert layer.compute_output_shape(x.shape[1:]) == want.shape[1:]
    ours = layer.get_config()
    for key, value in CONFIGS[case].items():
        if key not in ("dtype", "name"):
            assert ours[key] == value, key
    clone = layers.deserialize(layers.serialize(layer))
    np.testing.assert_array_equal(clone(x), layer(x))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: layers.MaxPooling1D(3, 2, "same"), (2, 8, 3)),
        (lambda: layers.AveragePooling1D(3, 2, "same"), (2, 7, 3)),
        (lambda: layers.AveragePooling1D(2), (2, 6, 3)),
        (lambda: layers.GlobalAveragePooling1D(), (2, 5, 3)),
        (lambda: layers.GlobalMaxPooling1D(keepdims=True), (2, 5, 3)),
        (lambda: layers.Permute((3, 1, 2)), (2, 3, 4, 2)),
        (lambda: layers.RepeatVector(70), (2, 3)),  # more copies than one merge call takes (64)
    ],
)
def test_gradients(rng, make, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    check_layer_gradients(make(), x, rng)


def test_global_average_pooling1d_mask_matches_keras():
    """Keras's masked mean (sum of the kept steps / their count; 0 / 0 = NaN for a row with no kept step)."""
    model = sinapse.Sequential(
        [layers.Input((5,)), layers.Embedding(6, 3, mask_zero=True), layers.GlobalAveragePooling1D()]
    )
    model.set_weights([GOLDEN["gap_mask/emb"]])
    np.testing.assert_allclose(model.predict(GOLDEN["gap_mask/ids"]), GOLDEN["gap_mask/y"], rtol=1e-6, atol=1e-7)


def test_global_average_pooling1d_mask_gradient(rng):
    layer = layers.GlobalAveragePooling1D()
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 1], [0, 1, 0, 0]], bool)
    layer.ensure_built(x.shape[1:])
    y = layer.forward(x, True, mask)
    want = np.stack([x[i][mask[i]].mean(axis=0) for i in range(3)])
    np.testing.assert_allclose(y, want, rtol=1e-6)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy)
    np.testing.assert_allclose(dx, mask[:, :, None] / mask.sum(1)[:, None, None] * dy[:, None, :], rtol=1e-6)
    assert layer.compute_mask(x, mask) is None


@pytest.mark.parametrize("case", ["max1d_same", "avg1d_same", "gap1d", "gmp1d", "permute", "repeat"])
def test_cuda_kernels_under_the_simulator(rng, case):
    x = GOLDEN[f"layer/{case}/x"]
    cpu, sim = _keras_layer(case), _keras_layer(case)
    y = cpu(x)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = cpu.backward(dy).copy()
    with sinapse.cuda.simulate(checked=True, racecheck=True):
        sim.ensure_built(x.shape[1:])
        np.testing.assert_allclose(sim.forward(x, training=True), y, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(sim.backward(dy), dx, rtol=1e-6, atol=1e-6)


def test_train_save_and_load(tmp_path, rng):
    sinapse.utils.set_random_seed(0)
    x = rng.standard_normal((32, 8, 3)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int64)
    model = sinapse.Sequential(
        [
            layers.Input((8, 3)),
            layers.MaxPooling1D(2),
            layers.Permute((2, 1)),
            layers.AveragePooling1D(2, padding="same"),
            layers.GlobalMaxPooling1D(),
            layers.RepeatVector(2),
            layers.GlobalAveragePooling1D(),
            layers.Dense(2),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for name in ("m.sinapse", "m.keras"):
        model.save(tmp_path / name)
        np.testing.assert_array_equal(sinapse.models.load_model(tmp_path / name).predict(x), model.predict(x))


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: layers.MaxPooling1D(0), ValueError, r"^MaxPooling1D: `pool_size`"),
        (lambda: layers.AveragePooling1D((2, 2)), ValueError, r"^AveragePooling1D: `pool_size` must be an int or"),
        (lambda: layers.MaxPooling1D(2, padding="full"), ValueError, r"padding must be 'valid' or 'same'"),
        (lambda: layers.GlobalMaxPooling1D(data_format="x"), ValueError, r"^GlobalMaxPooling1D: `data_format`"),
        (lambda: layers.Permute((1, 3)), ValueError, r"^Permute: `dims` must be a permutation of 1..2"),
        (lambda: layers.Permute(3), TypeError, r"^Permute: `dims` must be a tuple of ints"),
        (lambda: layers.RepeatVector(0), ValueError, r"^RepeatVector: `n`"),
        (lambda: layers.RepeatVector(2.5), TypeError, r"^RepeatVector: `n`"),
    ],
)
def test_argument_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (layers.MaxPooling1D(4), (3, 2), r"MaxPooling1D layer .*: input shape \(None, 3, 2\): .*pool_size"),
        (layers.GlobalAveragePooling1D(), (4, 4, 2), r"expects sequences \(batch, steps, channels\)"),
        (layers.Permute((2, 1)), (4, 3, 2), r"`dims` \(2, 1\) permutes 2 axes"),
        (layers.RepeatVector(2), (4, 3), r"expects vectors \(batch, features\)"),
    ],
)
def test_shape_errors(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer.compute_output_shape(shape)
