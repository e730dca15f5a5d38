"""Keras files that do not fit (sinapse.models.keras_files): by_name and skip_mismatch, shape and layer
mismatches, truncated and foreign files, overwrite=False and atomic writes, Keras 2 layouts, Keras 3
config values. Skipped without h5py (test_keras_files.py skips the import)."""

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
from sinapse.models.keras_config import KerasConfigError
from test_keras_files import DATA, _read, close, golden, h5py, mlp, randomize


def _named(names_units, input_dim=4):
    return sinapse.Sequential([L.Input((input_dim,))] + [L.Dense(u, name=n) for n, u in names_units])


def test_by_name_loads_matching_layers_only(tmp_path):
    src = _named([("a", 3), ("b", 5), ("c", 2)])
    randomize(src, 4)
    path = str(tmp_path / "src.h5")
    kf.save_weights(src, path)
    dst = _named([("x", 3), ("b", 5)], input_dim=4)
    before = dst.layers[0].get_weights()
    kf.load_weights(dst, path, by_name=True)
    for a, b in zip(dst.layers[1].get_weights(), src.layers[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(dst.layers[0].get_weights(), before):
        np.testing.assert_array_equal(a, b)  # no layer "x" in the file: left as it was


def test_by_name_count_and_shape_mismatch(tmp_path):
    src = _named([("a", 3), ("b", 5)])
    path = str(tmp_path / "src.h5")
    kf.save_weights(src, path)
    dst = sinapse.Sequential([L.Input((4,)), L.Dense(3, name="a", use_bias=False), L.Dense(6, name="b")])
    with pytest.raises(ModelFileError, match=r"layer 'a' \(Dense\) has 1 weights"):
        kf.load_weights(dst, path, by_name=True)
    before = dst.get_weights()
    with pytest.warns(UserWarning, match="skipped") as record:
        kf.load_weights(dst, path, by_name=True, skip_mismatch=True)
    assert len(record) == 3  # a's count; b's kernel (3, 6) vs (3, 5) and bias (6,) vs (5,), weight by weight
    for a, b in zip(dst.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    kf.save_weights(src, str(tmp_path / "x.weights.h5"))
    with pytest.raises(ValueError, match="by_name=True is for legacy .h5 files"):
        kf.load_weights(dst, str(tmp_path / "x.weights.h5"), by_name=True)


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras", ".h5"])
def test_shape_mismatch_names_path_layer_and_shapes(suffix):
    _, base = golden("mlp")
    other = mlp(head=L.Dense(5, name="wide"))  # the twin with a wider head
    before = other.get_weights()
    with pytest.raises(ModelFileError) as info:
        kf.load_weights(other, base + suffix)
    message = str(info.value)
    assert base + suffix in message and "'wide'" in message and "(16, 5)" in message and "(16, 4)" in message
    for a, b in zip(other.get_weights(), before):  # a failed load assigns nothing, not even the first layer
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="wide"):
        kf.load_weights(other, base + suffix, skip_mismatch=True)
    model = mlp()
    kf.load_weights(model, base + suffix)
    np.testing.assert_array_equal(other.layers[0].get_weights()[0], model.layers[0].get_weights()[0])
    np.testing.assert_array_equal(other.layers[-1].get_weights()[0], before[-2])  # skipped: unchanged


def test_missing_and_extra_layers():
    _, base = golden("mlp")
    short = sinapse.Sequential([L.Input((8,)), L.Dense(16)])
    with pytest.raises(ModelFileError, match="does not have: layers/dense_1/vars"):
        kf.load_weights(short, base + ".weights.h5")
    with pytest.raises(ModelFileError, match="holds weights for 2 layers"):
        kf.load_weights(short, base + ".h5")
    long = sinapse.Sequential([L.Input((8,)), L.Dense(16), L.Dense(4), L.Dense(2)])
    with pytest.raises(ModelFileError, match="layers/dense_2/vars holds 0 .*no such group"):
        kf.load_weights(long, base + ".weights.h5")


def test_keras2_save_weights_layout(tmp_path):
    """Keras 2's save_weights: layer_names on the file's root, weight names such as dense/kernel:0."""
    data, base = golden("mlp")
    twin = mlp()
    kf.load_weights(twin, base + ".weights.h5")
    path = str(tmp_path / "k2.h5")
    with h5py.File(path, "w") as f:
        with_weights = [layer for layer in twin.layers if layer.weights]
        f.attrs["layer_names"] = np.asarray([b"dense", b"dropout", b"dense_1"])
        f.attrs["keras_version"], f.attrs["backend"] = b"2.13.1", b"tensorflow"
        f.create_group("dropout").attrs["weight_names"] = np.asarray([])
        for name, layer in zip(["dense", "dense_1"], with_weights):
            g = f.create_group(name)
            g.attrs["weight_names"] = np.asarray([f"{name}/{w.name}:0".encode() for w in layer.weights])
            for w in layer.weights:
                g.create_dataset(f"{name}/{w.name}:0", data=w.numpy())
    model = mlp()
    kf.load_weights(model, path)
    close(model.predict(data["x"], verbose=0), data["y"])


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras", ".h5"])
def test_truncated_and_foreign_files(tmp_path, suffix):
    _, base = golden("mlp")
    raw = _read(base + suffix)
    path = str(tmp_path / ("cut" + suffix))
    with open(path, "wb") as f:
        f.write(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="cut"):
        kf.load_weights(mlp(), path)
    with open(path, "wb") as f:
        f.write(b"not a keras file at all")
    with pytest.raises(ModelFileError, match="neither"):
        kf.load_weights(mlp(), path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        kf.load_weights(mlp(), str(tmp_path / ("none" + suffix)))


def test_bad_keras_zips(tmp_path):
    _, base = golden("mlp")
    with zipfile.ZipFile(base + ".keras") as z:
        members = {n: z.read(n) for n in z.namelist()}

    def write(name, **changes):
        path = str(tmp_path / name)
        with zipfile.ZipFile(path, "w") as z:
            for n, data in {**members, **changes}.items():
                if data is not None:
                    z.writestr(n, data)
        return path

    with pytest.raises(ModelFileError, match="no model.weights.h5"):
        kf.load_model(write("a.keras", **{"model.weights.h5": None}))
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["class_name"] = "Conv3D"
    with pytest.raises(ModelFileError, match="'hidden' is a Keras Conv3D, which sinapse does not have"):
        kf.load_model(write("b.keras", **{"config.json": json.dumps(config)}))
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["lora_rank"] = 4
    with pytest.raises(ModelFileError, match="`lora_rank`=4 is a Keras option sinapse does not support"):
        kf.load_model(write("c.keras", **{"config.json": json.dumps(config)}))
    with pytest.raises(ModelFileError, match="config.json is not valid JSON"):
        kf.load_model(write("d.keras", **{"config.json": "{"}))


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5", ".keras"])
def test_overwrite_false_and_atomic_write(tmp_path, monkeypatch, suffix):
    model = mlp()
    path = str(tmp_path / ("m" + suffix))
    save = kf.save_model if suffix == ".keras" else kf.save_weights
    save(model, path)
    old = _read(path)
    randomize(model, 5)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        save(model, path, overwrite=False)
    assert _read(path) == old

    def broken(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        save(model, path)
    assert _read(path) == old and os.listdir(tmp_path) == [os.path.basename(path)]


def test_errors_for_models_and_paths(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        kf.save_weights(sinapse.Sequential([L.Dense(2)]), str(tmp_path / "a.weights.h5"))
    with pytest.raises(ValueError, match="end in .weights.h5 or .h5, got"):
        kf.save_weights(mlp(), str(tmp_path / "a.bin"))
    with pytest.raises(ValueError, match="not built"):
        kf.load_weights(sinapse.Sequential([L.Dense(2)]), os.path.join(DATA, "mlp.weights.h5"))

    class Custom(L.Layer):
        pass

    model = sinapse.Sequential([L.Input((3,)), Custom(name="mine")])
    with pytest.raises(KerasConfigError, match="'mine' \\(Custom\\) has no Keras 3 built-in"):
        kf.save_model(model, str(tmp_path / "c.keras"))
    assert not os.path.exists(tmp_path / "c.keras")
    with pytest.raises(ModelFileError, match="weights only"):
        kf.load_model(os.path.join(DATA, "..", "keras", "mlp.weights.h5"))


def test_paths_and_kinds():
    assert kf.is_keras_path("a/b.weights.h5") == "weights.h5"
    assert kf.is_keras_path("b.H5") == "h5" and kf.is_keras_path("b.hdf5") == "h5"
    assert kf.is_keras_path("b.keras") == "keras"
    assert kf.is_keras_path("b.safetensors") is None and kf.is_keras_path(3) is None
    assert kf.file_kind(os.path.join(DATA, "mlp.keras")) == "keras"
    assert kf.file_kind(os.path.join(DATA, "mlp.h5")) == "hdf5"
    assert kf.file_kind(os.path.join(DATA, "mlp.npz")) == "keras"  # (npz is a zip too: content, not name)
    assert kf.file_kind("/nonexistent") is None


def test_bfloat16_datasets(tmp_path):
    """Keras stores bfloat16 variables as uint16 with attrs dtype="bfloat16"."""
    model = sinapse.Sequential([L.Input((2,)), L.Dense(2)])
    kernel = np.array([[1.5, -2.0], [0.25, 3.0]], np.float32)
    path = str(tmp_path / "b.weights.h5")
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/dense/vars")
        g.create_dataset("0", data=(kernel.view(np.uint32) >> 16).astype(np.uint16)).attrs["dtype"] = "bfloat16"
        g.create_dataset("1", data=np.zeros(2, np.float32))
    kf.load_weights(model, path)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], kernel)


def test_keras3_layer_configs_deserialize():
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    init = {
        "module": "keras.initializers",
        "class_name": "GlorotUniform",
        "config": {"seed": None, "input_axes": None, "output_axes": None},
        "registered_name": None,
    }
    dense = L.Dense.from_config(
        {"name": "d", "units": 3, "dtype": policy, "kernel_initializer": init, "quantization_config": None}
    )
    assert dense.units == 3
    with pytest.raises(ValueError, match="Dense.from_config: `lora_rank`=2"):
        L.Dense.from_config({"units": 3, "lora_rank": 2})
    with pytest.raises(ValueError, match="`renorm`=True"):
        L.BatchNormalization.from_config({"renorm": True})
    with pytest.raises(ValueError, match="float32"):
        L.Dense.from_config({"units": 3, "dtype": {**policy, "config": {"name": "mixed_float16"}}})
    layer = L.InputLayer.from_config({"batch_shape": [None, 4], "dtype": "int32", "sparse": False, "name": "i"})
    assert layer.shape == (4,)
    with pytest.raises(ValueError, match="sparse"):
        L.InputLayer.from_config({"batch_shape": [None, 4], "sparse": True})
    lstm = L.LSTM.from_config({"units": 2, "seed": 7, "dtype": policy})  # seeds dropout only (0 here)
    assert lstm.units == 2
    with pytest.raises(TypeError, match="unknown argument `bogus`"):
        sinapse.initializers.GlorotUniform.from_config({"bogus": 1})


def _init(name):
    return {"class_name": name, "config": {"seed": None} if name == "GlorotUniform" else {}}


def test_keras2_model_file(tmp_path):
    """A tf.keras 2 model.save(".h5"): Keras 2 configs (batch_input_shape, BatchNormalization's axis
    as [3], initializers without "module") and weight names such as conv2d/kernel:0."""
    twin = sinapse.Sequential(
        [L.Input((6, 6, 2)), L.Conv2D(3, 3), L.BatchNormalization(), L.Flatten(), L.Dense(2, activation="softmax")]
    )
    randomize(twin, 8)
    names = ["conv2d", "batch_normalization", "flatten", "dense"]
    common = {"trainable": True, "dtype": "float32"}
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6, 6, 2], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "conv2d_input"}},
        {"class_name": "Conv2D", "config": {**common, "name": "conv2d", "batch_input_shape": [None, 6, 6, 2],
         "filters": 3, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
         "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": True,
         "kernel_initializer": _init("GlorotUniform"), "bias_initializer": _init("Zeros"), "kernel_regularizer": None,
         "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}},
        {"class_name": "BatchNormalization", "config": {**common, "name": "batch_normalization", "axis": [3],
         "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True, "beta_initializer": _init("Zeros"),
         "gamma_initializer": _init("Ones"), "moving_mean_initializer": _init("Zeros"),
         "moving_variance_initializer": _init("Ones"), "beta_regularizer": None, "gamma_regularizer": None,
         "beta_constraint": None, "gamma_constraint": None}},
        {"class_name": "Flatten", "config": {**common, "name": "flatten", "data_format": "channels_last"}},
        {"class_name": "Dense", "config": {**common, "name": "dense", "units": 2, "activation": "softmax",
         "use_bias": True, "kernel_initializer": _init("GlorotUniform"), "bias_initializer": _init("Zeros"),
         "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
         "kernel_constraint": None, "bias_constraint": None}},
    ]  # fmt: skip
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    path = str(tmp_path / "k2model.h5")
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["keras_version"], f.attrs["backend"] = b"2.13.1", b"tensorflow"
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.asarray([n.encode() for n in names])
        for name, layer in zip(names, twin.layers):
            group = g.create_group(name)
            group.attrs["weight_names"] = np.asarray([f"{name}/{w.name}:0".encode() for w in layer.weights] or [])
            for w in layer.weights:
                group.create_dataset(f"{name}/{w.name}:0", data=w.numpy())
    model = kf.load_model(path)
    x = np.random.default_rng(9).normal(size=(3, 6, 6, 2)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), twin.predict(x, verbose=0))
    assert model.optimizer is None  # no training_config: uncompiled, as Keras


def test_not_regular_files(tmp_path):
    os.mkfifo(tmp_path / "pipe.h5")  # opening it to read would block
    with pytest.raises(ModelFileError, match="not a regular file"):
        kf.load_weights(mlp(), str(tmp_path / "pipe.h5"))
    with pytest.raises(ModelFileError, match="not a regular file"):
        kf.load_model(str(tmp_path))
