"""Each layer: forward against the NumPy reference, backward against finite differences,
config round trip, weights, and clear errors."""

import warnings

import numpy as np
import pytest

import sinapse
from keras_helpers import check_layer_gradients
from sinapse import layers, reference


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid", "softmax", "elu"])
def test_dense_forward_matches_reference_and_gradients(rng, activation):
    layer = layers.Dense(5, activation=activation, kernel_initializer="glorot_normal", bias_initializer="random_normal")
    x = rng.standard_normal((6, 7)).astype(np.float32)
    y = layer(x)
    w, b = layer.get_weights()
    z = reference.gemm(x.astype(np.float64), w.astype(np.float64), bias=b.astype(np.float64))
    if activation == "softmax":
        want = reference.softmax(z)
    else:
        want = reference.activation(activation or "linear")(z)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    check_layer_gradients(layer, x, rng)


def test_dense_on_sequences_uses_the_last_axis(rng):
    layer = layers.Dense(3, activation="tanh")
    x = rng.standard_normal((2, 4, 5)).astype(np.float32)
    assert layer(x).shape == (2, 4, 3)
    check_layer_gradients(layer, x, rng)


@pytest.mark.parametrize(
    "kw",
    [
        dict(padding="valid"),
        dict(padding="same", strides=2),
        dict(padding="same", activation="relu"),
        dict(activation="sigmoid", dilation_rate=2),
    ],
)
def test_conv2d_forward_and_gradients(rng, kw):
    layer = layers.Conv2D(4, (3, 2), bias_initializer="random_normal", **kw)
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    y = layer(x)
    w, b = layer.get_weights()
    ref = sinapse.ops.conv2d(
        x,
        w,
        b,
        strides=layer.strides,
        padding=layer.padding,
        dilation_rate=layer.dilation_rate,
        activation=kw.get("activation"),
    )
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert y.shape[1:] == layer.output_shape
    check_layer_gradients(layer, x, rng)


@pytest.mark.parametrize("cls", [layers.MaxPooling2D, layers.AveragePooling2D])
@pytest.mark.parametrize("kw", [dict(), dict(pool_size=3, strides=2, padding="same")])
def test_pooling_gradients(rng, cls, kw):
    layer = cls(**kw)
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    assert layer(x).shape[1:] == layer.output_shape
    check_layer_gradients(layer, x, rng)


@pytest.mark.parametrize("cls", [layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D])
def test_global_pooling(rng, cls):
    layer = cls()
    x = rng.standard_normal((3, 4, 5, 2)).astype(np.float32)
    reduce = np.mean if cls is layers.GlobalAveragePooling2D else np.max
    np.testing.assert_allclose(layer(x), reduce(x, axis=(1, 2)), rtol=1e-6)
    check_layer_gradients(layer, x, rng)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (layers.Flatten(), (2, 3, 4, 2)),
        (layers.Reshape((-1, 4)), (2, 3, 4)),
        (layers.ZeroPadding2D(((1, 2), (0, 3))), (2, 3, 4, 2)),
        (layers.Activation("elu"), (3, 5)),
        (layers.Activation("softmax"), (3, 5)),
        (layers.Activation("gelu"), (4, 3)),
    ],
)
def test_shape_and_activation_layers_gradients(rng, layer, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    y = layer(x)
    assert y.shape[1:] == layer.output_shape
    check_layer_gradients(layer, x, rng)


def test_zero_padding_places_the_input(rng):
    x = rng.standard_normal((1, 2, 3, 1)).astype(np.float32)
    y = layers.ZeroPadding2D(((1, 0), (2, 1)))(x)
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))))


