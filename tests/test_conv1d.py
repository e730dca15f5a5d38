"""Conv1D (Keras 3's layer) on conv2d's kernels through a one-row image view: against a direct
NumPy definition, the causal property, gradients, Keras 3.15.1's own outputs
(tests/golden/keras_conv_transpose.npz), simulated CUDA, save/load, bad arguments."""

import json
import os

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import layers

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "keras_conv_transpose.npz")


def conv1d(x, w, b, stride, padding, dilation):
    """y[n, t, f] = sum_{i, c} xp[n, t * stride + i * dilation, c] * w[i, c, f] + b[f], xp padded
    by Keras's rule: "same" total max((out - 1) * s + e - T, 0), half (rounded down) before;
    "causal" dilation * (k - 1) before."""
    k, steps = w.shape[0], x.shape[1]
    e = (k - 1) * dilation + 1
    if padding == "causal":
        before, after = e - 1, 0
    elif padding == "same":
        total = max((-(-steps // stride) - 1) * stride + e - steps, 0)
        before, after = total // 2, total - total // 2
    else:
        before = after = 0
    xp = np.pad(x.astype(np.float64), ((0, 0), (before, after), (0, 0)))
    out = (xp.shape[1] - e) // stride + 1
    y = np.zeros((x.shape[0], out, w.shape[2]))
    for t in range(out):
        for i in range(k):
            y[:, t] += xp[:, t * stride + i * dilation] @ w[i]
    return y + (0 if b is None else b)


CONFIGS = [  # (steps, channels, filters, kernel, stride, padding, dilation)
    (10, 3, 4, 3, 1, "valid", 1),
    (11, 2, 3, 4, 2, "same", 1),
    (9, 2, 3, 3, 1, "causal", 2),
    (12, 3, 2, 5, 3, "causal", 1),
    (7, 1, 2, 1, 1, "same", 1),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("steps,channels,filters,kernel,stride,padding,dilation", CONFIGS)
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_forward_and_backward(rng, backend, steps, channels, filters, kernel, stride, padding, dilation, activation):
    layer = layers.Conv1D(
        filters, kernel, strides=stride, padding=padding, dilation_rate=dilation, activation=activation
    )
    layer.ensure_built((steps, channels))
    w = rng.standard_normal((kernel, channels, filters)).astype(np.float32)
    b = rng.standard_normal(filters).astype(np.float32)
    layer.set_weights([w, b])
    x = rng.standard_normal((3, steps, channels)).astype(np.float32)
    z = conv1d(x, w, b, stride, padding, dilation)
    f = {None: lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh}[activation]
    with on(backend):
        y = np.array(layer.forward(x, training=True))
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = np.array(layer.backward(dy))
    assert y.shape == z.shape == (3, *layer.compute_output_shape((steps, channels)))
    np.testing.assert_allclose(y, f(z), rtol=1e-4, atol=1e-4)
    # gradients by central differences of the float64 definition along random directions
    dz = {None: dy, "relu": dy * (z > 0), "tanh": dy * (1 - np.tanh(z) ** 2)}[activation]
    h = 1e-6
    args = [x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)]
    for i, grad in enumerate((dx, layer.kernel.grad, layer.bias.grad)):
        v = rng.standard_normal(args[i].shape)
        plus, minus = list(args), list(args)
        plus[i], minus[i] = args[i] + h * v, args[i] - h * v
        numeric = ((conv1d(*plus, stride, padding, dilation) - conv1d(*minus, stride, padding, dilation)) * dz).sum()
        np.testing.assert_allclose(float((np.asarray(grad) * v).sum()), numeric / (2 * h), rtol=1e-3, atol=1e-3)


def test_causal_output_ignores_the_future(rng):
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = rng.standard_normal((1, 10, 2)).astype(np.float32)
    y = np.array(layer(x))
    x2 = x.copy()
    x2[:, 6:] = 100.0
    np.testing.assert_array_equal(np.array(layer(x2))[:, :6], y[:, :6])
    assert y.shape == (1, 10, 2)


def golden():
    data = np.load(GOLDEN)
    configs = json.loads(str(data["configs"]))
    return [(case, c["config"], data) for case, c in configs.items() if c["class_name"] == "Conv1D"]


@pytest.mark.parametrize("case,config,data", golden(), ids=lambda v: v if isinstance(v, str) else "")
def test_matches_keras(case, config, data):
    layer = layers.deserialize({"class_name": "Conv1D", "config": config})
    x, y = data[f"{case}/x"], data[f"{case}/y"]
    assert layer.ensure_built(x.shape[1:]) == y.shape[1:]
    layer.set_weights([data[f"{case}/kernel"]] + ([data[f"{case}/bias"]] if f"{case}/bias" in data else []))
    np.testing.assert_allclose(layer.forward(x), y, rtol=1e-5, atol=1e-5)
    mine = layer.get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "activation", "use_bias"):
        assert mine[key] == config[key], key


def test_trains_saves_and_loads(tmp_path):
    sinapse.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 20, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    model = sinapse.Sequential(
        [
            layers.Input((20, 3)),
            layers.Conv1D(8, 3, padding="causal", activation="relu"),
            layers.Conv1D(8, 3, strides=2),
            layers.Flatten(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for name in ("m.sinapse", "m.keras"):
        if name.endswith(".keras"):
            pytest.importorskip("h5py")
        model.save(tmp_path / name)
        loaded = sinapse.models.load_model(tmp_path / name)
        assert type(loaded.layers[0]) is layers.Conv1D
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.Conv1D(0, 3), r"^Conv1D: `filters` must be a positive integer"),
        (lambda: layers.Conv1D(2, (3, 3)), r"^Conv1D: `kernel_size` must be an int or a tuple of one int"),
        (lambda: layers.Conv1D(2, 3, padding="full"), r"^Conv1D: `padding` must be 'valid', 'same' or 'causal'"),
        (lambda: layers.Conv1D(2, 3, groups=2), r"^Conv1D: `groups` must be 1"),
        (lambda: layers.Conv1D(2, 3, strides=2, dilation_rate=2), r"^Conv1D: `strides` > 1 together with"),
        (lambda: layers.Conv1D(2, 3, data_format="channels_first"), r"^Conv1D: `data_format` must be"),
        (lambda: layers.Conv1D(2, 3, name="c").ensure_built((5, 5, 1)), r"^Conv1D layer 'c': expects sequences"),
        (lambda: layers.Conv1D(2, 7, name="c").ensure_built((5, 1)), r"^Conv1D layer 'c': input shape \(None, 5, 1\)"),
    ],
)
def test_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_kernel_is_keras_layout_and_a_view():
    layer = layers.Conv1D(5, 3)
    layer.ensure_built((8, 2))
    assert layer.kernel.value.shape == (3, 2, 5)
    assert np.shares_memory(layer._image_kernel(layer.kernel.value), layer.kernel.value)
