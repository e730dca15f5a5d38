"""activity_regularizer: the penalty on a layer's output / batch size in the loss (fit's and
evaluate's, as Keras 3 logs it) and its gradient in the backward, against Keras 3.15.1
(tests/golden/keras_misc.npz: the loss and the weights after one SGD step of three models);
configs, saving, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sinapse
from sinapse import layers, regularizers

GOLDEN = np.load(Path(__file__).parent / "golden" / "keras_misc.npz")
CONFIGS = json.loads(str(GOLDEN["configs"]))


def _models():
    return {
        "dense": (
            [
                layers.Input((5,)),
                layers.Dense(4, activation="tanh", activity_regularizer=regularizers.L2(0.05)),
                layers.Dense(2, activity_regularizer=regularizers.L1(0.02)),
            ],
            "mse",
        ),
        "conv": (
            [
                layers.Input((5, 5, 2)),
                layers.Conv2D(3, 3, activity_regularizer=regularizers.L1L2(0.01, 0.02)),
                layers.Flatten(),
                layers.Dense(3, activation="softmax", activity_regularizer="l2"),  # not fused into the loss
            ],
            "categorical_crossentropy",
        ),
        "lstm": (
            [layers.Input((4, 3)), layers.LSTM(3, activity_regularizer=regularizers.L2(0.1)), layers.Dense(1)],
            "mse",
        ),
    }


def _weights(key):
    return [GOLDEN[f"{key}/w{i}"] for i in range(sum(k.startswith(f"{key}/w") for k in GOLDEN.files))]


@pytest.mark.parametrize("name", ["dense", "conv", "lstm"])
def test_loss_and_one_sgd_step_match_keras(name):
    stack, loss = _models()[name]
    key = f"act/{name}"
    model = sinapse.Sequential(stack)
    model.set_weights(_weights(key))
    model.compile(optimizer=sinapse.optimizers.SGD(0.1), loss=loss)
    x, y = GOLDEN[f"{key}/x"], GOLDEN[f"{key}/y"]
    assert model.evaluate(x, y, verbose=0) == pytest.approx(float(GOLDEN[f"{key}/loss0"]), rel=1e-5)
    assert model.train_on_batch(x, y) == pytest.approx(float(GOLDEN[f"{key}/loss"]), rel=1e-5)
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, GOLDEN[f"{key}/after{i}"], rtol=1e-4, atol=1e-6)


def test_penalty_is_in_the_logged_loss_and_pulls_the_output_down(rng):
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 3)).astype(np.float32)
    losses, norms = {}, {}
    for strength in (0.0, 10.0):
        sinapse.utils.set_random_seed(1)
        reg = regularizers.L2(strength) if strength else None
        model = sinapse.Sequential([layers.Input((4,)), layers.Dense(8, activity_regularizer=reg), layers.Dense(3)])
        model.compile(optimizer=sinapse.optimizers.SGD(0.05), loss="mse")
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        losses[strength] = history.history["loss"][0]
        hidden = sinapse.Sequential([layers.Input((4,)), model.layers[0]])
        norms[strength] = float(np.mean(hidden.predict(x) ** 2))
    # same first forward (same seed): the logged loss differs by the penalty, 10 * sum(h**2) / 16 > 0
    assert losses[10.0] > losses[0.0]
    assert norms[10.0] < norms[0.0]


def test_config_round_trip_and_keras_spelling(tmp_path):
    layer = layers.Dense(4, activity_regularizer=regularizers.L2(0.05))
    config = layer.get_config()
    assert config["activity_regularizer"] == {"class_name": "L2", "config": {"l2": 0.05}}
    clone = layers.deserialize(layers.serialize(layer))
    assert clone.activity_regularizer.get_config() == {"l2": 0.05}
    keras_config = {k: v for k, v in CONFIGS["act_dense"].items() if k != "quantization_config"}
    from_keras = layers.deserialize({"class_name": "Dense", "config": keras_config})
    assert from_keras.activity_regularizer.get_config() == {"l2": 0.05}
    assert "activity_regularizer" not in layers.Dense(2).get_config()  # as Keras's base Layer: only when set
    # every layer takes it (Keras 3's Layer.__init__), and a .keras file keeps it
    model = sinapse.Sequential([layers.Input((3,)), layers.Flatten(activity_regularizer="l1"), layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    loaded = sinapse.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[0].activity_regularizer, regularizers.L1)


def test_errors():
    with pytest.raises(TypeError, match=r"^Dense: `activity_regularizer`: cannot interpret 3"):
        layers.Dense(2, activity_regularizer=3)
    with pytest.raises(ValueError, match=r"^LSTM: `activity_regularizer`: unknown regularizer 'l3'"):
        layers.LSTM(2, activity_regularizer="l3")


def test_nested_model_penalty_counts_in_the_outer_loss(rng):
    x = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.standard_normal((6, 2)).astype(np.float32)
    flat, _ = _models()["dense"]
    weights = _weights("act/dense")
    inner = sinapse.Sequential(flat[:2])  # Input, Dense(4, activity_regularizer=L2) as one layer
    outer = sinapse.Sequential([layers.Input((5,)), inner, flat[2]])
    outer.set_weights(weights)
    outer.compile(optimizer=sinapse.optimizers.SGD(0.1), loss="mse")
    twin = sinapse.Sequential(_models()["dense"][0])
    twin.set_weights(weights)
    twin.compile(optimizer=sinapse.optimizers.SGD(0.1), loss="mse")
    assert outer.train_on_batch(x, y) == pytest.approx(twin.train_on_batch(x, y), rel=1e-6)
    for a, b in zip(outer.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_activity_regularization_layer_matches_keras():
    key = "act/layer"
    model = sinapse.Sequential(
        [layers.Input((5,)), layers.Dense(3), layers.ActivityRegularization(l1=0.01, l2=0.05), layers.Dense(1)]
    )
    model.set_weights([GOLDEN[f"{key}/w{i}"] for i in range(4)])
    model.compile(optimizer=sinapse.optimizers.SGD(0.1), loss="mse")
    x, y = GOLDEN[f"{key}/x"], GOLDEN[f"{key}/y"]
    assert model.evaluate(x, y, verbose=0) == pytest.approx(float(GOLDEN[f"{key}/loss0"]), rel=1e-5)
    assert model.train_on_batch(x, y) == pytest.approx(float(GOLDEN[f"{key}/loss"]), rel=1e-5)
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, GOLDEN[f"{key}/after{i}"], rtol=1e-4, atol=1e-6)
    layer = model.layers[1]
    keras_config = CONFIGS["ActivityRegularization"]
    assert {k: v for k, v in layer.get_config().items() if k not in ("name", "dtype")} == {
        k: v for k, v in keras_config.items() if k not in ("name", "dtype")
    }
    clone = layers.deserialize({"class_name": "ActivityRegularization", "config": keras_config})
    assert (clone.l1, clone.l2) == (0.01, 0.05)
    with pytest.raises(ValueError, match=r"^ActivityRegularization: regularizer: l1 must be a non-negative"):
        layers.ActivityRegularization(l1=-1)