def test_batch_normalization_gradients_and_moving_statistics(rng):
    layer = layers.BatchNormalization(gamma_initializer="random_normal", momentum=0.9)
    x = (3 + 2 * rng.standard_normal((5, 3, 2, 4))).astype(np.float32)
    check_layer_gradients(layer, x, rng, training=True)
    layer2 = layers.BatchNormalization(momentum=0.9)
    layer2.ensure_built(x.shape[1:])
    layer2.forward(x, training=True)
    mean = layer2.moving_mean.numpy()
    np.testing.assert_allclose(mean, 0.1 * x.reshape(-1, 4).mean(0), rtol=1e-5)
    layer2.forward(x, training=False)  # inference leaves the moving statistics alone
    np.testing.assert_array_equal(layer2.moving_mean.numpy(), mean)
    assert [w.name for w in layer2.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert layer2.count_params() == 16


def test_dropout_masks_match_the_reference_and_backward_reuses_them(rng):
    layer = layers.Dropout(0.4, seed=7)
    x = rng.standard_normal((8, 16)).astype(np.float32)
    layer.ensure_built(x.shape[1:])
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    y1 = layer.forward(x, training=True).copy()
    mask = reference.dropout_mask(x.shape, 0.4, layer._philox_seed, 0)
    np.testing.assert_allclose(y1, x * mask, rtol=1e-6)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dy), dy * mask, rtol=1e-6)
    y2 = layer.forward(x, training=True)
    assert not np.array_equal(y1, y2)  # a fresh mask every step


