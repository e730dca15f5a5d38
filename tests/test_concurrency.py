"""One model used from several Python threads (issue 11, class 4; models/_guard.py).

predict / evaluate / model(x) / predict_on_batch / test_on_batch from 4 threads must give
exactly the single-threaded results; fit (and every call that changes the model) while
another thread uses the model raises RuntimeError; predict while another thread fits
raises RuntimeError; a callback of a fit may call predict / evaluate (same thread).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import sinapse
from sinapse import callbacks, layers
from sinapse.models import Sequential

THREADS, CALLS = 4, 12


def _dense():
    m = Sequential([layers.Dense(32, activation="relu", input_shape=(20,)), layers.Dense(7, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m, (lambda rng, n: rng.standard_normal((n, 20)).astype(np.float32)), 7


def _conv():
    m = Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(10, 10, 2)),
            layers.MaxPooling2D(),
            layers.BatchNormalization(),
            layers.Dropout(0.5, seed=1),
            layers.Flatten(),
            layers.Dense(5, activation="softmax"),
        ]
    )
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m, (lambda rng, n: rng.standard_normal((n, 10, 10, 2)).astype(np.float32)), 5


def _lstm():
    m = Sequential([layers.Embedding(30, 6, mask_zero=True), layers.LSTM(8), layers.Dense(3, activation="softmax")])
    m.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m, (lambda rng, n: rng.integers(0, 30, (n, 9)).astype(np.float32)), 3


MODELS = {"dense": _dense, "conv_pool_bn_dropout": _conv, "embedding_lstm": _lstm}


def _jobs(make_x, classes, seed):
    """Different batch sizes per call: different buffers, different row counts."""
    rng = np.random.default_rng(seed)
    return [(make_x(rng, n), rng.integers(0, classes, n)) for n in (1, 3, 17, 40, 2, 33)]


def _hammer(fn, jobs):
    """Run fn over each thread's jobs CALLS times from THREADS threads; returns per-thread results."""
    start = threading.Barrier(THREADS)

    def worker(t):
        start.wait()
        return [fn(*jobs[t][i % len(jobs[t])]) for i in range(CALLS)]

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(worker, range(THREADS)))


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("call", ["predict", "model_call", "predict_on_batch", "evaluate", "test_on_batch"])
def test_concurrent_inference_matches_single_threaded(kind, call):
    sinapse.utils.set_random_seed(5)
    model, make_x, classes = MODELS[kind]()
    fns = {
        "predict": lambda x, y: model.predict(x, batch_size=8, verbose=0),
        "model_call": lambda x, y: model(x),
        "predict_on_batch": lambda x, y: model.predict_on_batch(x),
        "evaluate": lambda x, y: np.array(model.evaluate(x, y, batch_size=16, verbose=0)),
        "test_on_batch": lambda x, y: np.array(model.test_on_batch(x, y)),
    }
    fn = fns[call]
    jobs = [_jobs(make_x, classes, seed) for seed in range(THREADS)]
    expected = [[fn(*jobs[t][i % len(jobs[t])]) for i in range(CALLS)] for t in range(THREADS)]
    for got_thread, want_thread in zip(_hammer(fn, jobs), expected):
        for got, want in zip(got_thread, want_thread):
            _close(got, want)


class _Hold(callbacks.Callback):
    """Blocks the thread running the model at its first batch until released."""

    def __init__(self):
        super().__init__()
        self.inside, self.release = threading.Event(), threading.Event()

    def _hold(self, batch, logs=None):
        self.inside.set()
        assert self.release.wait(30)

    on_predict_batch_begin = on_train_batch_begin = on_test_batch_begin = _hold


def _while_held(start_call, other_calls):
    """Start ``start_call(hold)`` in a thread, run each of ``other_calls`` while it is inside the model."""
    hold = _Hold()
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(start_call, hold)
        assert hold.inside.wait(30)
        try:
            for other in other_calls:
                other()
        finally:
            hold.release.set()
        running.result()


def _xy(n=8):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 20)).astype(np.float32), rng.integers(0, 7, n)


