"""Sequential: building, summary, weights, transfer learning, clone_model, predict."""

import re

import numpy as np
import pytest

import sinapse
from keras_helpers import blobs
from sinapse import layers
from sinapse.models import Sequential, clone_model
from sinapse.optimizers import SGD


def seed_mlp():
    return sinapse.Sequential(
        [
            layers.Flatten(input_shape=[28, 28]),
            layers.Dense(300, activation="relu"),
            layers.Dense(100, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def test_summary_of_the_seed_mlp(capsys):
    model = seed_mlp()
    model.summary()
    out = capsys.readouterr().out
    assert "Total params: 266,610" in out
    assert "Trainable params: 266,610" in out and "Non-trainable params: 0" in out
    lines = out.splitlines()
    assert any(re.match(r" flatten(_\d+)? \(Flatten\) +\(None, 784\) +0$", line) for line in lines)
    assert any("(None, 300)" in line and line.rstrip().endswith("235500") for line in lines)
    assert model.count_params() == 266_610 and model.output_shape == (None, 10)


def test_summary_counts_non_trainable_weights(capsys):
    model = Sequential(
        [
            layers.Input(shape=(8, 8, 3)),
            layers.Conv2D(4, 3),
            layers.BatchNormalization(),
            layers.GlobalAveragePooling2D(),
            layers.Dense(2),
        ]
    )
    model.summary()
    out = capsys.readouterr().out
    assert "Total params: 138" in out  # conv 3*3*3*4+4 = 112, bn 16 (8 trainable), dense 4*2+2 = 10
    assert "Trainable params: 130" in out and "Non-trainable params: 8" in out


def test_build_from_input_add_and_first_batch(rng):
    model = Sequential()
    model.add(layers.Dense(4, activation="relu"))
    model.add(layers.Dense(2))
    assert not model.built
    with pytest.raises(ValueError, match="has not yet been built"):
        model.summary()
    y = model.predict(rng.standard_normal((5, 3)))
    assert y.shape == (5, 2) and model.built and model.input_shape == (None, 3)
    with pytest.raises(
        ValueError,
        match=r"^Sequential.predict: the model expects inputs of shape \(None, 3\), got `x` of shape \(None, 4\)",
    ):
        model.predict(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="expects a sinapse layer"):
        model.add("dense")
    keras_style = Sequential([layers.Input(shape=(28, 28, 1)), layers.Conv2D(32, kernel_size=(3, 3))])
    assert keras_style.layers[0].output_shape == (26, 26, 32)
    built = Sequential([layers.Dense(3)])
    built.build((None, 5))
    assert built.layers[0].kernel.shape == (5, 3)


def test_predict_is_batched_and_matches_predict_on_batch(rng):
    model = seed_mlp()
    x = rng.random((70, 28, 28))
    full = model.predict(x, batch_size=16)
    np.testing.assert_allclose(full, model.predict_on_batch(x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model(x[:3]), full[:3], rtol=1e-5, atol=1e-7)
    assert full.dtype == np.float32
    np.testing.assert_array_equal(model.predict_classes(x), full.argmax(-1))


def test_predict_classes_thresholds_a_single_sigmoid_unit(rng):
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    x = rng.standard_normal((20, 3))
    classes = model.predict_classes(x)
    assert classes.shape == (20, 1)
    np.testing.assert_array_equal(classes[:, 0], (model.predict(x)[:, 0] > 0.5).astype(int))


def test_transfer_learning_trains_the_head_and_leaves_frozen_layers_untouched(rng):
    x, y = blobs(256, 6, 3, rng)
    model_a = Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(6,)),
            layers.Dense(8, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model_a.compile(SGD(0.1), "sparse_categorical_crossentropy")
    model_a.fit(x, y, epochs=2, verbose=0)
    model_b = Sequential(model_a.layers[:-1])
    model_b.add(layers.Dense(1, activation="sigmoid"))
    for layer in model_b.layers[:-1]:
        layer.trainable = False
    frozen = [w.copy() for layer in model_b.layers[:-1] for w in layer.get_weights()]
    head_before = model_b.layers[-1].get_weights()[0].copy()
    model_b.compile(SGD(0.1), "binary_crossentropy", metrics=["accuracy"])
    history = model_b.fit(x, (y == 1).astype(np.float32), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    after = [w for layer in model_b.layers[:-1] for w in layer.get_weights()]
    for a, b in zip(frozen, after):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head_before, model_b.layers[-1].get_weights()[0])
    assert model_b.layers[0] is model_a.layers[0]  # shared, as in Keras
    # Unfreezing re-plans the step: the lower layers now change.
    for layer in model_b.layers[:-1]:
        layer.trainable = True
    model_b.fit(x, (y == 1).astype(np.float32), epochs=1, verbose=0)
    assert not np.array_equal(frozen[0], model_b.layers[0].get_weights()[0])


def test_clone_model_has_the_architecture_but_not_the_weights(rng):
    model = seed_mlp()
    clone = clone_model(model)
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    assert clone.count_params() == model.count_params()
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])  # re-initialised, as Keras
    clone.set_weights(model.get_weights())
    x = rng.random((4, 28, 28))
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    clone.layers[1].kernel.value[...] = 0
    assert np.abs(model.layers[1].get_weights()[0]).sum() > 0  # no sharing


def test_model_weights_and_errors(rng):
    model = seed_mlp()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(784, 300), (300,), (300, 100), (100,), (100, 10), (10,)]
    with pytest.raises(ValueError, match="expected 6 arrays"):
        model.set_weights(weights[:-1])
    with pytest.raises(RuntimeError, match="call compile"):
        model.fit(np.zeros((2, 28, 28)), np.zeros(2))
    with pytest.raises(TypeError, match="learning rate is an optimizer argument"):
        model.compile(optimizer="sgd", loss="mse", lr=0.1)
    with pytest.raises(ValueError, match="already has a layer named 'dense_x'"):
        Sequential([layers.Dense(2, name="dense_x", input_shape=(2,)), layers.Dense(2, name="dense_x")])
    assert model.get_layer(model.layers[1].name) is model.layers[1]
    popped = model.pop()
    assert popped.units == 10 and len(model.layers) == 3


def test_sequential_build_is_idempotent_and_refuses_another_shape():
    model = Sequential([layers.Dense(4), layers.Dense(2)])
    model.build((None, 3))
    weights, count = model.weights, model.count_params()
    values = [np.full(w.shape, 0.5, np.float32) for w in weights]
    model.set_weights(values)
    model.build((None, 3))
    model.build((3,))  # the same shape without the batch axis (sinapse accepts both)
    assert model.weights == weights and model.count_params() == count and model.built
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(model.predict(x), np.full((2, 2), 4 * (3 * 0.5 + 0.5) * 0.5 + 0.5))
    with pytest.raises(
        ValueError,
        match=r"^Sequential\.build: the model is already built for inputs of shape "
        r"\(None, 3\), got `input_shape`=\(None, 5\)",
    ):
        model.build((None, 5))
    with pytest.raises(TypeError, match=r"^Sequential\.build: `input_shape` must be a tuple"):
        model.build(3)
    assert model.input_shape == (None, 3) and model.count_params() == count


@pytest.mark.parametrize(
    "config, match",
    [
        (None, r"^Sequential\.from_config: `config` must be a dict .*got None"),
        ([], r"^Sequential\.from_config: `config` must be a dict .*got \[\]"),
        ("model", r"^Sequential\.from_config: `config` must be a dict"),
        ({"layers": 3}, r"^Sequential\.from_config: `config\['layers'\]` must be a list of layer configs, got 3"),
    ],
)
def test_from_config_refuses_what_is_not_a_config(config, match):
    with pytest.raises(TypeError, match=match):
        Sequential.from_config(config)


def test_from_config_checks_the_input_shape():
    with pytest.raises((TypeError, ValueError), match=r"^Sequential\.from_config: .*build_input_shape"):
        Sequential.from_config({"layers": [], "build_input_shape": [-3]})


@pytest.mark.parametrize("model", ["x", None, [layers.Dense(2)], layers.Dense(2)])
def test_clone_model_refuses_what_is_not_a_model(model):
    with pytest.raises(TypeError, match=r"^clone_model: `model` must be a sinapse Sequential model"):
        clone_model(model)


def test_clone_model_checks_clone_function():
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(TypeError, match=r"^clone_model: `clone_function` must be a callable"):
        clone_model(model, clone_function="copy")


def _unnamed_messages():
    model = Sequential([layers.Dense(2, input_shape=(3,))], name="mine")
    dense = model.layers[0]
    return {
        "pop": (lambda: Sequential(name="mine").pop(), ValueError),
        "add": (lambda: model.add(dense), ValueError),
        "add2": (lambda: model.add("dense"), TypeError),
        "add3": (lambda: model.add(layers.Input((3,))), ValueError),
        "get_layer": (lambda: model.get_layer("nope"), ValueError),
        "build": (lambda: Sequential([layers.Dense(2)], name="mine").build(), ValueError),
        "output_shape": (lambda: Sequential([layers.Dense(2)], name="mine").output_shape, AttributeError),
        "set_weights": (lambda: model.set_weights([]), ValueError),
        "summary": (lambda: Sequential([layers.Dense(2)], name="mine").summary(), ValueError),
        "compile": (lambda: model.compile("sgd", "mse", lr=0.1), TypeError),
        "compile2": (lambda: model.compile("sgd", "mse", loss_weights=[1, 2]), ValueError),  # 2 weights, 1 output
        "evaluate": (lambda: model.evaluate(np.zeros((2, 3)), np.zeros((2, 2))), RuntimeError),
        "fit": (lambda: model.fit(np.zeros((2, 3)), np.zeros((2, 2))), RuntimeError),
        "train_on_batch": (lambda: model.train_on_batch(np.zeros((2, 3)), np.zeros((2, 2))), RuntimeError),
        "test_on_batch": (lambda: model.test_on_batch(np.zeros((2, 3)), np.zeros((2, 2))), RuntimeError),
    }


@pytest.mark.parametrize("case", sorted(_unnamed_messages()))
def test_model_errors_name_the_class_and_method_not_the_instance(case):
    call, error = _unnamed_messages()[case]
    method = case.rstrip("23")
    with pytest.raises(error, match=rf"^Sequential\.{method}: ") as info:
        call()
    assert "mine" not in str(info.value).split(":")[0]


def test_evaluate_before_compile_says_call_compile_first():
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(RuntimeError, match=r"^Sequential\.evaluate: call compile\(optimizer, loss, metrics\) first$"):
        model.evaluate(np.zeros((2, 3)), np.zeros((2, 2)))


@pytest.mark.parametrize(
    "device, error, match",
    [
        (
            "tpu",
            ValueError,
            r"^Sequential\.compile: `device`: unknown device 'tpu'; expected one of cpu, cuda, cuda-sim",
        ),
        ("gpu", ValueError, r"^Sequential\.compile: `device`: unknown device 'gpu'"),
        (
            5,
            TypeError,
            r"^Sequential\.compile: `device` must be 'cpu', 'cuda', 'cuda-sim' or a sinapse\.devices\.Device, "
            r"got 5 \(int\)",
        ),
    ],
)
def test_compile_names_a_bad_device_and_changes_nothing(device, error, match):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("adam", "mse")
    optimizer = model.optimizer
    with pytest.raises(error, match=match):
        model.compile("sgd", "mae", device=device)
    assert model.optimizer is optimizer and model.loss == "mse"  # checked before anything changed


def test_set_default_device_names_itself():
    with pytest.raises(ValueError, match=r"^set_default_device: `device`: unknown device 'gpu'"):
        sinapse.set_default_device("gpu")
    assert sinapse.get_default_device() == "cpu"
