"""compile / fit / evaluate / train_on_batch: learning, Keras's data semantics, reproducibility,
and the same training steps on the CUDA kernels (simulated) as on the CPU."""

import numpy as np
import pytest

import sinapse
from keras_helpers import blobs
from sinapse import layers, losses
from sinapse.models import Sequential
from sinapse.optimizers import SGD


def mlp(d, classes, activation="softmax", dropout=0.0):
    return Sequential(
        [
            layers.Dense(32, activation="relu", input_shape=(d,)),
            layers.Dropout(dropout),
            layers.Dense(classes, activation=activation),
        ]
    )


def small_convnet():
    return Sequential(
        [
            layers.Input(shape=(8, 8, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(6, 2, padding="same", activation="tanh"),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )


def images(n, rng):
    """Three classes of 8x8 images: a bright row, a bright column, or a bright diagonal."""
    y = rng.integers(0, 3, n)
    x = 0.3 * rng.random((n, 8, 8, 1))
    pos = rng.integers(1, 7, n)
    for i in range(n):
        if y[i] == 0:
            x[i, pos[i], :, 0] += 1
        elif y[i] == 1:
            x[i, :, pos[i], 0] += 1
        else:
            x[i, np.arange(8), np.arange(8), 0] += 1
    return x, y


def test_mlp_fit_reaches_high_accuracy_and_history_is_keras_shaped(rng):
    sinapse.utils.set_random_seed(1)
    x, y = blobs(600, 10, 4, rng)
    model = mlp(10, 4, dropout=0.1)
    model.compile(SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2, verbose=0)
    assert history.epoch == [0, 1, 2, 3, 4]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["val_accuracy"][-1] > 0.95
    assert model.history is history
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.95 and loss < history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}


def test_convnet_fit_with_one_hot_labels(rng):
    sinapse.utils.set_random_seed(2)
    x, y = images(300, rng)
    model = small_convnet()
    model.compile(SGD(0.1, momentum=0.9), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, sinapse.utils.to_categorical(y, 3), epochs=6, batch_size=16, verbose=0)
    assert model.evaluate(x, sinapse.utils.to_categorical(y, 3), verbose=0)[1] > 0.9


def test_validation_split_takes_the_last_samples_before_shuffling(rng):
    x, y = blobs(100, 4, 2, rng)
    model = mlp(4, 2)
    model.compile(SGD(0.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=1, validation_split=0.3, verbose=0)
    loss_tail, acc_tail = model.evaluate(x[70:], y[70:], verbose=0)  # lr 0: the weights did not move
    assert h.history["val_loss"][0] == pytest.approx(loss_tail, rel=1e-6)
    assert h.history["val_accuracy"][0] == pytest.approx(acc_tail)


def test_inputs_are_converted_and_labels_checked(rng):
    x8 = rng.integers(0, 255, (40, 5), dtype=np.uint8)
    model = mlp(5, 3)
    model.compile(SGD(0.01), "categorical_crossentropy")
    with pytest.raises(ValueError, match="use loss='sparse_categorical_crossentropy'"):
        model.fit(x8, rng.integers(0, 3, 40), verbose=0)
    model.fit(x8, sinapse.utils.to_categorical(rng.integers(0, 3, 40), 3), verbose=0)  # uint8 in, one-hot labels
    model.compile(SGD(0.01), "sparse_categorical_crossentropy")
    model.fit(x8.astype(np.float64), rng.integers(0, 3, (40, 1)), verbose=0)  # float64, (N, 1) labels
    with pytest.raises(ValueError, match="`x` has 40 samples but `y` has 39"):
        model.fit(x8, rng.integers(0, 3, 39), verbose=0)


def test_fused_softmax_head_matches_a_separate_softmax_layer(rng):
    """Dense(softmax) + CE trains through (p - y); Dense + Activation('softmax') + CE through the Jacobian."""
    x, y = blobs(64, 5, 3, rng)
    a = Sequential([layers.Dense(8, activation="tanh", input_shape=(5,)), layers.Dense(3, activation="softmax")])
    b = Sequential(
        [layers.Dense(8, activation="tanh", input_shape=(5,)), layers.Dense(3), layers.Activation("softmax")]
    )
    b.set_weights(a.get_weights())
    for m in (a, b):
        m.compile(SGD(0.1), "sparse_categorical_crossentropy")
    assert a._training_plan().fuse and b._training_plan().fuse
    c = Sequential(
        [
            layers.Dense(8, activation="tanh", input_shape=(5,)),
            layers.Dense(3),
            layers.Activation("softmax"),
            layers.Activation("linear"),
        ]
    )
    c.set_weights(a.get_weights())
    c.compile(SGD(0.1), "sparse_categorical_crossentropy")
    assert not c._training_plan().fuse  # the softmax is not last: the generic path
    for _ in range(3):
        la, lb, lc = (m.train_on_batch(x, y) for m in (a, b, c))
        assert la == pytest.approx(lb, rel=1e-5) and la == pytest.approx(lc, rel=1e-4)
    for wa, wc in zip(a.get_weights(), c.get_weights()):
        np.testing.assert_allclose(wa, wc, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", losses.BinaryCrossentropy(from_logits=True)])
def test_regression_and_binary_losses_train(rng, loss):
    x = rng.standard_normal((200, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.float32)
    model = Sequential([layers.Dense(16, activation="tanh", input_shape=(3,)), layers.Dense(1)])
    model.compile(SGD(0.05, momentum=0.9), loss)
    h = model.fit(x, y, epochs=5, batch_size=20, verbose=0)
    assert h.history["loss"][-1] < 0.7 * h.history["loss"][0]


def test_sample_and_class_weights(rng):
    x, y = blobs(50, 4, 2, rng)
    model = mlp(4, 2)
    model.compile(SGD(0.0), "sparse_categorical_crossentropy")
    plain = model.evaluate(x, y, verbose=0)
    weighted = model.evaluate(x, y, sample_weight=np.full(50, 2.0), verbose=0)
    assert weighted == pytest.approx(2 * plain, rel=1e-5)
    h = model.fit(x, y, class_weight={0: 0.0, 1: 1.0}, epochs=1, shuffle=False, batch_size=50, verbose=0)
    only_ones = model.evaluate(x, y, sample_weight=(y == 1).astype(np.float32), verbose=0)
    assert h.history["loss"][0] == pytest.approx(only_ones, rel=1e-5)


def test_regularizer_adds_its_penalty_and_gradient(rng):
    x, y = blobs(32, 4, 2, rng)
    reg = sinapse.regularizers.L2(0.1)
    model = Sequential([layers.Dense(2, activation="softmax", kernel_regularizer=reg, input_shape=(4,))])
    model.compile(SGD(0.5), "sparse_categorical_crossentropy")
    w0 = model.get_weights()
    plain = sinapse.losses.get("sparse_categorical_crossentropy")(y, model.predict(x))
    loss = model.train_on_batch(x, y)
    assert loss == pytest.approx(plain + 0.1 * float((w0[0].astype(np.float64) ** 2).sum()), rel=1e-5)
    # Same step without the regularizer: the difference of the kernels is lr * 2 * l2 * w0.
    free = Sequential([layers.Dense(2, activation="softmax", input_shape=(4,))])
    free.set_weights(w0)
    free.compile(SGD(0.5), "sparse_categorical_crossentropy")
    free.train_on_batch(x, y)
    np.testing.assert_allclose(
        free.get_weights()[0] - model.get_weights()[0], 0.5 * 2 * 0.1 * w0[0], rtol=1e-4, atol=1e-6
    )


def test_fit_on_a_generator_and_an_iterable(rng):
    x, y = blobs(96, 4, 3, rng)
    model = mlp(4, 3)
    model.compile(SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy", metrics=["accuracy"])

    def forever():
        while True:
            for i in range(0, 96, 32):
                yield x[i : i + 32], y[i : i + 32]

    h = model.fit(forever(), steps_per_epoch=3, epochs=4, verbose=0)
    assert len(h.history["loss"]) == 4

    class Batches:  # re-iterable, like a tf.data.Dataset: one pass per epoch
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return ((x[i : i + 16], y[i : i + 16]) for i in range(0, self.n, 16))

    h = model.fit(Batches(96), epochs=2, validation_data=Batches(32), verbose=0)
    assert len(h.history["val_loss"]) == 2
    assert model.predict(iter([x[:5], x[5:9]])).shape == (9, 3)


def test_train_on_batch_test_on_batch_and_metric_names(rng):
    x, y = blobs(20, 4, 3, rng)
    model = mlp(4, 3)
    model.compile(
        SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy", "sparse_top_k_categorical_accuracy"]
    )
    loss, acc, top5 = model.train_on_batch(x, y)
    assert top5 == 1.0 and 0 <= acc <= 1
    assert model.metrics_names == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]
    logs = model.test_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "sparse_top_k_categorical_accuracy"}


def run_training(seed, x, y, device="cpu"):
    sinapse.utils.set_random_seed(seed)
    model = small_convnet()
    model.compile(SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy", device=device)
    h = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return h.history["loss"], model.get_weights()


def test_set_random_seed_makes_training_bit_identical(rng):
    x, y = images(48, rng)
    loss_a, w_a = run_training(5, x, y)
    loss_b, w_b = run_training(5, x, y)
    loss_c, _ = run_training(6, x, y)
    assert loss_a == loss_b and loss_a != loss_c
    for a, b in zip(w_a, w_b):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="sinapse built without the CUDA simulator")
def test_cuda_sim_device_trains_like_the_cpu(rng):
    """The same steps (Conv2D, pooling, dropout, Dense, fused softmax CE, SGD) on the CUDA kernels."""
    x, y = images(16, rng)
    loss_cpu, w_cpu = run_training(9, x, y, "cpu")
    loss_sim, w_sim = run_training(9, x, y, "cuda-sim")
    np.testing.assert_allclose(loss_sim, loss_cpu, rtol=1e-4)
    for a, b in zip(w_sim, w_cpu):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_device_names():
    assert sinapse.devices.get_device("cuda_sim").name == "cuda-sim"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        sinapse.devices.get_device("tpu")
    sinapse.set_default_device("cpu")
    assert sinapse.get_default_device() == "cpu"