ALL_LAYERS = [
    layers.Dense(3, activation="relu", kernel_regularizer=sinapse.regularizers.L2(0.01)),
    layers.Conv2D(2, 3, strides=(1, 2), padding="same", activation="tanh"),
    layers.MaxPooling2D(pool_size=(2, 3)),
    layers.AveragePooling2D(padding="same"),
    layers.GlobalAveragePooling2D(),
    layers.Flatten(),
    layers.Dropout(0.25),
    layers.BatchNormalization(momentum=0.9),
    layers.Activation("softmax"),
    layers.ZeroPadding2D(2),
    layers.Reshape((3, -1)),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda l: type(l).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    restored = layers.deserialize(layers.serialize(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


def test_weights_get_set_and_trainable_flag(rng):
    layer = layers.Dense(4)
    layer.ensure_built((3,))
    w = [rng.standard_normal((3, 4)).astype(np.float32), np.arange(4, dtype=np.float32)]
    layer.set_weights(w)
    for got, want in zip(layer.get_weights(), w):
        np.testing.assert_array_equal(got, want)
    assert len(layer.trainable_weights) == 2
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    x = rng.standard_normal((2, 3)).astype(np.float32)
    layer.forward(x)
    before = [np.array(g) for g in (layer.kernel.grad, layer.bias.grad)]
    layer.backward(np.ones((2, 4), np.float32))  # a frozen layer computes no weight gradient
    np.testing.assert_array_equal(layer.kernel.grad, before[0])


def test_errors_name_the_layer_the_argument_and_the_shapes():
    with pytest.raises(TypeError, match="Dense: unexpected keyword argument.*'kernel_size'"):
        layers.Dense(3, kernel_size=3)
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        layers.Dense(0)
    with pytest.raises(ValueError, match=r"^Dense: `activation` must be one of .*, got 'relux'"):
        layers.Dense(3, activation="relux")
    conv = layers.Conv2D(4, 3, name="c1")
    with pytest.raises(ValueError, match=r"Conv2D layer 'c1': expects images .* got input shape \(None, 10\)"):
        conv.ensure_built((10,))
    with pytest.raises(ValueError, match=r"Conv2D layer 'c2'.*larger than the padded input"):
        layers.Conv2D(4, 5, name="c2").ensure_built((3, 3, 1))
    dense = layers.Dense(2, name="d")
    dense.ensure_built((3,))
    with pytest.raises(ValueError, match=r"'d': set_weights: weight `kernel` has shape \(3, 2\), got .* \(2, 3\)"):
        dense.set_weights([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"'d': was built for inputs of shape \(None, 3\) but receives \(None, 4\)"):
        dense.ensure_built((4,))
    with pytest.raises(ValueError, match="custom Python activations are not supported"):
        layers.Activation(np.tanh)


def test_keras1_spellings_warn_and_build_the_same_layer():
    with pytest.warns(DeprecationWarning, match="Convolution2D"):
        conv = layers.Convolution2D(32, 6, 6, border_mode="valid", input_shape=(28, 28, 1))
    assert conv.kernel_size == (6, 6) and conv.padding == "valid" and conv.filters == 32
    with pytest.warns(DeprecationWarning, match="`init` is the Keras 1 name of `kernel_initializer`"):
        dense = layers.Dense(10, init="uniform")
    assert isinstance(dense.kernel_initializer, sinapse.initializers.RandomUniform)
    dense.ensure_built((1000,))
    assert np.abs(dense.kernel.numpy()).max() <= 0.05
    with pytest.warns(DeprecationWarning, match="border_mode"):
        layers.MaxPooling2D(border_mode="same")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.Conv2D(32, (6, 6), padding="valid")  # the modern spelling does not warn


def test_initializers_have_keras_statistics():
    from sinapse import initializers

    sinapse.utils.set_random_seed(3)
    fan_in, fan_out = 400, 300
    w = initializers.get("glorot_uniform")((fan_in, fan_out))
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert w.dtype == np.float32 and np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    w = initializers.get("he_normal")((fan_in, fan_out))
    assert abs(w.std() - np.sqrt(2 / fan_in)) < 0.05 * np.sqrt(2 / fan_in)
    assert np.abs(w).max() <= 2 * np.sqrt(2 / fan_in) / 0.87962566103423978 + 1e-6  # truncated at 2 sigma
    k = initializers.get("he_uniform")((3, 3, 16, 8))  # conv fans: 3 * 3 * 16
    assert np.abs(k).max() <= np.sqrt(6 / 144)
    q = initializers.Orthogonal()((6, 6))
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-5)
    np.testing.assert_array_equal(initializers.Constant(2.5)((2,)), [2.5, 2.5])
    a = initializers.RandomNormal(seed=5)((4,))
    np.testing.assert_array_equal(a, initializers.RandomNormal(seed=5)((4,)))  # a seed repeats
    with pytest.raises(ValueError, match="unknown initializer 'he_normall'"):
        initializers.get("he_normall")


def test_to_categorical():
    y = sinapse.utils.to_categorical(np.array([[2], [0], [1]]), 4)
    np.testing.assert_array_equal(y, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    assert y.dtype == np.float32
    with pytest.raises(ValueError, match="does not fit num_classes"):
        sinapse.utils.to_categorical([5], 3)


# ---------------------------------------------------------------------------- build() (issue 11, class 9)


def _ids(rng, shape):
    return rng.integers(1, 10, shape).astype(np.float32)


# Every layer class of sinapse.layers: a factory and a Keras input shape (batch axis first).
BUILD_CASES = {
    layers.Dense: (lambda: layers.Dense(3, bias_initializer="random_normal"), (None, 4)),
    layers.Activation: (lambda: layers.Activation("tanh"), (None, 4)),
    layers.LeakyReLU: (lambda: layers.LeakyReLU(0.1), (None, 4)),
    layers.ELU: (lambda: layers.ELU(), (None, 4)),
    layers.ReLU: (lambda: layers.ReLU(max_value=6), (None, 4)),
    layers.Softmax: (lambda: layers.Softmax(), (None, 4)),
    layers.Dropout: (lambda: layers.Dropout(0.3, seed=2), (None, 4)),
    layers.Flatten: (lambda: layers.Flatten(), (None, 2, 3)),
    layers.Reshape: (lambda: layers.Reshape((3, -1)), (None, 6)),
    layers.Conv2D: (lambda: layers.Conv2D(2, 3, bias_initializer="random_normal"), (None, 6, 6, 2)),
    layers.Convolution2D: (lambda: layers.Convolution2D(filters=2, kernel_size=(3, 3)), (None, 6, 6, 2)),
    layers.ZeroPadding2D: (lambda: layers.ZeroPadding2D(1), (None, 4, 4, 2)),
    layers.MaxPooling2D: (lambda: layers.MaxPooling2D(), (None, 4, 4, 2)),
    layers.AveragePooling2D: (lambda: layers.AveragePooling2D(), (None, 4, 4, 2)),
    layers.GlobalAveragePooling2D: (lambda: layers.GlobalAveragePooling2D(), (None, 4, 4, 2)),
    layers.GlobalMaxPooling2D: (lambda: layers.GlobalMaxPooling2D(), (None, 4, 4, 2)),
    layers.BatchNormalization: (lambda: layers.BatchNormalization(), (None, 5)),
    layers.Embedding: (lambda: layers.Embedding(10, 3), (None, 5)),
    layers.Masking: (lambda: layers.Masking(), (None, 5, 3)),
    layers.SimpleRNN: (lambda: layers.SimpleRNN(4), (None, 5, 3)),
    layers.LSTM: (lambda: layers.LSTM(4), (None, 5, 3)),
    layers.GRU: (lambda: layers.GRU(4), (None, 5, 3)),
    layers.InputLayer: (lambda: layers.InputLayer(input_shape=(4,)), (None, 4)),
    layers.DepthwiseConv2D: (
        lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, bias_initializer="random_normal"),
        (None, 6, 6, 2),
    ),
    layers.SeparableConv2D: (lambda: layers.SeparableConv2D(3, 3, bias_initializer="random_normal"), (None, 6, 6, 2)),
    layers.Conv2DTranspose: (
        lambda: layers.Conv2DTranspose(2, 3, strides=2, padding="same", bias_initializer="random_normal"),
        (None, 3, 3, 2),
    ),
    layers.Conv1D: (lambda: layers.Conv1D(2, 3, padding="causal", bias_initializer="random_normal"), (None, 6, 2)),
    layers.LayerNormalization: (lambda: layers.LayerNormalization(axis=[1, 2]), (None, 3, 4)),
    layers.GroupNormalization: (lambda: layers.GroupNormalization(groups=2), (None, 3, 3, 4)),
    layers.UpSampling2D: (lambda: layers.UpSampling2D(2, interpolation="bilinear"), (None, 3, 4, 2)),
    layers.Cropping2D: (lambda: layers.Cropping2D(((1, 0), (0, 2))), (None, 4, 5, 2)),
    layers.Resizing: (lambda: layers.Resizing(5, 3), (None, 4, 4, 2)),
    layers.CenterCrop: (lambda: layers.CenterCrop(2, 3), (None, 4, 4, 2)),
    layers.Rescaling: (lambda: layers.Rescaling(1 / 255, offset=-0.5), (None, 4, 4, 2)),
    layers.Bidirectional: (lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True)), (None, 5, 3)),
    layers.TimeDistributed: (lambda: layers.TimeDistributed(layers.Dense(3)), (None, 5, 3)),
    layers.MaxPooling1D: (lambda: layers.MaxPooling1D(), (None, 6, 2)),
    layers.AveragePooling1D: (lambda: layers.AveragePooling1D(3, 2, "same"), (None, 6, 2)),
    layers.GlobalAveragePooling1D: (lambda: layers.GlobalAveragePooling1D(), (None, 6, 2)),
    layers.GlobalMaxPooling1D: (lambda: layers.GlobalMaxPooling1D(keepdims=True), (None, 6, 2)),
    layers.Permute: (lambda: layers.Permute((2, 1)), (None, 6, 2)),
    layers.RepeatVector: (lambda: layers.RepeatVector(3), (None, 4)),
    layers.PReLU: (lambda: layers.PReLU(shared_axes=[1]), (None, 3, 4)),
    layers.SpatialDropout1D: (lambda: layers.SpatialDropout1D(0.3, seed=1), (None, 5, 3)),
    layers.SpatialDropout2D: (lambda: layers.SpatialDropout2D(0.3, seed=1), (None, 4, 4, 3)),
    layers.SpatialDropout3D: (lambda: layers.SpatialDropout3D(0.3, seed=1), (None, 2, 4, 4, 3)),
    layers.GaussianNoise: (lambda: layers.GaussianNoise(0.1, seed=1), (None, 4)),
    layers.ActivityRegularization: (lambda: layers.ActivityRegularization(l2=0.1), (None, 4)),
    layers.RandomFlip: (lambda: layers.RandomFlip(seed=1), (None, 5, 4, 2)),
    layers.RandomCrop: (lambda: layers.RandomCrop(3, 2, seed=1), (None, 5, 4, 2)),
    layers.RandomTranslation: (lambda: layers.RandomTranslation(0.2, 0.1, seed=1), (None, 5, 4, 2)),
    layers.RandomRotation: (lambda: layers.RandomRotation(0.1, seed=1), (None, 5, 4, 2)),
    layers.RandomZoom: (lambda: layers.RandomZoom(0.2, seed=1), (None, 5, 4, 2)),
    layers.RandomContrast: (lambda: layers.RandomContrast(0.3, value_range=(0, 1), seed=1), (None, 5, 4, 2)),
    layers.RandomBrightness: (lambda: layers.RandomBrightness(0.2, value_range=(0, 1), seed=1), (None, 5, 4, 2)),
}


def test_build_cases_cover_every_layer_class():
    classes = {
        obj
        for obj in vars(layers).values()
        if isinstance(obj, type)
        and issubclass(obj, layers.Layer)
        and obj is not layers.Layer
        # multi-input layers build from a list of shapes: tests/test_merge_layers.py covers them
        and not getattr(obj, "multi_input", False)
    }
    assert classes == set(BUILD_CASES), "add the new layer class to BUILD_CASES"


@pytest.mark.parametrize("cls", list(BUILD_CASES), ids=lambda c: c.__name__)
def test_build_is_idempotent_sets_built_and_keeps_set_weights(rng, cls):
    make, shape = BUILD_CASES[cls]
    x = (_ids if cls is layers.Embedding else lambda r, s: r.standard_normal(s).astype(np.float32))(
        rng, (3, *shape[1:])
    )
    layer = make()
    layer.build(shape)
    assert layer.built and layer.input_shape == shape[1:]
    weights, count = layer.weights, layer.count_params()
    layer.build(shape)  # again: nothing new
    assert [id(w) for w in layer.weights] == [id(w) for w in weights] and layer.count_params() == count
    values = [rng.standard_normal(w.shape).astype(np.float32) + 2 for w in weights]
    if cls is layers.BatchNormalization:
        values[3] = np.abs(values[3])  # a variance
    layer.set_weights(values)
    y = layer(x)
    assert len(layer.weights) == len(weights) and layer.count_params() == count  # the call did not build again
    for got, want in zip(layer.get_weights(), values):
        np.testing.assert_array_equal(got, want)
    twin = make()  # built by its first call, then given the same values: the same outputs
    twin(x)
    twin.set_weights(values)
    np.testing.assert_allclose(y, twin(x), rtol=1e-6, atol=1e-6)
    other = (*shape[:-1], shape[-1] + 1)
    with pytest.raises(
        ValueError,
        match=rf"^{cls.__name__}\.build: layer .* is already built for inputs of shape "
        rf"\(None, .*\), got `input_shape`=\(None, ",
    ):
        layer.build(other)
    assert layer.weights == weights


def test_dense_build_then_set_weights_then_call_the_issue_example(tmp_path):
    layer = layers.Dense(3)
    layer.build((None, 4))
    kernel, bias = np.arange(12, dtype=np.float32).reshape(4, 3), np.array([1, 2, 3], np.float32)
    layer.set_weights([kernel, bias])
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(layer(x), x @ kernel + bias)
    assert len(layer.weights) == 2 and layer.count_params() == 15
    model = sinapse.Sequential([layer])
    model.save(tmp_path / "m.safetensors")
    np.testing.assert_allclose(sinapse.models.load_model(tmp_path / "m.safetensors").predict(x), x @ kernel + bias)


@pytest.mark.parametrize(
    "bad, err",
    [
        (4, TypeError),
        (None, TypeError),
        ((), ValueError),
        ("4", TypeError),
        ((None, -1), ValueError),
        ((None, "a"), TypeError),
        ((None, 4.5), TypeError),
        ((None, True), TypeError),
        ((0, 4), ValueError),
    ],
)
def test_build_rejects_shapes_without_a_batch_axis(bad, err):
    with pytest.raises(err, match=r"^Dense\.build: `input_shape` must"):
        layers.Dense(3).build(bad)


def test_subclass_build_calling_super_build():
    class Scaled(layers.Dense):
        def build(self, input_shape):
            super().build(input_shape)
            self.scale = self.add_weight("scale", (1,), "ones")

    layer = Scaled(2)
    layer.build((None, 3))
    layer.build((None, 3))
    assert [w.name for w in layer.weights] == ["kernel", "bias", "scale"] and layer.built


# ---------------------------------------------------------------------------- shape arguments (one helper)

SHAPE_CASES = [
    (
        lambda: layers.Input((4.5,)),
        TypeError,
        r"^Input: `shape` must be a tuple of positive ints or None, got \(4\.5,\)",
    ),
    (lambda: layers.Input("4"), TypeError, r"^Input: `shape` must be a tuple .*got '4' \(str\)"),
    (lambda: layers.Input(4), TypeError, r"^Input: `shape` must be a tuple .*got 4 \(int\); write \(4,\)"),
    (lambda: layers.Input((True,)), TypeError, r"^Input: `shape` .*entry 0 is a bool"),
    (lambda: layers.Input((np.float32(4),)), TypeError, r"^Input: `shape` .*entry 0 is a float32"),
    (lambda: layers.Input((0,)), ValueError, r"^Input: `shape` must be a tuple of positive ints"),
    (lambda: layers.Input((-1, 4)), ValueError, r"^Input: `shape` must be a tuple of positive ints"),
    (lambda: layers.Input((2**31,)), ValueError, r"^Input: `shape` .*sizes from 1 to 2147483647"),
    (lambda: layers.Input((4,), batch_size=0), ValueError, r"^Input: `batch_size` must be a positive integer"),
    (lambda: layers.Input((4,), batch_size=2.0), TypeError, r"^Input: `batch_size` must be a positive integer"),
    (lambda: layers.Input(batch_shape=(None, 4.5)), TypeError, r"^Input: `batch_shape` must be a tuple"),
    (lambda: layers.Input(batch_shape=(0, 4)), ValueError, r"^Input: `batch_shape` must be a tuple"),
    (lambda: layers.InputLayer(shape=(4.5,)), TypeError, r"^InputLayer: `shape` must be a tuple"),
    (lambda: layers.InputLayer(input_shape=(4,), batch_size=-1), ValueError, r"^InputLayer: `batch_size` must be"),
    (lambda: layers.Dense(3, input_shape=(4.5,)), TypeError, r"^Dense: `input_shape` must be a tuple"),
    (lambda: layers.Dense(3, input_shape=4), TypeError, r"^Dense: `input_shape` must be a tuple"),
    (lambda: layers.Dense(3, input_dim=4.5), TypeError, r"^Dense: `input_dim` must be a positive integer"),
    (lambda: layers.Dense(3, input_dim=True), TypeError, r"^Dense: `input_dim` must be a positive integer"),
    (lambda: layers.Dense(3, input_dim=0), ValueError, r"^Dense: `input_dim` must be a positive integer"),
    (lambda: layers.Dense(3, batch_input_shape=(None, "4")), TypeError, r"^Dense: `batch_input_shape` must be"),
    (lambda: layers.Dense(3, batch_input_shape=(None, 0)), ValueError, r"^Dense: `batch_input_shape` must be"),
    (lambda: layers.Reshape((2.0, 2)), TypeError, r"^Reshape: `target_shape` must be a tuple of positive ints or -1"),
    (lambda: layers.Reshape(4), TypeError, r"^Reshape: `target_shape` must be a tuple"),
    (lambda: layers.Reshape((0, 2)), ValueError, r"^Reshape: `target_shape` must be a tuple of positive ints or -1"),
    (lambda: layers.Reshape((None, 2)), TypeError, r"^Reshape: `target_shape` must be a tuple"),
    (lambda: layers.Reshape((-1, -1)), ValueError, r"^Reshape: `target_shape` may hold at most one -1"),
]


@pytest.mark.parametrize("make, err, message", SHAPE_CASES)
def test_shape_arguments_refuse_non_int_and_non_positive_entries(make, err, message):
    with pytest.raises(err, match=message):
        make()


def test_valid_shape_arguments_still_work():
    # Input returns Keras's symbolic tensor: its shape has the batch axis first (issue 14)
    assert layers.Input((None, np.int64(4))).shape == (None, None, 4)
    assert layers.Input([28, 28, 1], batch_size=np.int32(8)).shape == (8, 28, 28, 1)
    assert layers.Input(batch_shape=(32, 4)).shape == (32, 4)
    assert layers.Dense(3, input_dim=np.int64(4))._declared_input_shape == (4,)
    assert layers.Reshape([np.int64(-1), 2]).target_shape == (-1, 2)


# ---------------------------------------------------------------------------- registry and from_config


@pytest.mark.parametrize("name", ["_GlobalPooling2D", "_Pooling2D"])
def test_private_layer_classes_cannot_be_loaded(name):
    with pytest.raises(ValueError, match=rf"^unknown layer class '{name}'; known: ") as info:
        layers.deserialize({"class_name": name, "config": {}})
    known = str(info.value).split("known: ")[1].split(", ")
    assert "Dense" in known and not any(k.startswith("_") for k in known)


def test_private_layer_class_inside_a_model_config_is_refused():
    import json

    model = sinapse.Sequential([layers.Input((4, 4, 2)), layers.GlobalMaxPooling2D()])
    config = {"class_name": "Sequential", "config": model.get_config()}
    text = json.dumps(config).replace('"GlobalMaxPooling2D"', '"_GlobalPooling2D"')
    assert "_GlobalPooling2D" in text
    with pytest.raises(ValueError, match="unknown layer class '_GlobalPooling2D'"):
        sinapse.Sequential.from_config(json.loads(text)["config"])


@pytest.mark.parametrize("value", [5, None, "dense", {"class_name": "Dense"}])
def test_serialize_refuses_non_layers(value):
    with pytest.raises(TypeError, match=r"^serialize: `layer` must be a Layer, got "):
        layers.serialize(value)


@pytest.mark.parametrize(
    "cls, config, message",
    [
        (layers.Dense, {}, r"^Dense\.from_config: missing the required argument `units`"),
        (layers.Conv2D, {"filters": 2}, r"^Conv2D\.from_config: missing the required argument `kernel_size`"),
        (layers.Reshape, {}, r"^Reshape\.from_config: missing the required argument `target_shape`"),
        (layers.Dense, [("units", 3)], r"^Dense\.from_config: `config` must be a dict"),
        (layers.Dense, {"units": 3, "colour": 1}, r"^Dense: unexpected keyword argument\(s\) 'colour'"),
    ],
)
def test_from_config_errors_name_the_class_and_the_argument(cls, config, message):
    with pytest.raises(TypeError, match=message):
        cls.from_config(config)
    with pytest.raises(TypeError, match=message):
        layers.deserialize({"class_name": cls.__name__, "config": config})


# ---------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["weights/0/0\n\x00", "a/b", "/", "tab\there", "nul\x00", "bell\x07", "", 5, b"x"])
@pytest.mark.parametrize(
    "make",
    [lambda n: layers.Dense(3, name=n), lambda n: layers.Input((4,), name=n), lambda n: sinapse.Sequential(name=n)],
)
def test_names_with_slashes_or_control_characters_are_refused(make, name):
    with pytest.raises(
        ValueError,
        match=r"^(Dense|InputLayer|Sequential): `name` must be a non-empty string of "
        r"printable characters without '/'",
    ):
        make(name)


def test_name_refused_when_loading_a_layer_config():
    with pytest.raises(ValueError, match=r"^Dense: `name` must be"):
        layers.deserialize({"class_name": "Dense", "config": {"units": 3, "name": "weights/0"}})
    assert layers.Dense(3, name="dense-é 1.x").name == "dense-é 1.x"


# ---------------------------------------------------------------------------- house-form argument messages


@pytest.mark.parametrize(
    "make, err, message",
    [
        (lambda: layers.Dropout(1.5), ValueError, r"^Dropout: `rate` must be a number in \[0, 1\), got 1\.5"),
        (lambda: layers.Dropout(0.5, noise_shape=(1, 2)), ValueError, r"^Dropout: `noise_shape` is not supported"),
        (lambda: layers.Flatten(data_format="channels_first"), ValueError, r"^Flatten: `data_format` must be"),
        (lambda: layers.Conv2D(2, 3, data_format="channels_first"), ValueError, r"^Conv2D: `data_format` must be"),
        (lambda: layers.Conv2D(3, 3, groups=2), ValueError, r"^Conv2D: `groups`=2 must divide `filters`=3"),
        (lambda: layers.MaxPooling2D(data_format="x"), ValueError, r"^MaxPooling2D: `data_format` must be"),
        (
            lambda: layers.GlobalAveragePooling2D(data_format="x"),
            ValueError,
            r"^GlobalAveragePooling2D: `data_format` must be",
        ),
        (lambda: layers.ZeroPadding2D("x"), ValueError, r"^ZeroPadding2D: `padding` must be an int"),
        (lambda: layers.Masking("x"), ValueError, r"^Masking: `mask_value` must be a number, got 'x'"),
        (lambda: layers.BatchNormalization(axis="x"), ValueError, r"^BatchNormalization: `axis` must be an int"),
        (lambda: layers.BatchNormalization(momentum=2), ValueError, r"^BatchNormalization: `momentum` must be in"),
        (
            lambda: layers.BatchNormalization(momentum="0.9"),
            TypeError,
            r"^BatchNormalization: `momentum` must be a real",
        ),
        (lambda: layers.BatchNormalization(epsilon=0), ValueError, r"^BatchNormalization: `epsilon` must be positive"),
        (
            lambda: layers.BatchNormalization(epsilon=float("inf")),
            ValueError,
            r"^BatchNormalization: `epsilon` must be",
        ),
        (
            lambda: layers.BatchNormalization(beta_constraint="nonneg"),
            ValueError,
            r"^BatchNormalization: `beta_constraint`: constraints.get: unknown constraint .nonneg.",
        ),
        (lambda: layers.LSTM(2, implementation=3), ValueError, r"^LSTM: `implementation` must be 1 or 2, got 3"),
        (lambda: layers.GRU(2, time_major=True), ValueError, r"^GRU: `time_major` must be False"),
        (
            lambda: layers.Dense(2, activity_regularizer="l3"),  # supported since issue 16; a bad one is refused
            ValueError,
            r"^Dense: `activity_regularizer`: unknown regularizer 'l3'",
        ),
        (
            lambda: layers.Dense(2, kernel_constraint=5),
            TypeError,
            r"^Dense: `kernel_constraint`: constraints.get: cannot interpret 5",
        ),
        (lambda: layers.Dense(2, activation=5), ValueError, r"^Dense: `activation` must be a name"),
        (lambda: layers.Activation("nope"), ValueError, r"^Activation: `activation` must be one of .*got 'nope'"),
    ],
)
def test_layer_argument_errors_use_the_house_form(make, err, message):
    with pytest.raises(err, match=message):
        make()