@pytest.mark.parametrize("busy", ["predict", "evaluate", "fit"])
def test_changing_calls_raise_while_another_thread_uses_the_model(busy):
    model, _, _ = _dense()
    x, y = _xy()
    before = model.get_weights()
    start = {
        "predict": lambda h: model.predict(x, callbacks=[h]),
        "evaluate": lambda h: model.evaluate(x, y, callbacks=[h], verbose=0),
        "fit": lambda h: model.fit(x, y, epochs=1, callbacks=[h], verbose=0),
    }[busy]
    changes = {
        "fit": lambda: model.fit(x, y, verbose=0),
        "train_on_batch": lambda: model.train_on_batch(x, y),
        "set_weights": lambda: model.set_weights(before),
        "compile": lambda: model.compile("sgd", "mse"),
        "model(x, training=True)": lambda: model(x, training=True),
    }

    def each_raises():
        for call in changes.values():
            with pytest.raises(RuntimeError, match=r"^Sequential\.\w+: the model is in use by another thread"):
                call()

    _while_held(start, [each_raises])
    if busy != "fit":
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)  # nothing changed them
    model.fit(x, y, verbose=0)  # free again


def test_inference_raises_while_another_thread_fits():
    model, _, _ = _dense()
    x, y = _xy()

    def each_raises():
        for call in (
            lambda: model.predict(x),
            lambda: model(x),
            lambda: model.evaluate(x, y, verbose=0),
            lambda: model.predict_on_batch(x),
            lambda: model.get_weights(),
        ):
            with pytest.raises(RuntimeError, match=r"running fit\); it cannot run while another thread trains"):
                call()

    _while_held(lambda h: model.fit(x, y, epochs=2, callbacks=[h], verbose=0), [each_raises])
    assert model.predict(x).shape == (8, 7)


def test_inference_waits_for_another_threads_inference():
    model, _, _ = _dense()
    x, _ = _xy()
    want = model.predict(x)
    got = []
    with ThreadPoolExecutor(1) as pool:
        hold = _Hold()
        running = pool.submit(lambda: model.predict(x, callbacks=[hold]))
        assert hold.inside.wait(30)
        waiter = threading.Thread(target=lambda: got.append(model.predict(x)))
        waiter.start()
        waiter.join(0.2)
        assert waiter.is_alive() and not got  # waiting, not running alongside
        hold.release.set()
        running.result()
        waiter.join(30)
    _close(got[0], want)


def test_a_fit_callback_may_predict_and_evaluate():
    model, _, _ = _dense()
    x, y = _xy()
    seen = []

    class Probe(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.model.predict(x).shape, self.model.evaluate(x, y, verbose=0)))

    model.fit(x, y, epochs=2, callbacks=[Probe()], verbose=0)
    assert len(seen) == 2 and seen[0][0] == (8, 7)


@pytest.mark.parametrize(
    "layer, shape",
    [(layers.Dense(16, activation="tanh"), (9,)), (layers.Conv2D(3, 3), (7, 7, 2)), (layers.LSTM(5), (6, 4))],
)
def test_direct_layer_calls_from_threads(layer, shape):
    rng = np.random.default_rng(1)
    jobs = [[(rng.standard_normal((n, *shape)).astype(np.float32),) for n in (1, 5, 12)] for _ in range(THREADS)]
    expected = [[layer(*jobs[t][i % 3]) for i in range(CALLS)] for t in range(THREADS)]
    for got_thread, want_thread in zip(_hammer(layer, jobs), expected):
        for got, want in zip(got_thread, want_thread):
            _close(got, want)


