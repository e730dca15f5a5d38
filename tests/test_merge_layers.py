"""The merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate) through the
multi-input interface (ensure_built with a list of shapes, forward on a list, backward to a
list) on the CPU and the simulated CUDA kernels, vs the reference; Keras's shape errors, masks
and configs."""

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import layers, reference

ELEMENTWISE = {
    layers.Add: "add",
    layers.Subtract: "subtract",
    layers.Multiply: "multiply",
    layers.Average: "average",
    layers.Maximum: "maximum",
    layers.Minimum: "minimum",
}


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def f64(a):
    return np.asarray(a, np.float64)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls", list(ELEMENTWISE), ids=lambda c: c.__name__)
def test_elementwise_layers_match_reference(rng, backend, cls):
    mode = ELEMENTWISE[cls]
    n = 2 if mode == "subtract" else 3
    layer = cls()
    assert layer.multi_input and layer.supports_masking
    assert layer.ensure_built([(5, 4)] * n) == (5, 4)
    for batch in (2, 7, 2):  # a new batch size, then the first one again (its buffers)
        xs = [f32(rng, batch, 5, 4) for _ in range(n)]
        dy = f32(rng, batch, 5, 4)
        with on(backend):
            y = layer.forward(xs)
            np.testing.assert_allclose(y, reference.merge([f64(x) for x in xs], mode), rtol=1e-5, atol=1e-6)
            dx = layer.backward(dy)
        assert len(dx) == n
        for g, r in zip(dx, reference.merge_backward(f64(dy), [f64(x) for x in xs], mode)):
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
        assert layer.backward(dy, need_dx=False) is None


def test_steps_reuse_their_buffers(rng):
    layer = layers.Add()
    layer.ensure_built([(3,), (3,)])
    xs = [f32(rng, 4, 3), f32(rng, 4, 3)]
    y1, dx1 = layer.forward(xs), layer.backward(xs[0])
    y2, dx2 = layer.forward(xs), layer.backward(xs[0])
    assert y1 is y2 and all(a is b for a, b in zip(dx1, dx2))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "axis,shapes",
    [(-1, [(3, 4), (3, 2), (3, 1)]), (1, [(2, 4), (5, 4)]), (2, [(3, 4), (3, 6)]), (-2, [(1, 5), (2, 5)])],
)
def test_concatenate_layer_matches_reference(rng, backend, axis, shapes):
    layer = layers.Concatenate(axis=axis)
    out_shape = layer.ensure_built(shapes)
    xs = [f32(rng, 6, *s) for s in shapes]
    want = np.concatenate(xs, axis=axis)
    assert out_shape == want.shape[1:]
    dy = f32(rng, *want.shape)
    with on(backend):
        y = layer.forward(xs)
        np.testing.assert_array_equal(y, want)
        dx = layer.backward(dy)
    for g, r in zip(dx, reference.concatenate_backward(dy, [x.shape for x in xs], axis)):
        np.testing.assert_array_equal(g, r)


def test_build_errors_are_keras_like():
    with pytest.raises(
        ValueError, match=r"inputs have incompatible shapes. Received shapes \(None, 4, 5\) and \(None, 4, 3\)"
    ):
        layers.Add().ensure_built([(4, 5), (4, 3)])
    with pytest.raises(ValueError, match=r"A `Subtract` layer should be called on exactly 2 inputs"):
        layers.Subtract().ensure_built([(3,), (3,), (3,)])
    with pytest.raises(ValueError, match=r"A `Add` layer should be called on a list of inputs"):
        layers.Add().compute_output_shape((3, 4))
    with pytest.raises(ValueError, match=r"A `Concatenate` layer requires inputs with matching shapes except for the"):
        layers.Concatenate(axis=-1).ensure_built([(3, 4), (2, 4)])
    with pytest.raises(ValueError, match=r"Concatenate: `axis` must not be 0"):
        layers.Concatenate(axis=0)
    with pytest.raises(ValueError, match=r"`axis`=3 is not an axis of inputs of rank 3"):
        layers.Concatenate(axis=3).ensure_built([(3, 4), (3, 4)])
    with pytest.raises(TypeError, match=r"Concatenate: `axis` must be an int"):
        layers.Concatenate(axis="last")


def test_unknown_dimensions():
    assert layers.Add().ensure_built([(None, 4), (3, 4)]) == (3, 4)
    assert layers.Concatenate(axis=1).ensure_built([(None, 4), (3, 4)]) == (None, 4)
    assert layers.Concatenate().ensure_built([(None, 4), (None, 2)]) == (None, 6)


