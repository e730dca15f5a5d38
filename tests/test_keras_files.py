"""Keras weight and model files (sinapse.models.keras_files): golden files written by real Keras 3.15.1
(tools/make_keras_golden.py, tests/data/keras/) into sinapse twins and through load_model, Keras's
layouts, round trips, functional models (test_keras_files_errors.py: what does not fit). Skipped without h5py."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

import sinapse
from sinapse import layers as L
from sinapse.models import ModelFileError
from sinapse.models import keras_files as kf

h5py = pytest.importorskip("h5py")

DATA = os.path.join(os.path.dirname(__file__), "data", "keras")
RTOL, ATOL = 1e-5, 1e-6


# The sinapse twins of tools/make_keras_golden.py's models (same layers, same order).
def mlp(head=None):
    return sinapse.Sequential(
        [
            L.Input((8,)),
            L.Dense(16, activation="relu", name="hidden"),
            L.Dropout(0.2),
            L.Activation("tanh"),
            L.Reshape((4, 4)),
            L.Flatten(),
            head or L.Dense(4, activation="softmax", name="probs"),
        ]
    )


def cnn():
    return sinapse.Sequential(
        [
            L.Input((12, 12, 2)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.ZeroPadding2D(1),
            L.Conv2D(3, 3, strides=2),
            L.BatchNormalization(scale=False),
            L.AveragePooling2D(2, padding="same"),
            L.GlobalMaxPooling2D(),
            L.Dense(3),
        ]
    )


def rnn():
    return sinapse.Sequential(
        [
            L.Input((7,)),
            L.Embedding(20, 5),
            L.LSTM(4, return_sequences=True),
            L.GRU(3, return_sequences=True),
            L.SimpleRNN(3),
            L.Dense(2),
        ]
    )


MODELS = {"mlp": mlp, "cnn": cnn, "rnn": rnn}


def golden(name):
    with np.load(os.path.join(DATA, name + ".npz")) as data:
        return dict(data), os.path.join(DATA, name)


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def _read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights(
        [
            np.abs(rng.normal(size=w.shape)) + 0.5 if w.name == "moving_variance" else rng.normal(size=w.shape)
            for w in model.weights
        ]
    )


# ---------------------------------------------------------------------------- golden files


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_file_loads_into_the_sinapse_twin(name, suffix):
    data, base = golden(name)
    model = MODELS[name]()
    randomize(model)
    kf.load_weights(model, base + suffix)
    close(model.predict(data["x"].astype(np.float32), verbose=0), data["y"])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_load_model_builds_from_the_keras_config(name, suffix):
    data, base = golden(name)
    model = kf.load_model(base + suffix)
    assert [type(layer).__name__ for layer in model.layers] == [type(layer).__name__ for layer in MODELS[name]().layers]
    close(model.predict(data["x"].astype(np.float32), verbose=0), data["y"])
    assert type(model.optimizer).__name__ == "Adam" and model.loss == "mse"  # compile_config / training_config
    assert kf.load_model(base + suffix, compile=False).optimizer is None


def test_weight_order_matches_keras():
    """Each layer's weights in Keras's order: kernel, bias; BN gamma, beta, moving mean, variance; RNN
    kernel, recurrent_kernel, bias (read from the Keras 3 file's datasets 0, 1, 2, ...)."""
    model = cnn()
    kf.load_weights(model, os.path.join(DATA, "cnn.weights.h5"))
    with h5py.File(os.path.join(DATA, "cnn.weights.h5")) as f:
        bn = f["layers/batch_normalization/vars"]
        np.testing.assert_array_equal(model.layers[1].get_weights()[3], bn["3"][()])  # moving_variance
        assert [w.name for w in model.layers[1].weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    model = rnn()
    kf.load_weights(model, os.path.join(DATA, "rnn.weights.h5"))
    with h5py.File(os.path.join(DATA, "rnn.weights.h5")) as f:
        for i in range(3):
            np.testing.assert_array_equal(model.layers[1].get_weights()[i], f[f"layers/lstm/cell/vars/{i}"][()])
        assert f["layers/gru/cell/vars/2"].shape == (2, 9)  # GRU reset_after: input and recurrent biases


def _datasets(path, root=""):
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda n, o: out.setdefault(n, o.shape) if isinstance(o, h5py.Dataset) else None)
    return {k: v for k, v in out.items() if k.startswith(root)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sinapse_writes_keras_3_layout(tmp_path, name):
    """The same datasets at the same paths with the same shapes as Keras's own file (optimizer aside)."""
    model = MODELS[name]()
    path = str(tmp_path / "m.weights.h5")
    kf.save_weights(model, path)
    assert _datasets(path) == _datasets(os.path.join(DATA, name + ".weights.h5"), "layers/")
    with h5py.File(path) as f:
        assert f["vars"].attrs["name"] == model.name
        assert (
            f[f"layers/{dict(mlp='dense', cnn='conv2d', rnn='embedding')[name]}/vars"].attrs["name"]
            == model.layers[0].name
        )
    legacy = str(tmp_path / "m.h5")
    kf.save_weights(model, legacy)
    with h5py.File(legacy) as f, h5py.File(os.path.join(DATA, name + ".h5")) as g:
        mine = [len(f[n].attrs["weight_names"]) for n in kf._names(f.attrs, "layer_names")]
        keras = [
            len(g["model_weights"][n].attrs["weight_names"]) for n in kf._names(g["model_weights"].attrs, "layer_names")
        ]
        assert mine == keras


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_weights_round_trip(tmp_path, name, suffix):
    model, other = MODELS[name](), MODELS[name]()
    randomize(model, 1)
    randomize(other, 2)
    kf.save_weights(model, str(tmp_path / ("w" + suffix)))
    kf.load_weights(other, str(tmp_path / ("w" + suffix)))
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_round_trip(tmp_path, name, suffix):
    data, _ = golden(name)
    model = MODELS[name]()
    randomize(model, 3)
    model.compile("sgd", "mse", metrics=["mae"])
    path = str(tmp_path / ("m" + suffix))
    kf.save_model(model, path)
    loaded = kf.load_model(path)
    x = data["x"].astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.optimizer).__name__ == "SGD" and loaded.loss == "mse"


def test_keras_zip_members_and_config(tmp_path):
    model = mlp()
    path = str(tmp_path / "m.keras")
    kf.save_model(model, path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(z.read("config.json"))
        assert json.loads(z.read("metadata.json"))["keras_version"] == kf.KERAS_VERSION
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    first, dense = config["config"]["layers"][:2]
    assert first["class_name"] == "InputLayer" and first["config"]["batch_shape"] == [None, 8]
    assert dense["config"]["dtype"]["class_name"] == "DTypePolicy"
    assert dense["config"]["kernel_initializer"]["module"] == "keras.initializers"
    assert dense["build_config"] == {"input_shape": [None, 8]}


# ---------------------------------------------------------------------------- layouts and functional models
# (mismatches, bad files, writes and configs: test_keras_files_errors.py)


def test_functional_golden():
    """A two-input, two-output Keras model with Add and Concatenate (needs sinapse.Model)."""
    if not hasattr(sinapse, "Model") or not hasattr(L, "Add"):
        pytest.skip("the functional API and merge layers are not in this sinapse yet")
    data, base = golden("func")
    xs = [data["x0"], data["x1"]]
    for suffix in (".keras", ".h5"):
        model = kf.load_model(base + suffix)
        for got, want in zip(model.predict(xs, verbose=0), [data["y0"], data["y1"]]):
            close(got, want)
    a, b = sinapse.Input((6,), name="a"), sinapse.Input((4,), name="b")
    da, db = L.Dense(5, activation="relu", name="da")(a), L.Dense(5, name="db")(b)
    out1 = L.Dense(3, name="out1")(L.Add(name="add")([da, db]))
    out2 = L.Dense(2, activation="sigmoid", name="out2")(L.BatchNormalization(name="bn")(L.Concatenate()([da, db])))
    model = sinapse.Model([a, b], [out1, out2])
    for suffix in (".weights.h5", ".keras", ".h5"):
        randomize(model, 6)
        kf.load_weights(model, base + suffix)
        for got, want in zip(model.predict(xs, verbose=0), [data["y0"], data["y1"]]):
            close(got, want)


class _TwoWeights(L.Layer):
    """A non-trainable weight created before a trainable one: Keras files list the trainable first."""

    def build(self, input_shape):
        self.add_weight("frozen", (2,), "zeros", trainable=False)
        self.add_weight("kernel", (input_shape[-1], 2), "ones")

    def forward(self, x, training=False, mask=None):
        return x


def test_trainable_weights_first_and_frozen_legacy_order(tmp_path):
    model = sinapse.Sequential([L.Input((3,)), _TwoWeights(name="two")])
    kf.save_weights(model, str(tmp_path / "w.weights.h5"))
    kf.save_weights(model, str(tmp_path / "w.h5"))
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert [f["layers/__two_weights/vars"][k].shape for k in "01"] == [(3, 2), (2,)]
    with h5py.File(tmp_path / "w.h5") as f:
        assert kf._names(f["two"].attrs, "weight_names") == ["two/kernel", "two/frozen"]
    model.layers[0].trainable = False  # legacy_h5_format._legacy_weights: a frozen layer's weights as created
    kf.save_weights(model, str(tmp_path / "f.h5"))
    with h5py.File(tmp_path / "f.h5") as f:
        assert kf._names(f["two"].attrs, "weight_names") == ["two/frozen", "two/kernel"]
    kf.load_weights(model, str(tmp_path / "f.h5"))
    with pytest.raises(ModelFileError, match="`frozen` has shape \\(2,\\), the file's /two/two/kernel has \\(3, 2\\)"):
        kf.load_weights(model, str(tmp_path / "w.h5"))  # saved unfrozen: Keras refuses it as well


class _FakeFunctional:
    """What keras_files needs of a functional model (name, built, layers in Keras's order), so
    the functional golden file's weight map is tested before sinapse.Model exists."""

    def __init__(self, layers):
        self.name, self.built, self.layers = "func", True, layers

    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]


def _func_layers():
    shapes = {"da": 6, "db": 4, "bn": 10, "out1": 5, "out2": 10}
    made = [L.InputLayer(shape=(6,), name="a"), L.InputLayer(shape=(4,), name="b")]
    made += [L.Dense(5, name="da"), L.Dense(5, name="db"), L.BatchNormalization(name="bn")]
    made += [L.Dense(3, name="out1"), L.Dense(2, name="out2")]
    for layer in made[2:]:
        layer.build((None, shapes[layer.name]))
    return made


def test_functional_golden_weight_map():
    """Keras's functional layer order is a, b, da, db, cat, add, bn, out1, out2: the Dense layers are
    layers/dense .. dense_3 by position; the legacy file names them. Both layouts must agree."""
    _, base = golden("func")
    by_position, by_name = _FakeFunctional(_func_layers()), _FakeFunctional(_func_layers())
    kf.load_weights(by_position, base + ".weights.h5")
    kf.load_weights(by_name, base + ".h5", by_name=True)
    for a, b in zip(by_position.weights, by_name.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with h5py.File(base + ".h5") as f:
        np.testing.assert_array_equal(by_position.layers[5].weights[0].numpy(), f["model_weights/out1/out1/kernel"][()])
        np.testing.assert_array_equal(
            by_position.layers[4].weights[3].numpy(), f["model_weights/bn/bn/moving_variance"][()]
        )


def test_write_for_keras_check(tmp_path):
    """Files for real Keras to load (SINAPSE_KERAS_CHECK_DIR=DIR, then in a Keras venv
    ``tools/make_keras_golden.py --check DIR``): every layer kind sinapse writes, with its predictions."""
    out = os.environ.get("SINAPSE_KERAS_CHECK_DIR") or str(tmp_path)
    rng = np.random.default_rng(0)
    models = {
        "s_mlp": (
            sinapse.Sequential(
                [L.Input((8,)), L.Dense(16, activation="relu", kernel_regularizer="l2"), L.Dropout(0.2)]
                + [L.Activation("tanh"), L.Reshape((4, 4)), L.Flatten(), L.Dense(4, activation="softmax")]
            ),
            rng.normal(size=(5, 8)),
        ),
        "s_cnn": (
            sinapse.Sequential(
                [L.Conv2D(4, 3, padding="same", activation="relu", input_shape=(12, 12, 2)), L.BatchNormalization()]
                + [L.MaxPooling2D(), L.ZeroPadding2D(((1, 0), (2, 1))), L.Conv2D(3, 3, strides=2, use_bias=False)]
                + [L.BatchNormalization(center=False), L.AveragePooling2D(2, padding="same")]
                + [L.GlobalAveragePooling2D(), L.Dense(3)]
            ),
            rng.normal(size=(4, 12, 12, 2)),
        ),
        "s_rnn": (
            sinapse.Sequential(
                [L.Input((7,)), L.Embedding(20, 5), L.LSTM(4, return_sequences=True), L.GRU(3, return_sequences=True)]
                + [L.GRU(3, return_sequences=True, reset_after=False), L.SimpleRNN(3, activation="relu"), L.Dense(2)]
            ),
            rng.integers(0, 20, size=(4, 7)),
        ),
    }
    models["s_func"] = (_two_outputs(), rng.normal(size=(5, 6)))
    for name, (model, x) in models.items():
        randomize(model, 7)
        model.compile("adam", "mse", metrics=["mae"])
        x = x.astype(np.float32)
        y = model.predict(x, verbose=0)
        ys = {f"y{i}": v for i, v in enumerate(y)} if isinstance(y, list) else {"y": y}
        base = os.path.join(out, name)
        np.savez(base + ".npz", x=x, **ys)
        kf.save_model(model, base + ".keras")
        kf.save_model(model, base + ".h5")
        kf.save_weights(model, base + ".weights.h5")
        for suffix in (".keras", ".h5"):
            got = kf.load_model(base + suffix).predict(x, verbose=0)
            for a, b in zip(got if isinstance(got, list) else [got], ys.values()):
                np.testing.assert_array_equal(a, b)


def _nest():
    """The sinapse twin of make_keras_golden.py's nest: a nested Sequential, two outputs."""
    x = sinapse.Input((6,), name="x")
    h = L.Dense(5, activation="relu", name="h")(x)
    inner = sinapse.Sequential(
        [L.Input((5,)), L.Dense(4, name="in1"), L.BatchNormalization(name="in_bn")], name="inner"
    )
    out1 = L.Dense(3, name="out1")(inner(h))
    out2 = L.Dense(2, name="out2")(L.BatchNormalization(name="bn")(h))
    return sinapse.Model(x, [out1, out2], name="nest")


def _close_all(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        close(g, w)


def test_functional_nested_golden(tmp_path):
    """Keras 3's functional model with a nested Sequential: weights under layers/sequential/layers/...,
    the legacy file's nested layer one group of all its weights; load_model rebuilds the graph."""
    data, base = golden("nest")
    model = _nest()
    with h5py.File(base + ".h5") as f:
        assert [layer.name for layer in model.layers] == kf._names(f["model_weights"].attrs, "layer_names")
    for suffix in (".weights.h5", ".keras", ".h5"):
        randomize(model, 10)
        kf.load_weights(model, base + suffix)
        _close_all(model.predict(data["x"], verbose=0), [data["y0"], data["y1"]])
    for suffix in (".keras", ".h5"):
        loaded = kf.load_model(base + suffix)
        assert [layer.name for layer in loaded.layers] == ["x", "h", "inner", "bn", "out1", "out2"]
        _close_all(loaded.predict(data["x"], verbose=0), [data["y0"], data["y1"]])
    path = str(tmp_path / "nest.weights.h5")
    kf.save_weights(_nest(), path)
    assert _datasets(path) == _datasets(base + ".weights.h5", "layers/")  # Keras's layout, nesting too


def _two_outputs():
    x = sinapse.Input((6,), name="x")
    h = L.Dense(5, activation="relu", name="h")(x)
    return sinapse.Model(x, [L.Dense(3, name="o1")(h), L.Dense(2, name="o2")(L.BatchNormalization(name="bn")(h))])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_functional_round_trip(tmp_path, suffix):
    model = _two_outputs()
    randomize(model, 11)
    x = np.random.default_rng(12).normal(size=(4, 6)).astype(np.float32)
    kf.save_model(model, str(tmp_path / ("m" + suffix)))
    loaded = kf.load_model(str(tmp_path / ("m" + suffix)))
    for a, b in zip(loaded.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)
    kf.save_weights(model, str(tmp_path / "w.weights.h5"))
    other = _two_outputs()
    kf.load_weights(other, str(tmp_path / "w.weights.h5"))
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_nested_functional(tmp_path):
    model = _nest()
    kf.save_model(model, str(tmp_path / "n.keras"))
    x = np.random.default_rng(13).normal(size=(3, 6)).astype(np.float32)
    for a, b in zip(kf.load_model(str(tmp_path / "n.keras")).predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)