def test_models_sharing_layers_share_the_guard():
    # Transfer learning: head_b reuses base's layers; their buffers are shared, so calls on the
    # two models from two threads must not overlap either.
    sinapse.utils.set_random_seed(2)
    base = Sequential([layers.Dense(256, activation="relu", input_shape=(20,)), layers.Dense(64, activation="tanh")])
    head_a = Sequential([*base.layers, layers.Dense(3, activation="softmax")])
    head_b = Sequential([*base.layers, layers.Dense(4, activation="softmax")])
    models = [base, head_a, head_b, head_a]
    rng = np.random.default_rng(3)
    jobs = [[(rng.standard_normal((n, 20)).astype(np.float32),) for n in (2, 90, 310)] for _ in range(THREADS)]
    expected = [[models[t].predict(*jobs[t][i % 3], batch_size=64) for i in range(CALLS)] for t in range(THREADS)]
    start = threading.Barrier(THREADS)

    def worker(t):
        start.wait()
        return [models[t].predict(*jobs[t][i % 3], batch_size=64) for i in range(CALLS)]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    for got_thread, want_thread in zip(results, expected):
        for got, want in zip(got_thread, want_thread):
            _close(got, want)
    head_b.compile("sgd", "mse")
    x = jobs[0][0][0]
    _while_held(
        lambda h: head_a.predict(x, callbacks=[h]),
        [lambda: pytest.raises(RuntimeError, head_b.fit, x, np.zeros((2, 4)), verbose=0)],
    )


def test_direct_calls_on_a_layer_of_a_model_wait_for_the_models_call():
    model, _, _ = _dense()
    x, _ = _xy()
    layer = model.layers[0]
    want = layer(x)
    got = []
    with ThreadPoolExecutor(1) as pool:
        hold = _Hold()
        running = pool.submit(lambda: model.predict(x, callbacks=[hold]))
        assert hold.inside.wait(30)
        caller = threading.Thread(target=lambda: got.append(layer(x)))
        caller.start()
        caller.join(0.2)
        assert caller.is_alive() and not got  # waits for the model's predict
        hold.release.set()
        running.result()
        caller.join(30)
    _close(got[0], want)


# ---------------------------------------------------------------- layer- and weight-level mutators
def _layer_mutators():
    """Every public way to change one layer's weights: each must take the model's guard."""
    return {
        "Layer.set_weights": lambda layer, w: layer.set_weights(w),
        "Weight.assign": lambda layer, w: [v.assign(a) for v, a in zip(layer.weights, w)],
    }


