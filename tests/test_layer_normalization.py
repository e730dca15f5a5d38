"""LayerNormalization and GroupNormalization layers: outputs and gradients against real Keras
3.15.1 (tests/golden/keras_layer_norm.npz, made by make_keras_layer_norm_goldens.py), Keras's
get_config, a training step, and bad arguments."""

import json
from pathlib import Path

import numpy as np
import pytest

import sinapse
from keras_helpers import check_keras_file_round_trip
from sinapse import layers

GOLDEN = np.load(Path(__file__).parent / "golden" / "keras_layer_norm.npz")
CONFIGS = json.loads(str(GOLDEN["configs"]))
CASES = sorted(CONFIGS)
_OWN = ("name", "trainable", "dtype")  # the base Layer's keys, written in sinapse's own way


def _plain(value):
    """A config without Keras's serialization envelope keys (sinapse's .keras writer adds them)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    return value


def _layer(case):
    config = {k: v for k, v in CONFIGS[case].items() if k not in _OWN}
    return getattr(layers, "LayerNormalization" if case.startswith("ln") else "GroupNormalization").from_config(config)


@pytest.mark.parametrize("case", CASES)
def test_outputs_and_gradients_match_keras(case):
    g = {k: GOLDEN[f"{case}/{k}"] for k in ("x", "dy", "gamma", "beta", "y", "dx", "dgamma", "dbeta")}
    layer = _layer(case)
    layer.build((None, *g["x"].shape[1:]))
    layer.set_weights([g["gamma"], g["beta"]])
    y = layer(g["x"], training=True)
    np.testing.assert_allclose(y, g["y"], rtol=1e-5, atol=2e-5)
    dx = layer.backward(g["dy"].copy())
    np.testing.assert_allclose(dx, g["dx"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.gamma.grad, g["dgamma"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.beta.grad, g["dbeta"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_get_config_is_keras(case):
    layer = _layer(case)
    layer.build((None, *GOLDEN[f"{case}/x"].shape[1:]))
    ours = {k: _plain(v) for k, v in layer.get_config().items() if k not in _OWN}
    theirs = {k: _plain(v) for k, v in CONFIGS[case].items() if k not in _OWN}
    assert ours == theirs


def test_keras_file_loads_and_saves_back(tmp_path):
    """A .keras file written by Keras 3.15.1 with both layers (three axis settings): sinapse's
    predictions match Keras's, and a file sinapse writes loads back the same."""
    pytest.importorskip("h5py")
    path = Path(__file__).parent / "golden" / "keras_layer_norm_model.keras"
    check_keras_file_round_trip(path, GOLDEN["model/x"], GOLDEN["model/y"], tmp_path, atol=1e-5)


def test_no_center_no_scale_and_fit():
    layer = layers.LayerNormalization(center=False, scale=False)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32) * 3 + 2
    y = layer(x)
    assert layer.weights == []
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-5)
    model = sinapse.Sequential(
        [layers.Input((5, 8)), layers.LayerNormalization(), layers.GroupNormalization(groups=4), layers.Dense(2)]
    )
    model.compile(optimizer="sgd", loss="mse")
    data = np.random.default_rng(1).standard_normal((16, 5, 8)).astype(np.float32)
    target = np.random.default_rng(2).standard_normal((16, 5, 2)).astype(np.float32)
    before = model.evaluate(data, target, verbose=0)
    model.fit(data, target, epochs=5, batch_size=8, verbose=0)
    assert model.evaluate(data, target, verbose=0) < before


@pytest.mark.parametrize(
    "make, shape, err, message",
    [
        (lambda: layers.LayerNormalization(axis=1), (None, 3, 4), ValueError, r"^LayerNormalization.*trailing axes"),
        (lambda: layers.LayerNormalization(axis=[0, 1]), (None, 3), ValueError, r"^LayerNormalization.*trailing"),
        (lambda: layers.LayerNormalization(axis=5), (None, 3), ValueError, r"^LayerNormalization.*out of range"),
        (lambda: layers.GroupNormalization(groups=3), (None, 4, 4), ValueError, r"^GroupNormalization.*must divide"),
        (lambda: layers.GroupNormalization(axis=1), (None, 4, 4), ValueError, r"^GroupNormalization.*last axis"),
    ],
)
def test_bad_axes_at_build(make, shape, err, message):
    with pytest.raises(err, match=message):
        make().build(shape)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^LayerNormalization: `rms_scaling`=True is not supported"):
        layers.LayerNormalization(rms_scaling=True)
    with pytest.raises(TypeError, match=r"^LayerNormalization: `axis` must be an int"):
        layers.LayerNormalization(axis="x")
    with pytest.raises(ValueError, match=r"^LayerNormalization.*`epsilon` must be positive"):
        layers.LayerNormalization(epsilon=0)
    with pytest.raises(ValueError, match=r"^GroupNormalization: `groups` must be a positive integer"):
        layers.GroupNormalization(groups=0)
    with pytest.raises(TypeError, match=r"^GroupNormalization: `center` must be True or False"):
        layers.GroupNormalization(center="yes")
