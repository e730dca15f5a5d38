"""What bench cuda_profile runs under the profiler: one training step of each seed model at its
recipe's batch size, plus models of the later lessons' layers, so that every CUDA kernel of
sinapse runs at least once at a shape a course uses (the ``naive`` variants through the
registry's environment overrides, ``naive_variants``).

Each workload is (name, what it is, ``build(batch=None)``: builds the model and data — at the
recipe's batch size unless ``batch`` is given — and returns the step to profile). Inputs are random: what a kernel costs does not depend on the values.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

import sinapse
from sinapse import layers
from sinapse.applications import seeds
from sinapse.registry import OPS


def _step(model, x, y, optimizer="adam", loss="sparse_categorical_crossentropy"):
    model.compile(optimizer=optimizer, loss=loss)
    return lambda: model.train_on_batch(x, y)


def _images(batch, shape, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, *shape), dtype=np.float32), rng.integers(0, classes, batch).astype(np.int32)


def seed_model(name: str, shape=(28, 28, 1)):
    recipe = seeds.RECIPES[name]

    def build(batch=None):
        model = seeds.build(name, input_shape=shape, classes=10)
        x, y = _images(batch or recipe.batch_size, shape)
        return _step(model, x, y, optimizer=recipe.optimizer)

    return build


def char_lstm():
    """docs/seed_models.md §7: LSTM(256) over 100 one-hot characters (76), batch 64."""
    from sinapse import char_model

    def build(batch=None):
        model = char_model.build(76, char_model.HIDDEN, char_model.SEQ_LEN)
        rng = np.random.default_rng(0)
        batch = batch or char_model.BATCH_SIZE
        ids = rng.integers(0, 76, (batch, char_model.SEQ_LEN))
        x = np.eye(76, dtype=np.float32)[ids]
        y = rng.integers(0, 76, (batch, char_model.SEQ_LEN)).astype(np.int32)
        return _step(model, x, y)

    return build


def text_classifier():
    """Embedding, Bidirectional GRU, SimpleRNN, merge, LayerNormalization (sentiment-style, batch 32)."""

    def build(batch=None):
        tokens = sinapse.Input((40,))
        e = layers.Embedding(2000, 64)(tokens)
        a = layers.Bidirectional(layers.GRU(32, return_sequences=True))(e)
        b = layers.SimpleRNN(64, return_sequences=True)(e)
        h = layers.Add()([a, b])
        h = layers.LayerNormalization()(h)
        h = layers.Concatenate()(
            [layers.GlobalAveragePooling1D()(h), layers.LSTM(16, dropout=0.2, recurrent_dropout=0.2)(h)]
        )
        out = layers.Dense(2, activation="softmax")(h)
        model = sinapse.Model(tokens, out)
        rng = np.random.default_rng(0)
        x = rng.integers(0, 2000, (batch or 32, 40)).astype(np.float32)
        y = rng.integers(0, 2, batch or 32).astype(np.int32)
        return _step(model, x, y, optimizer="rmsprop")

    return build


def mobilenet_block():
    """Depthwise-separable convolutions with augmentation and the newer layers (CIFAR-sized, batch 32)."""

    def build(batch=None):
        model = sinapse.Sequential(
            [
                sinapse.Input((32, 32, 3)),
                layers.RandomFlip("horizontal"),
                layers.Conv2D(16, 3, padding="same"),  # trainable below the augmentation: its backward runs
                layers.RandomTranslation(0.1, 0.1),
                layers.RandomContrast(0.2),
                layers.RandomBrightness(0.2),
                layers.Rescaling(0.5),
                layers.Conv2D(32, 3, strides=2, padding="same"),
                layers.PReLU(),
                layers.DepthwiseConv2D(3, padding="same"),
                layers.GroupNormalization(groups=8),
                layers.SpatialDropout2D(0.1),
                layers.Conv2D(64, 1),
                layers.GaussianNoise(0.1),
                layers.AveragePooling2D(2),
                layers.UpSampling2D(2, interpolation="bilinear"),
                layers.Cropping2D(2),
                layers.GlobalAveragePooling2D(),
                layers.Dense(10, activation="softmax"),
            ]
        )
        x, y = _images(batch or 32, (32, 32, 3))
        return _step(model, x, y, optimizer="adadelta")

    return build


def conv_autoencoder():
    """Seed 002's convolutional autoencoder: Conv2D + pooling down, Conv2DTranspose up (batch 128), SGD with
    gradient clipping and Adagrad."""

    def build(batch=None):
        model = sinapse.Sequential(
            [
                sinapse.Input((28, 28, 1)),
                layers.Conv2D(16, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(2),
                layers.Conv2D(8, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(2),
                layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
                layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
                layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
            ]
        )
        x, _ = _images(batch or 128, (28, 28, 1))
        x = 1 / (1 + np.exp(-x))
        model.compile(optimizer=sinapse.optimizers.SGD(0.01, clipnorm=1.0), loss="binary_crossentropy")
        return lambda: model.train_on_batch(x, x)

    return build


def adagrad_mlp():
    """An MLP with layer and batch normalization (training and inference), a softmax layer trained
    with MSE, Adagrad."""

    def build(batch=None):
        model = sinapse.Sequential(
            [
                sinapse.Input((28, 28, 1)),
                layers.Flatten(),
                layers.LayerNormalization(),  # rows of 784: a warp per row
                layers.Dense(2048, activation="relu"),
                layers.LayerNormalization(),  # rows of 2,048: the block-per-row kernels
                layers.BatchNormalization(),
                layers.Dense(10),
                layers.Softmax(),  # trained with MSE: the softmax's own backward runs
            ]
        )
        x, y = _images(batch or 32, (28, 28, 1))
        target = np.eye(10, dtype=np.float32)[y]
        model.compile(optimizer="adagrad", loss="mse")
        return lambda: (model.train_on_batch(x, target), model.test_on_batch(x, target))

    return build


def gradient_clipping():
    """Keras's clipping ops on the MLP's gradients: clip_by_value, clip_by_norm, clip_by_global_norm."""

    def build(batch=None):
        rng = np.random.default_rng(0)
        grads = [rng.standard_normal(shape, dtype=np.float32) for shape in ((784, 300), (300,), (300, 100), (100,))]

        def step():
            sinapse.ops.clip_by_value(grads[0], 0.1)
            sinapse.ops.clip_by_norm(grads[1], 1.0)
            sinapse.ops.clip_by_global_norm(grads, 1.0)

        return step

    return build


WORKLOADS = [
    ("mlp", "seed 000 MLP, batch 32, SGD", seed_model("mlp")),
    ("keras_mnist_cnn", "seed 004 Keras MNIST CNN, batch 128, Adam", seed_model("keras_mnist_cnn")),
    ("lenet5", "seed 000/002 LeNet-5, batch 128, Adam", seed_model("lenet5")),
    ("geron_cnn", "seed 000 Géron's Fashion-MNIST CNN, batch 128, Adam", seed_model("geron_cnn")),
    ("char_lstm", "seed 003 character LSTM(256), 64 x 100 steps, Adam", char_lstm()),
    ("conv_autoencoder", "seed 002 convolutional autoencoder, batch 128, SGD + clipnorm", conv_autoencoder()),
    ("text_classifier", "Embedding + BiGRU + SimpleRNN + LayerNorm + LSTM, batch 32, RMSprop", text_classifier()),
    ("mobilenet_block", "augmentation + depthwise-separable block + GroupNorm, batch 32, Adadelta", mobilenet_block()),
    ("adagrad_mlp", "MLP + LayerNorm + BatchNorm (train and inference) + Softmax, batch 32, Adagrad", adagrad_mlp()),
    (
        "gradient_clipping",
        "clip_by_value / clip_by_norm / clip_by_global_norm on the MLP's gradients",
        gradient_clipping(),
    ),
]

# The other variants (the lab's starting points) run some workloads again: every family's naive variant, and the
# blocked GEMM.
NAIVE_WORKLOADS = (
    "mlp",
    "lenet5",
    "char_lstm",
    "mobilenet_block",
    "text_classifier",
    "adagrad_mlp",
    "conv_autoencoder",
)
BLOCKED_WORKLOADS = ("mlp",)
_VARIANT_ENV = tuple(info.env_var for info in OPS.values() if info.env_var and "naive" in info.variants)


@contextlib.contextmanager
def blocked_gemm():
    """The blocked GEMM (shared-memory tiles), through SINAPSE_GEMM."""
    saved = os.environ.get("SINAPSE_GEMM")
    os.environ["SINAPSE_GEMM"] = "blocked"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SINAPSE_GEMM", None)
        else:
            os.environ["SINAPSE_GEMM"] = saved


#: (label suffix, context manager, workload names) of each pass bench cuda_profile makes.
PASSES = (
    ("", lambda: no_variants(), None),
    (" (naive variants)", lambda: naive_variants(), NAIVE_WORKLOADS),
    (" (blocked GEMM)", lambda: blocked_gemm(), BLOCKED_WORKLOADS),
)


@contextlib.contextmanager
def naive_variants():
    """Every op family's ``naive`` variant, through the registry's environment overrides."""
    saved = {k: os.environ.get(k) for k in _VARIANT_ENV}
    os.environ.update({k: "naive" for k in _VARIANT_ENV})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def no_variants():
    """The default variants (nothing overridden)."""
    yield