@pytest.mark.parametrize("mutator", sorted(_layer_mutators()))
def test_layer_mutators_never_interleave_with_predict(mutator):
    """2 threads predict while a 3rd alternates the first layer's weights: every predict equals
    the W1 or the W2 result (before the fix, 215/216 matched neither), and a mutation that
    meets a running predict raises RuntimeError, as Sequential.set_weights does."""
    rng = np.random.default_rng(0)
    m = Sequential([layers.Dense(256, input_shape=(256,))])
    x = rng.standard_normal((64, 256)).astype(np.float32)
    w1 = [rng.standard_normal((256, 256)).astype(np.float32), np.zeros(256, np.float32)]
    w2 = [-w1[0], np.ones(256, np.float32)]
    expected = []
    for w in (w1, w2):
        m.set_weights(w)
        expected.append(m.predict(x, verbose=0))
    change, stop = _layer_mutators()[mutator], threading.Event()
    outputs, raised, applied = [], [], [0]

    def predictor():
        while not stop.is_set():
            outputs.append(m.predict(x, verbose=0))

    def changer():
        for i in range(300):
            try:
                change(m.layers[0], (w1, w2)[i % 2])
                applied[0] += 1
            except RuntimeError as exc:
                raised.append(str(exc))
        stop.set()

    threads = [threading.Thread(target=predictor) for _ in range(2)] + [threading.Thread(target=changer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = sum(not any(np.array_equal(y, e) for e in expected) for y in outputs)
    assert outputs and bad == 0, f"{bad}/{len(outputs)} predicts matched neither W1 nor W2"
    assert raised, "no mutation ever met a running predict: the test did not exercise the guard"
    assert all("in use by another thread" in r for r in raised)


@pytest.mark.parametrize("call", ["set_weights", "assign", "trainable", "build", "to_device"])
def test_layer_mutators_raise_while_another_thread_holds_the_model(call):
    m = Sequential([layers.Dense(4, input_shape=(3,))])
    m.build((None, 3))
    layer = m.layers[0]
    holding, release = threading.Event(), threading.Event()

    def hold():
        with m._guard.root().lock:  # what a running predict holds
            holding.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    holding.wait(10)
    try:
        actions = {
            "set_weights": lambda: layer.set_weights([w.numpy() for w in layer._weights]),
            "assign": lambda: layer.weights[0].assign(np.zeros((3, 4), np.float32)),
            "trainable": lambda: setattr(layer, "trainable", False),
            "build": lambda: layer.build((None, 3)),
            "to_device": lambda: layer.to_device("cuda-sim"),
        }
        with pytest.raises(RuntimeError, match="in use by another thread"):
            actions[call]()
    finally:
        release.set()
        t.join()
    assert layer.trainable  # nothing changed


def test_save_and_get_weights_never_see_half_a_set_weights(tmp_path):
    """save / get_weights (inference calls) while another thread sets a layer's weights: every
    snapshot and every saved file is all-W1 or all-W2, never a mix (set_weights holds the guard
    for all its weights, so a save cannot slip in between the kernel and the bias)."""
    m = Sequential([layers.Dense(64, input_shape=(64,)), layers.Dense(64)])
    m.compile("sgd", "mse")
    w1 = [np.full(w.shape, 1.0, np.float32) for w in m.layers[0].weights]
    w2 = [np.full(w.shape, 2.0, np.float32) for w in m.layers[0].weights]
    m.layers[0].set_weights(w1)
    stop, snapshots, errors, saved = threading.Event(), [], [], []

    def reader():
        while not stop.is_set():
            try:
                snapshots.append(m.layers[0].get_weights())
                snapshots.append(m.get_weights()[:2])
                if len(saved) < 5:
                    path = tmp_path / f"m{len(saved)}.sinapse"
                    m.save(path)
                    saved.append(path)
            except RuntimeError as exc:  # met the set_weights: refused, not torn
                errors.append(str(exc))

    def writer():
        for i in range(400):
            try:
                m.layers[0].set_weights((w2, w1)[i % 2])
            except RuntimeError:
                pass
        stop.set()

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snapshots += [sinapse.models.load_model(p).layers[0].get_weights() for p in saved]
    assert snapshots and saved
    for snap in snapshots:
        assert {float(v) for a in snap for v in np.unique(a)} in ({1.0}, {2.0})
    assert all("in use by another thread" in e for e in errors)


# ---------------------------------------------------------------- changing a model from inside its own fit
_STRUCTURAL = {
    "pop": lambda m, x, y: m.pop(),
    "add": lambda m, x, y: m.add(layers.Dense(2)),
    "compile": lambda m, x, y: m.compile("sgd", "mse"),
    "fit": lambda m, x, y: m.fit(x, y, verbose=0),
    "train_on_batch": lambda m, x, y: m.train_on_batch(x, y),
    "build": lambda m, x, y: m.build((None, 20)),
}


@pytest.mark.parametrize("hook", ["on_train_batch_end", "on_epoch_end", "on_train_begin"])
@pytest.mark.parametrize("name", sorted(_STRUCTURAL))
def test_structural_calls_from_a_fit_callback_raise(name, hook):
    # The guard is re-entrant for the fitting thread: without the check, pop() in a callback was
    # accepted and the run went on training a 1-layer model.
    model, _, _ = _dense()
    x, y = _xy()
    weights = model.get_weights()
    cb = callbacks.LambdaCallback(**{hook: lambda *args: _STRUCTURAL[name](model, x, y)})
    with pytest.raises(RuntimeError, match=rf"^Sequential\.{name}: cannot run while Sequential\.fit of this model"):
        model.fit(x, y, epochs=2, callbacks=[cb], verbose=0)
    assert len(model.layers) == 2 and model.optimizer.get_config()["name"].lower() == "sgd"
    if hook == "on_train_begin":  # refused before the first step: nothing trained
        for a, b in zip(weights, model.get_weights()):
            np.testing.assert_array_equal(a, b)
    _STRUCTURAL[name](model, x, y)  # allowed again once fit has ended


def test_structural_calls_on_a_model_sharing_layers_raise_inside_fit():
    model, _, _ = _dense()
    other = Sequential([*model.layers])
    other.compile("sgd", "sparse_categorical_crossentropy")
    x, y = _xy()
    cb = callbacks.LambdaCallback(on_epoch_end=lambda *a: other.fit(x, y, verbose=0))
    with pytest.raises(RuntimeError, match=r"^Sequential\.fit: cannot run while Sequential\.fit"):
        model.fit(x, y, callbacks=[cb], verbose=0)
    other.fit(x, y, verbose=0)


def test_what_keras_callbacks_do_inside_fit_still_works(tmp_path):
    model, _, _ = _dense()
    x, y = _xy()
    done = []

    class Everything(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            m = self.model
            m.set_weights(m.get_weights())  # EarlyStopping(restore_best_weights)
            m.save(str(tmp_path / "m.st"))  # ModelCheckpoint
            m.save_weights(str(tmp_path / "w.st"))
            m.load_weights(str(tmp_path / "w.st"))  # same architecture: values only
            m.predict(x), m.evaluate(x, y, verbose=0), m(x)
            m.optimizer.learning_rate = 0.005  # ReduceLROnPlateau
            done.append(batch)

        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    stock = [
        callbacks.EarlyStopping(monitor="loss", patience=0, restore_best_weights=True),
        callbacks.ModelCheckpoint(str(tmp_path / "best.st"), monitor="loss"),
        callbacks.ReduceLROnPlateau(monitor="loss", patience=0),
    ]
    history = model.fit(x, y, epochs=5, batch_size=4, callbacks=[Everything(), *stock], verbose=0)
    assert len(done) >= 4 and len(history.epoch) <= 2 and (tmp_path / "best.st").exists()
    model.pop()  # the guard is free again


def test_train_on_batch_inside_train_on_batch_is_refused():
    # Not reachable through a callback (train_on_batch has none): a loss whose gradient calls back.
    model, _, _ = _dense()
    x, y = _xy()
    guard = model._guard
    with guard.hold("Sequential.train_on_batch", True, "train_on_batch", structural=True, trains=True):
        with pytest.raises(RuntimeError, match=r"^Sequential\.pop: cannot run while Sequential\.train_on_batch"):
            model.pop()
        model.set_weights(model.get_weights())
    assert guard.training is None and guard.changing is None


# ---------------------------------------------------------------- a shared layer called directly
@pytest.mark.parametrize("make", [lambda: layers.Dense(7, activation="softmax"), lambda: layers.LSTM(7)])
def test_direct_call_on_a_shared_layer_raises_while_another_model_fits(make):
    # m1 and m2 share `shared`; a direct shared(x) must raise as m2.predict does, not wait for the fit.
    shared = make()
    first = layers.Dense(20) if isinstance(shared, layers.Dense) else layers.Reshape((4, 5))
    m1 = Sequential([layers.Dense(20, input_shape=(20,)), first, shared])
    m1.compile("sgd", "sparse_categorical_crossentropy")
    m2 = Sequential([layers.Dense(20, input_shape=(20,)), first, shared])
    x, y = _xy()
    inner = m1.predict(x)  # builds; the shared layer's input
    x_shared = np.zeros((2, 20) if isinstance(shared, layers.Dense) else (2, 4, 5), np.float32)

    def each_raises():
        for call in (lambda: shared(x_shared), lambda: m2.predict(x)):
            started = time.perf_counter()
            with pytest.raises(RuntimeError, match=r"running fit\); it cannot run while another thread trains"):
                call()
            assert time.perf_counter() - started < 1.0  # at once, not after the fit

    _while_held(lambda h: m1.fit(x, y, callbacks=[h], verbose=0), [each_raises])
    assert shared(x_shared).shape == (2, 7) and inner.shape == (8, 7)
