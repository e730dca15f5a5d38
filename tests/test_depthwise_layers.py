"""DepthwiseConv2D, SeparableConv2D and Conv2D(groups > 1): outputs and gradients against real
Keras 3.15.1 (tests/golden/keras_depthwise.npz, made by make_keras_depthwise_goldens.py), finite
differences, Keras's config keys and weight names, training in a model, save / load, bad
arguments."""

import json
from pathlib import Path

import numpy as np
import pytest

import sinapse
from keras_helpers import check_layer_gradients
from sinapse import layers

GOLDEN = np.load(Path(__file__).parent / "golden" / "keras_depthwise.npz")
CONFIGS = json.loads(str(GOLDEN["configs"]))
# the cases of make_keras_depthwise_goldens.py: class, sinapse constructor arguments
CASES = {
    "dw_s2_same": (layers.DepthwiseConv2D, {"kernel_size": 3, "strides": 2, "padding": "same"}),
    "dw_m2_relu": (
        layers.DepthwiseConv2D,
        {"kernel_size": (3, 2), "depth_multiplier": 2, "activation": "relu", "dilation_rate": (1, 2)},
    ),
    "sep_s2_m2": (
        layers.SeparableConv2D,
        {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2, "activation": "tanh"},
    ),
    "conv_groups2": (layers.Conv2D, {"filters": 6, "kernel_size": 3, "padding": "same", "groups": 2}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_keras(case):
    cls, kwargs = CASES[case]
    layer = cls(**kwargs)
    x = GOLDEN[f"{case}/x"]
    weights = [GOLDEN[f"{case}/w{i}"] for i in range(sum(k.startswith(f"{case}/w") for k in GOLDEN.files))]
    layer.ensure_built(x.shape[1:])
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights]
    layer.set_weights(weights)
    y = layer.forward(x, True)
    np.testing.assert_allclose(y, GOLDEN[f"{case}/y"], rtol=1e-5, atol=1e-5)
    dx = layer.backward(GOLDEN[f"{case}/dy"], need_dx=True)
    np.testing.assert_allclose(dx, GOLDEN[f"{case}/dx"], rtol=1e-4, atol=1e-4)
    for i, w in enumerate(layer.trainable_weights):
        np.testing.assert_allclose(w.grad, GOLDEN[f"{case}/dw{i}"], rtol=1e-4, atol=1e-4)
    keras_config, ours = CONFIGS[case], layer.get_config()
    for key in set(keras_config) - {"name", "dtype", "trainable", "activity_regularizer"}:  # (refused when set)
        assert key in ours, f"{case}: {key} missing from get_config"
        if not isinstance(keras_config[key], dict):
            want = list(keras_config[key]) if isinstance(keras_config[key], (list, tuple)) else keras_config[key]
            assert ours[key] == want, (case, key)


def test_weight_names_and_order():
    sep = layers.SeparableConv2D(4, 3, depth_multiplier=2)
    sep.ensure_built((8, 8, 3))
    assert [w.name for w in sep.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert [w.value.shape for w in sep.weights] == [(3, 3, 3, 2), (1, 1, 6, 4), (4,)]
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2)
    dw.ensure_built((8, 8, 3))
    assert [w.name for w in dw.weights] == ["kernel", "bias"]
    assert dw.output_shape == (6, 6, 6)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.DepthwiseConv2D(3, padding="same", bias_initializer="random_normal"),
        lambda: layers.DepthwiseConv2D((2, 3), strides=2, depth_multiplier=3, activation="sigmoid"),
        lambda: layers.SeparableConv2D(4, 3, padding="same", activation="relu", bias_initializer="random_normal"),
        lambda: layers.SeparableConv2D(2, 2, strides=2, depth_multiplier=2, use_bias=False),
        lambda: layers.Conv2D(6, 3, groups=3, activation="sigmoid", bias_initializer="random_normal"),
        lambda: layers.Conv2D(4, 3, strides=2, padding="same", groups=2, activation="tanh"),
    ],
)
def test_gradients(rng, make):
    x = rng.standard_normal((2, 7, 6, 6)).astype(np.float32)
    check_layer_gradients(make(), x, rng)


def test_train_save_and_load(tmp_path, rng):
    model = sinapse.Sequential(
        [
            layers.Input((8, 8, 4)),
            layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu"),
            layers.SeparableConv2D(6, 3, strides=2, padding="same"),
            layers.Conv2D(6, 3, groups=3, padding="same"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    x = rng.standard_normal((16, 8, 8, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    first = model.train_on_batch(x, y)
    for _ in range(20):
        last = model.train_on_batch(x, y)
    assert last < first
    path = tmp_path / "m.keras"
    model.save(path)
    again = sinapse.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_keras_file_loads_and_saves_back(tmp_path):
    """A .keras file written by Keras 3.15.1 with the three layers: sinapse's predictions match
    Keras's, and a file sinapse writes loads back the same (the config round trip)."""
    pytest.importorskip("h5py")
    model = sinapse.models.load_model(Path(__file__).parent / "golden" / "keras_depthwise_model.keras")
    x = GOLDEN["model/x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), GOLDEN["model/y"], rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "again.keras")
    again = sinapse.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), GOLDEN["model/y"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), r"^DepthwiseConv2D: `depth_multiplier`"),
        (lambda: layers.DepthwiseConv2D(3, padding="full"), r"^DepthwiseConv2D layer '.*': padding must be"),
        (lambda: layers.DepthwiseConv2D(3, data_format="channels_first"), r"^DepthwiseConv2D: `data_format`"),
        (lambda: layers.SeparableConv2D(0, 3), r"^SeparableConv2D: `filters`"),
        (lambda: layers.Conv2D(5, 3, groups=2), r"^Conv2D: `groups`=2 must divide `filters`=5"),
        (lambda: layers.Conv2D(4, 3, groups=0), r"^Conv2D: `groups`"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_shapes():
    with pytest.raises(ValueError, match=r"Conv2D layer 'g': `groups`=2 must divide the input channels"):
        layers.Conv2D(4, 3, groups=2, name="g").ensure_built((6, 6, 3))
    with pytest.raises(ValueError, match=r"DepthwiseConv2D layer 'd': expects images"):
        layers.DepthwiseConv2D(3, name="d").ensure_built((6, 3))
    with pytest.raises(ValueError, match=r"DepthwiseConv2D layer 'e'.*larger than the padded input"):
        layers.DepthwiseConv2D(5, name="e").ensure_built((3, 3, 2))