def test_masks_follow_keras():
    m1 = np.array([[True, False, False], [True, True, False]])
    m2 = np.array([[False, False, True], [True, False, False]])
    add = layers.Add()
    assert add.compute_mask(None, None) is None
    assert add.compute_mask([None, None], [m1, None]) is None
    np.testing.assert_array_equal(add.compute_mask([None, None], [m1, m2]), m1 | m2)
    x = np.zeros((2, 3, 4), np.float32)
    last = layers.Concatenate(axis=-1)
    assert last.compute_mask([x, x], [None, None]) is None
    np.testing.assert_array_equal(last.compute_mask([x, x], [m1, m2]), m1 | m2)
    np.testing.assert_array_equal(last.compute_mask([x, x], [m1, None]), np.ones((2, 3), bool))
    time = layers.Concatenate(axis=1)
    np.testing.assert_array_equal(time.compute_mask([x, x], [m1, None]), np.concatenate([m1, np.ones((2, 3), bool)], 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_forward_and_backward(rng, backend):
    """Add ignores masks (Keras); Maximum / Multiply merge only the unmasked steps (Keras)."""
    m1 = np.array([[True, False, False], [True, True, False]])
    m2 = np.array([[False, True, False], [True, False, True]])
    xs = [f32(rng, 2, 3, 4), f32(rng, 2, 3, 4)]
    dy = f32(rng, 2, 3, 4)
    add = layers.Add()
    add.ensure_built([(3, 4), (3, 4)])
    for cls in (layers.Maximum, layers.Multiply, layers.Minimum):
        layer = cls()
        layer.ensure_built([(3, 4), (3, 4)])
        with on(backend):
            np.testing.assert_allclose(add.forward(xs, mask=[m1, m2]), xs[0] + xs[1], rtol=1e-6)
            y = layer.forward(xs, mask=[m1, m2])
            dx = layer.backward(dy)
        ref = [f64(x) for x in xs]
        np.testing.assert_allclose(y, reference.merge(ref, layer.mode, [m1, m2]), rtol=1e-6, atol=1e-7)
        for g, r in zip(dx, reference.merge_backward(f64(dy), ref, layer.mode, [m1, m2])):
            np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-7)
        # no masks: the plain merge again (the layer forgets the last call's masks)
        np.testing.assert_allclose(layer.forward(xs), reference.merge(ref, layer.mode), rtol=1e-6, atol=1e-7)


def test_configs_use_keras_names():
    c = layers.Concatenate(axis=2, name="cat")
    config = c.get_config()
    assert config["axis"] == 2 and config["name"] == "cat"
    again = layers.Concatenate.from_config(config)
    assert again.axis == 2 and again.name == "cat"
    for cls in ELEMENTWISE:
        config = cls(name=f"m_{cls.__name__}").get_config()
        assert set(config) == {"name", "trainable", "dtype"}
        assert cls.from_config(config).name == config["name"]
    assert layers.deserialize({"class_name": "Maximum", "config": {"name": "mx"}}).name == "mx"


def test_functional_forms_build_the_layer(monkeypatch):
    """add(inputs, **kwargs) is Add(**kwargs)(inputs): the kwargs reach the layer, the call its inputs."""
    calls = []
    forms = {
        layers.add: layers.Add,
        layers.subtract: layers.Subtract,
        layers.multiply: layers.Multiply,
        layers.average: layers.Average,
        layers.maximum: layers.Maximum,
        layers.minimum: layers.Minimum,
        layers.concatenate: layers.Concatenate,
    }
    for cls in forms.values():
        monkeypatch.setattr(cls, "__call__", lambda self, inputs, training=False: calls.append((self, inputs)) or self)
    for fn, cls in forms.items():
        layer = fn(["a", "b"], name=f"f_{cls.__name__}")
        assert type(layer) is cls and layer.name == f"f_{cls.__name__}" and calls[-1] == (layer, ["a", "b"])
    assert layers.concatenate(["a"], axis=1).axis == 1


# ------------------------------------------------------------------ eager calls and the functional API


def test_eager_call_on_a_list(rng):
    a, b, c = f32(rng, 4, 3), f32(rng, 4, 3), f32(rng, 4, 2)
    np.testing.assert_allclose(layers.Add()([a, b]), a + b, rtol=1e-6)
    np.testing.assert_allclose(layers.average([a, b]), (a + b) / 2, rtol=1e-6)
    np.testing.assert_array_equal(layers.subtract([a, b]), a - b)
    np.testing.assert_array_equal(layers.maximum([a, b]), np.maximum(a, b))
    np.testing.assert_array_equal(layers.concatenate([a, c]), np.concatenate([a, c], axis=-1))
    with pytest.raises(TypeError, match=r"Add.__call__: layer 'add\w*' takes a list of arrays"):
        layers.Add()(a)


def _residual_model():
    """Two inputs, a residual Add, a Concatenate and a Dense head (weights set by the caller)."""
    x1, x2 = sinapse.Input(shape=(4,), name="x1"), sinapse.Input(shape=(4,), name="x2")
    h1 = layers.Dense(4, activation="tanh", name="d1")(x1)
    h2 = layers.Dense(4, name="d2")(x2)
    s = layers.add([h1, h2, x1], name="sum")
    m = layers.Multiply(name="mul")([s, h2])
    c = layers.concatenate([m, x2], name="cat")
    out = layers.Dense(1, name="head")(c)
    return sinapse.Model([x1, x2], out)


def _numpy_forward(weights, a, b):
    k1, b1, k2, b2, kh, bh = (np.asarray(w, np.float64) for w in weights)
    h1 = np.tanh(a @ k1 + b1)
    h2 = b @ k2 + b2
    m = (h1 + h2 + a) * h2
    return np.concatenate([m, b], axis=1) @ kh + bh


@pytest.mark.parametrize("backend", BACKENDS)
def test_model_with_merge_layers_predicts_and_trains(rng, backend):
    model = _residual_model()
    assert [type(lay).__name__ for lay in model.layers if lay.name in ("sum", "mul", "cat")] == [
        "Add",
        "Multiply",
        "Concatenate",
    ]
    a, b, y = f32(rng, 8, 4), f32(rng, 8, 4), f32(rng, 8, 1)
    weights = model.get_weights()
    np.testing.assert_allclose(model.predict([a, b], verbose=0), _numpy_forward(weights, a, b), rtol=1e-4, atol=1e-5)

    def loss(ws):
        return float(np.mean((_numpy_forward(ws, f64(a), f64(b)) - y) ** 2))

    # one SGD step with learning rate 1 moves each weight by minus its gradient: compare with
    # central differences of the loss in float64
    model.compile(sinapse.optimizers.SGD(1.0), "mse")
    with on(backend):
        model.fit([a, b], y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    stepped = model.get_weights()
    h = 1e-6
    for i, w in enumerate(weights):
        grad = np.zeros(w.shape)
        for idx in np.ndindex(w.shape):
            plus = [f64(v).copy() for v in weights]
            minus = [f64(v).copy() for v in weights]
            plus[i][idx] += h
            minus[i][idx] -= h
            grad[idx] = (loss(plus) - loss(minus)) / (2 * h)
        np.testing.assert_allclose(f64(w) - f64(stepped[i]), grad, rtol=1e-3, atol=1e-5, err_msg=model.weights[i].name)


def test_model_config_round_trip_keeps_the_merge_layers(rng):
    model = _residual_model()
    config = model.get_config()
    cat = next(layer for layer in config["layers"] if layer["class_name"] == "Concatenate")
    assert cat["config"]["axis"] == -1 and len(cat["inbound_nodes"]) == 1
    again = sinapse.Model.from_config(config)
    again.set_weights(model.get_weights())
    a, b = f32(rng, 3, 4), f32(rng, 3, 4)
    np.testing.assert_array_equal(again.predict([a, b], verbose=0), model.predict([a, b], verbose=0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_keras_file_with_masked_merges_predicts_as_keras(backend):
    """merge_masked.keras (Keras 3.15.1, tools/make_merge_golden.py): Embedding(mask_zero=True)
    inputs into Multiply, Maximum and Minimum, whose forward Keras masks; steps masked in both
    inputs and a Multiply with one unmasked input included."""
    import os

    from sinapse.models import keras_files

    data = os.path.join(os.path.dirname(__file__), "data", "keras")
    model = keras_files.load_model(os.path.join(data, "merge_masked.keras"))
    with np.load(os.path.join(data, "merge_masked.npz")) as golden:
        ids, want = [golden["a"], golden["b"]], [golden[f"y{i}"] for i in range(4)]
    with on(backend):
        got = model.predict(ids, verbose=0)
    assert (ids[0] == 0).any() and ((ids[0] == 0) & (ids[1] == 0)).any()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_keras_file_with_every_merge_layer_predicts_as_keras(backend):
    """merge_layers.keras was written by Keras 3.15.1 (tools/make_merge_golden.py): Add of 3
    inputs, Multiply, Maximum, Minimum, Average, Subtract, Concatenate on two axes."""
    import os

    from sinapse.models import keras_files

    data = os.path.join(os.path.dirname(__file__), "data", "keras")
    model = keras_files.load_model(os.path.join(data, "merge_layers.keras"))
    names = {type(layer).__name__ for layer in model.layers}
    assert {"Add", "Multiply", "Maximum", "Minimum", "Average", "Subtract", "Concatenate"} <= names
    with np.load(os.path.join(data, "merge_layers.npz")) as golden:
        a, b, y = golden["a"], golden["b"], golden["y"]
    with on(backend):
        got = model.predict([a, b], verbose=0)
    np.testing.assert_allclose(got, y, rtol=1e-5, atol=1e-5)
