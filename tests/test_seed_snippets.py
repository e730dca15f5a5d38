"""The seed course notes' Keras snippets (docs/seed_models.md §9), ported line by line: only
the import changes (`keras` / `tensorflow.keras` -> `sinapse`), plus the fixes §9 lists for
extraction typos. Run on a small slice: Fashion-MNIST when installed, else synthetic images
with the same shapes and dtypes (uint8 28x28, labels 0-9)."""

import warnings

import numpy as np
import pytest

import sinapse

SLICE = 600


def fashion_slice():
    """((X_train_full, y_train_full), (X_test, y_test)) as load_data gives them, but small."""
    try:
        (x, y), (xt, yt) = sinapse.datasets.fashion_mnist.load_data()
        return (x[:SLICE], y[:SLICE]), (xt[:200], yt[:200])
    except OSError:  # not installed here: learnable synthetic stand-in (class = brightest quadrant band)
        rng = np.random.default_rng(0)

        def make(n):
            y = rng.integers(0, 10, n).astype(np.uint8)
            x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
            for i, c in enumerate(y):
                x[i, (c % 5) * 5 : (c % 5) * 5 + 5, (c // 5) * 14 : (c // 5) * 14 + 14] = 250
            return x, y

        return make(SLICE), make(200)


@pytest.fixture
def fashion(monkeypatch):
    data = fashion_slice()
    monkeypatch.setattr(sinapse.datasets.fashion_mnist, "load_data", lambda *a, **k: data)
    monkeypatch.setattr(sinapse.datasets.mnist, "load_data", lambda *a, **k: data)
    return data


def test_s000_fashion_mlp_compile_fit_evaluate_save_load_predict(fashion, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keras = sinapse  # from tensorflow import keras
    fashion_mnist = keras.datasets.fashion_mnist
    (X_train_full, y_train_full), (X_test, y_test) = fashion_mnist.load_data()
    X_valid, X_train = X_train_full[:100] / 255.0, X_train_full[100:] / 255.0
    y_valid, y_train = y_train_full[:100], y_train_full[100:]
    class_names = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
    assert class_names[y_train[0]]
    model = keras.models.Sequential(
        [
            keras.layers.Flatten(input_shape=[28, 28]),
            keras.layers.Dense(300, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=3, validation_data=(X_valid, y_valid), verbose=0)
    assert history.epoch == [0, 1, 2] and history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
    model.save("myModel")
    model = keras.models.load_model("myModel")
    X_new = X_test[:3]
    y_proba = model.predict(X_new, verbose=0)
    y_pred = model.predict_classes(X_new)
    assert y_proba.shape == (3, 10) and np.allclose(y_proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(y_pred, y_proba.argmax(axis=1))
    assert model.evaluate(X_test, y_test, verbose=0)[1] == pytest.approx(accuracy)


def test_s000_first_sequential_and_dropout_mlp(fashion):
    from sinapse.layers import Activation, Dense  # from keras.layers import Dense, Activation
    from sinapse.models import Sequential  # from keras.models import Sequential

    keras = sinapse
    model = Sequential(
        [
            Dense(32, input_shape=(784,)),
            Activation("relu"),
            Dense(10),
            Activation("softmax"),
        ]
    )
    assert model.count_params() == 784 * 32 + 32 + 330
    model = keras.models.Sequential(
        [
            keras.layers.Flatten(input_shape=[28, 28]),
            keras.layers.Dropout(rate=0.2),
            keras.layers.Dense(300, activation="elu", kernel_initializer="he_normal"),
            keras.layers.Dense(100, activation="elu", kernel_initializer="he_normal"),
            keras.layers.Dense(100, activation="elu", kernel_initializer="he_normal"),
            keras.layers.Dense(100, activation="softmax"),
        ]
    )
    (x, y), _ = keras.datasets.fashion_mnist.load_data()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(x / 255.0, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_s004_keras_mnist_convnet(fashion):
    keras = sinapse  # from tensorflow import keras
    layers = sinapse.layers  # from tensorflow.keras import layers
    num_classes = 10
    input_shape = (28, 28, 1)
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.summary(print_fn=lambda *a, **k: None)
    assert model.count_params() == 34826
    batch_size = 128
    epochs = 2
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0)
    score = model.evaluate(x_test, y_test, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] and 0.0 <= score[1] <= 1.0


def test_s000_transfer_learning(fashion, tmp_path):
    keras = sinapse
    (x, y), _ = keras.datasets.fashion_mnist.load_data()
    x = x / 255.0
    model_A = keras.models.Sequential(
        [
            keras.layers.Flatten(input_shape=[28, 28]),
            keras.layers.Dense(30, activation="relu"),
            keras.layers.Dense(8, activation="softmax"),
        ]
    )
    model_A.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    keep = y < 8
    model_A.fit(x[keep], y[keep], epochs=1, verbose=0)
    model_A.save(str(tmp_path / "my_model_A.hs"))
    model_A = keras.models.load_model(str(tmp_path / "my_model_A.hs"))
    model_A_clone = keras.models.clone_model(model_A)
    model_A_clone.set_weights(model_A.get_weights())
    model_B_on_A = keras.models.Sequential(model_A.layers[:-1])
    model_B_on_A.add(keras.layers.Dense(1, activation="sigmoid"))
    for layer in model_B_on_A.layers[:-1]:
        layer.trainable = False
    frozen = [w.copy() for w in model_B_on_A.layers[1].get_weights()]
    model_B_on_A.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    y_b = (y >= 5).astype(np.float32)
    model_B_on_A.fit(x, y_b, epochs=2, verbose=0)
    for before, after in zip(frozen, model_B_on_A.layers[1].get_weights()):
        np.testing.assert_array_equal(before, after)  # frozen layers untouched
    for a, b in zip(model_A_clone.get_weights(), model_A.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_s001_convolution2d_keras1_spelling(fashion):
    from sinapse.layers import (  # from keras.layers import ...
        Activation,
        Convolution2D,  # from keras.layers.convolutional import Convolution2D
        Dense,
        Flatten,
        MaxPooling2D,  # from keras.layers.convolutional import MaxPooling2D
    )
    from sinapse.models import Sequential

    (X_treino, y_treino), (X_teste, y_teste) = sinapse.datasets.mnist.load_data()
    num_filtros = 32
    num_conv = 6
    num_pool = 4
    numero_classes_categoricas = 10
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        modelo = Sequential()
        modelo.add(Convolution2D(num_filtros, num_conv, num_conv, border_mode="valid", input_shape=(28, 28, 1)))
        modelo.add(Activation("relu"))
        modelo.add(Convolution2D(num_filtros, num_conv, num_conv))
        modelo.add(MaxPooling2D(pool_size=(num_pool, num_pool)))
        modelo.add(Flatten())
        modelo.add(Dense(100, activation="relu"))
        modelo.add(Dense(numero_classes_categoricas, activation="softmax"))
    assert any(issubclass(w.category, DeprecationWarning) and "border_mode" in str(w.message) for w in caught)
    assert modelo.count_params() == 90390
    modelo.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    x = X_treino[:256, :, :, None].astype("float32") / 255
    history = modelo.fit(x, sinapse.utils.to_categorical(y_treino[:256], 10), epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
