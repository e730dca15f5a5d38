"""Every argument of fit / evaluate / predict / *_on_batch is checked (issue 11, class 7; models/_arguments.py).

Table-driven: each row is (arguments, exception, the argument the message must name, a fragment of
the message). Every message starts with the public method and names the argument in backticks;
a refused call leaves the weights unchanged. Then the arguments that used to be ignored or
misread work as Keras's: class_weight, steps on arrays, validation_freq lists.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import sinapse
from sinapse import callbacks, layers
from sinapse.models import Sequential

N, D, C = 16, 5, 3


def _model():
    sinapse.utils.set_random_seed(0)
    m = Sequential([layers.Dense(8, activation="relu", input_shape=(D,)), layers.Dense(C, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


RNG = np.random.default_rng(0)
X = RNG.standard_normal((N, D)).astype(np.float32)
Y = RNG.integers(0, C, N)
W_NAN = np.ones(N, np.float32)
W_NAN[3] = np.nan
W_NEG = np.ones(N, np.float32)
W_NEG[5] = -1


def _gen():
    while True:
        yield X[:4], Y[:4]


FIT_CASES = [
    ({"batch_size": 0}, ValueError, "batch_size", "must be a positive integer, got 0"),
    ({"batch_size": -4}, ValueError, "batch_size", "must be a positive integer, got -4"),
    ({"batch_size": 2.5}, TypeError, "batch_size", "must be a positive integer or None, got 2.5"),
    ({"batch_size": "32"}, TypeError, "batch_size", "got '32'"),
    ({"batch_size": True}, TypeError, "batch_size", "got True"),
    ({"epochs": -1}, ValueError, "epochs", "must be an integer >= 0, got -1"),
    ({"epochs": 2.0}, TypeError, "epochs", "must be an integer"),
    ({"epochs": None}, TypeError, "epochs", "must be an integer"),
    ({"initial_epoch": -1}, ValueError, "initial_epoch", "got -1"),
    ({"initial_epoch": 5, "epochs": 2}, ValueError, "initial_epoch", "is past `epochs`=2"),
    ({"verbose": 3}, ValueError, "verbose", "must be 'auto', 0, 1 or 2, got 3"),
    ({"verbose": "yes"}, ValueError, "verbose", "got 'yes'"),
    ({"verbose": True}, ValueError, "verbose", "got True"),
    ({"validation_split": 1.0}, ValueError, "validation_split", r"must be in \[0, 1\), got 1.0"),
    ({"validation_split": -0.2}, ValueError, "validation_split", "got -0.2"),
    ({"validation_split": "0.2"}, TypeError, "validation_split", "must be a number"),
    ({"validation_split": 0.99}, ValueError, "validation_split", "leaves an empty training or validation set"),
    ({"validation_split": 0.2, "x": _gen()}, ValueError, "validation_split", "not a generator"),
    ({"validation_data": (X,)}, ValueError, "validation_data", "got a tuple of 1 items"),
    ({"validation_data": X}, ValueError, "validation_data", "got ndarray"),
    ({"validation_data": (X, None)}, ValueError, "validation_data", "needs targets"),
    ({"validation_data": (X[:, :4], Y)}, ValueError, "x", r"expects inputs of shape \(None, 5\)"),
    ({"validation_data": (X[:5], Y[:4])}, ValueError, "x", "has 5 samples but `y` has 4"),
    ({"validation_data": (X, Y, W_NEG)}, ValueError, "sample_weight", "must be >= 0"),
    ({"shuffle": "yes"}, TypeError, "shuffle", "must be True or False"),
    ({"shuffle": 1}, TypeError, "shuffle", "got 1"),
    ({"class_weight": {-1: 5}}, ValueError, "class_weight", "key -1 is not a class index .* 0 <= key < 3"),
    ({"class_weight": {3: 1.0}}, ValueError, "class_weight", "key 3 is not a class index"),
    ({"class_weight": {0: -1.0}}, ValueError, r"class_weight\[0\]", "must be a finite number >= 0, got -1.0"),
    ({"class_weight": {0: float("nan")}}, ValueError, r"class_weight\[0\]", "finite"),
    ({"class_weight": {0: float("inf")}}, ValueError, r"class_weight\[0\]", "finite"),
    ({"class_weight": {0: "2"}}, TypeError, r"class_weight\[0\]", "must be a number"),
    ({"class_weight": {"0": 1.0}}, TypeError, "class_weight", "keys must be integer class indices, got '0'"),
    ({"class_weight": {0.0: 1.0}}, TypeError, "class_weight", "keys must be integer"),
    ({"class_weight": {True: 1.0}}, TypeError, "class_weight", "keys must be integer"),
    ({"class_weight": [1.0, 2.0, 3.0]}, TypeError, "class_weight", "must be a dict"),
    ({"sample_weight": np.ones(N + 1)}, ValueError, "sample_weight", r"must have shape \(16,\)"),
    ({"sample_weight": W_NAN}, ValueError, "sample_weight", r"NaN or Inf at index \[3\]"),
    ({"sample_weight": W_NEG}, ValueError, "sample_weight", r"must be >= 0, got -1.0 at index \[5\]"),
    ({"sample_weight": np.array(["a"] * N)}, TypeError, "sample_weight", "must hold numbers"),
    ({"steps_per_epoch": 0}, ValueError, "steps_per_epoch", "positive integer"),
    ({"steps_per_epoch": 100, "batch_size": 4}, ValueError, "steps_per_epoch", "holds only 4 batch"),
    ({"validation_steps": 0, "validation_data": (X, Y)}, ValueError, "validation_steps", "positive integer"),
    ({"validation_steps": 9, "validation_data": (X, Y)}, ValueError, "validation_steps", "holds only 1 batch"),
    ({"validation_batch_size": 0}, ValueError, "validation_batch_size", "positive integer"),
    ({"validation_freq": 0}, ValueError, "validation_freq", "positive integer"),
    ({"validation_freq": "2"}, TypeError, "validation_freq", "list of 1-based epoch numbers"),
    ({"validation_freq": [0, 2]}, TypeError, "validation_freq", "got \\[0, 2\\]"),
    ({"callbacks": callbacks.History()}, TypeError, "callbacks", "must be a list of callbacks; wrap"),
    ({"callbacks": "cb"}, TypeError, "callbacks", "got str"),
    ({"callbacks": [print]}, TypeError, r"callbacks\[0\]", "Callback instance"),
    ({"callbacks": [callbacks.EarlyStopping]}, TypeError, r"callbacks\[0\]", "a class: instantiate it"),
    ({"y": Y[:-1]}, ValueError, "x", "has 16 samples but `y` has 15"),
    ({"x": np.full((N, D), "a")}, TypeError, "x", "must hold numbers"),
    ({"y": np.full(N, "a")}, TypeError, "y", "must hold numbers"),
    ({"y": Y.astype(np.float32) + 0.5}, ValueError, "y", "does not fit the loss"),
    ({"x": None}, ValueError, "x", "no input data"),
    ({"y": None}, ValueError, "y", "is needed"),
    ({"x": X[:0], "y": Y[:0]}, ValueError, "x", "holds no samples"),
    ({"x": _gen(), "y": None, "batch_size": 4}, ValueError, "batch_size", "generator"),
    ({"x": _gen(), "y": None, "sample_weight": W_NEG}, ValueError, "sample_weight", "generator"),
    ({"x": X[:, :, None]}, ValueError, "x", r"expects inputs of shape \(None, 5\), got `x` of shape \(None, 5, 1\)"),
    ({"x": 3.0}, ValueError, "x", "must have a batch axis"),
]

EVALUATE_CASES = [
    ({"batch_size": 0}, ValueError, "batch_size", "positive integer"),
    ({"steps": 0}, ValueError, "steps", "positive integer"),
    ({"steps": 5, "batch_size": 8}, ValueError, "steps", "holds only 2 batch"),
    ({"verbose": 5}, ValueError, "verbose", "got 5"),
    ({"return_dict": "yes"}, TypeError, "return_dict", "must be True or False"),
    ({"callbacks": callbacks.History()}, TypeError, "callbacks", "wrap"),
    ({"sample_weight": W_NAN}, ValueError, "sample_weight", "NaN"),
    ({"y": Y[:3]}, ValueError, "x", "has 16 samples but `y` has 3"),
    ({"y": None}, ValueError, "y", "is needed"),
    ({"x": np.full((N, D), "a")}, TypeError, "x", "must hold numbers"),
]

PREDICT_CASES = [
    ({"batch_size": 0}, ValueError, "batch_size", "positive integer"),
    ({"batch_size": 1.0}, TypeError, "batch_size", "must be a positive integer or None, got 1.0"),
    ({"steps": -1}, ValueError, "steps", "positive integer"),
    ({"steps": 3, "batch_size": 16}, ValueError, "steps", "holds only 1 batch"),
    ({"verbose": -1}, ValueError, "verbose", "got -1"),
    ({"callbacks": [object()]}, TypeError, r"callbacks\[0\]", "Callback instance"),
    ({"x": None}, ValueError, "x", "no input data"),
    ({"x": np.full((N, D), "a")}, TypeError, "x", "must hold numbers"),
    ({"x": _gen(), "batch_size": 4}, ValueError, "batch_size", "generator"),
]

ON_BATCH_CASES = [
    ("train_on_batch", {"class_weight": {-1: 5}}, ValueError, "class_weight", "key -1"),
    ("train_on_batch", {"class_weight": {0: -2}}, ValueError, r"class_weight\[0\]", ">= 0"),
    ("train_on_batch", {"sample_weight": W_NEG}, ValueError, "sample_weight", ">= 0"),
    ("train_on_batch", {"reset_metrics": "no"}, TypeError, "reset_metrics", "True or False"),
    ("train_on_batch", {"return_dict": 1}, TypeError, "return_dict", "True or False"),
    ("train_on_batch", {"y": Y[:2]}, ValueError, "x", "has 16 samples but `y` has 2"),
    ("train_on_batch", {"x": _gen()}, TypeError, "x", "one batch"),
    ("train_on_batch", {"y": None}, ValueError, "y", "is needed"),
    ("test_on_batch", {"sample_weight": W_NAN}, ValueError, "sample_weight", "NaN"),
    ("test_on_batch", {"return_dict": None}, TypeError, "return_dict", "True or False"),
    ("test_on_batch", {"x": np.full((N, D), "a")}, TypeError, "x", "must hold numbers"),
    ("predict_on_batch", {"x": np.full((N, D), "a")}, TypeError, "x", "must hold numbers"),
    ("predict_on_batch", {"x": X[:, :3]}, ValueError, "x", r"expects inputs of shape \(None, 5\)"),
]


def _check(method, kwargs, exc, arg, fragment):
    model = _model()
    model.predict(X[:1])  # built
    before = model.get_weights()
    call = {"x": X, "y": Y, **kwargs} if method != "predict" else {"x": X, **kwargs}
    if method in ("predict", "predict_on_batch"):
        call.pop("y", None)
    if method == "predict_on_batch":
        call = {"x": kwargs["x"]}
    with pytest.raises(exc) as info:
        getattr(model, method)(**call)
    message = str(info.value)
    assert message.startswith(f"Sequential.{method}"), message
    assert re.search(rf"`{arg}`", message), message
    assert re.search(fragment, message), message
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # refused before any step


@pytest.mark.parametrize(
    "kwargs, exc, arg, fragment", FIT_CASES, ids=lambda v: repr(v)[:40] if isinstance(v, dict) else None
)
def test_fit_arguments(kwargs, exc, arg, fragment):
    _check("fit", {"verbose": 0, **kwargs} if "verbose" not in kwargs else kwargs, exc, arg, fragment)


@pytest.mark.parametrize("kwargs, exc, arg, fragment", EVALUATE_CASES)
def test_evaluate_arguments(kwargs, exc, arg, fragment):
    _check("evaluate", {"verbose": 0, **kwargs} if "verbose" not in kwargs else kwargs, exc, arg, fragment)


@pytest.mark.parametrize("kwargs, exc, arg, fragment", PREDICT_CASES)
def test_predict_arguments(kwargs, exc, arg, fragment):
    _check("predict", kwargs, exc, arg, fragment)


@pytest.mark.parametrize("method, kwargs, exc, arg, fragment", ON_BATCH_CASES)
def test_on_batch_arguments(method, kwargs, exc, arg, fragment):
    _check(method, kwargs, exc, arg, fragment)


def test_the_issue_examples():
    model = _model()
    with pytest.raises(ValueError, match=r"^Sequential\.fit: `batch_size` must be a positive integer, got 0"):
        model.fit(X, Y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match=r"^Sequential\.fit: `class_weight` key -1 is not a class index"):
        model.fit(X, Y, class_weight={-1: 5}, verbose=0)


def test_class_weight_equals_the_matching_sample_weight():
    weights = {0: 2.0, 1: 0.5, 2: 1.0}
    a, b = _model(), _model()
    la = a.fit(X, Y, class_weight=weights, batch_size=4, shuffle=False, epochs=2, verbose=0).history["loss"]
    lb = b.fit(
        X, Y, sample_weight=np.array([weights[int(c)] for c in Y]), batch_size=4, shuffle=False, epochs=2, verbose=0
    ).history["loss"]
    np.testing.assert_allclose(la, lb, rtol=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)


def test_steps_on_arrays_run_that_many_batches():
    model = _model()
    seen = []

    class Count(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model.fit(X, Y, batch_size=4, steps_per_epoch=2, epochs=2, callbacks=[Count()], verbose=0)
    assert seen == [0, 1, 0, 1]
    out = model.predict(X, batch_size=4, steps=1)
    np.testing.assert_allclose(out, model.predict(X[:4]), rtol=1e-6)
    full = model.evaluate(X[:8], Y[:8], batch_size=8, verbose=0)
    np.testing.assert_allclose(model.evaluate(X, Y, batch_size=8, steps=1, verbose=0), full, rtol=1e-6)


@pytest.mark.parametrize("freq, epochs_validated", [(1, [1, 2, 3, 4]), (2, [2, 4]), ([1, 3], [1, 3])])
def test_validation_freq(freq, epochs_validated):
    seen = []

    class Epochs(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if "val_loss" in logs:
                seen.append(epoch + 1)

    _model().fit(X, Y, epochs=4, validation_data=(X, Y), validation_freq=freq, callbacks=[Epochs()], verbose=0)
    assert seen == epochs_validated


def test_numpy_integers_and_bools_are_accepted():
    model = _model()
    history = model.fit(
        X,
        Y,
        batch_size=np.int64(8),
        epochs=np.int32(2),
        shuffle=np.bool_(False),
        verbose=0,
        class_weight={np.int64(1): np.float32(2.0)},
    )
    assert len(history.history["loss"]) == 2
    assert model.predict(X, batch_size=np.int16(5)).shape == (N, C)


def test_class_weight_is_refused_for_sequence_outputs():
    # It used to weight every step by the class of the first step, silently.
    model = Sequential(
        [layers.Embedding(10, 3), layers.LSTM(4, return_sequences=True), layers.Dense(2, activation="softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(
        ValueError,
        match=r"^Sequential\.fit: `class_weight` is not supported for outputs with a "
        r"time axis \(shape \(None, 5, 2\)\); pass `sample_weight`",
    ):
        model.fit(np.ones((4, 5)), np.ones((4, 5)), class_weight={0: 1.0}, verbose=0)


# ---------------------------------------------------------------------------- compile metrics (issue 11, class 8)


def _classifier(loss="sparse_categorical_crossentropy", metrics=None):
    model = Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile("sgd", loss, metrics=metrics)
    return model


@pytest.mark.parametrize(
    "metrics, error, match",
    [
        ([{"a": 1}], TypeError, r"`metrics\[0\]` must be a metric name .* got \{'a': 1\} \(dict\)"),
        ([None], TypeError, r"`metrics\[0\]` must be a metric name .* got None \(NoneType\)"),
        ([5], TypeError, r"`metrics\[0\]` must be .* got 5 \(int\)"),
        (["accuracy", sinapse.metrics.BinaryAccuracy], TypeError, r"`metrics\[1\]` must be"),
        (["bogus"], ValueError, r"`metrics\[0\]` is an unknown metric 'bogus'"),
        ([{"class_name": "BinaryAccuracy", "config": {"bogus": 1}}], ValueError, r"`metrics\[0\]`=.* is not a valid"),
        ("accuracy", TypeError, r"`metrics` must be a list, got 'accuracy'; wrap it"),
        (5, TypeError, r"`metrics` must be a list of metric names"),
    ],
)
def test_compile_metrics_are_checked(metrics, error, match):
    model = _classifier()
    with pytest.raises(error, match=r"^Sequential\.compile: " + match):
        model.compile("adam", "mse", metrics=metrics)
    assert model.compiled_loss.name == "sparse_categorical_crossentropy"  # the failed compile changed nothing


def test_compile_metric_config_dicts_are_metrics(tmp_path):
    model = _classifier(metrics=[{"class_name": "SparseCategoricalAccuracy", "config": {}}, "accuracy"])
    x, y = np.ones((4, 2), np.float32), np.array([0, 1, 2, 1])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "sparse_categorical_accuracy", "accuracy"}
    model.save(tmp_path / "m.s")
    assert sinapse.models.load_model(tmp_path / "m.s").metrics_names == model.metrics_names


# ---------------------------------------------------------------------------- label range (issue 11, class 7/8)

_X4 = np.ones((4, 2), np.float32)
_RANGE = (
    r"`y` does not fit the loss and the output: sparse_categorical_crossentropy: class labels must be in "
    r"\[0, 3\) for the model's 3 output classes, got labels in "
)


@pytest.mark.parametrize(
    "labels, found",
    [
        ([0, 1, 2, 3], r"\[0, 3\]"),
        ([0, -1, 2, 1], r"\[-1, 2\]"),
        ([0, 1, 2, 2**32 + 1], r"\[0, 4294967297\]"),
        (np.array([0.0, 1, 2, 7]), r"\[0, 7\]"),
        (np.array([0, 1, 2, 1e30]), r"\[0, 1e\+30\]"),
        (np.array([[0], [9], [1], [1]], np.uint8), r"\[0, 9\]"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_out_of_range_labels_are_refused_up_front(method, labels, found):
    model = _classifier()
    before = [w.copy() for w in model.get_weights()]
    kwargs = {"verbose": 0} if method in ("fit", "evaluate") else {}
    with pytest.raises(ValueError, match=rf"^Sequential\.{method}: {_RANGE}{found}$"):
        getattr(model, method)(_X4, np.asarray(labels), **kwargs)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing trained


def test_out_of_range_labels_in_validation_data():
    model = _classifier()
    with pytest.raises(ValueError, match=r"`y` does not fit the loss .* got labels in \[0, 4\]"):
        model.fit(_X4, np.array([0, 1, 2, 0]), validation_data=(_X4, np.array([0, 4, 1, 1])), verbose=0)


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_out_of_range_labels_from_a_generator_are_checked_per_batch(method):
    def batches():
        yield _X4, np.array([0, 1, 2, 0])
        yield _X4, np.array([0, 1, 5, 0])

    model = _classifier()
    with pytest.raises(ValueError, match=rf"^Sequential\.{method}: {_RANGE}\[0, 5\]$"):
        getattr(model, method)(batches(), verbose=0)


def test_in_range_labels_train():
    model = _classifier()
    model.fit(_X4, np.array([0, 1, 2, 1], np.uint8), verbose=0)
    model.train_on_batch(_X4, np.array([0.0, 1.0, 2.0, 1.0]))


# ---------------------------------------------------------------------------- iterable data errors (class 8)


@pytest.mark.parametrize(
    "items, match",
    [
        (
            [(_X4,)],
            r"each batch must be an \(x, y\) or \(x, y, sample_weight\) tuple to train or evaluate, got a "
            r"tuple of 1: \(ndarray\)",
        ),
        (["abc"], r"each batch must be an \(x, y\) .* got a str 'abc'"),
        ([_X4], r"each batch must be an \(x, y\) .* got a ndarray"),
        ([], r"the data iterable yielded no batch"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_iterable_data_errors_name_the_method(method, items, match):
    with pytest.raises(ValueError, match=rf"^Sequential\.{method}: {match}"):
        getattr(_classifier(), method)(iter(items), verbose=0)


def test_iterable_running_out_warns_naming_the_method():
    model = _classifier()
    with pytest.warns(UserWarning, match=r"^Sequential\.fit: the data ran out after 1 of steps=3 batches"):
        model.fit(iter([(_X4, np.array([0, 1, 2, 0]))]), steps_per_epoch=3, verbose=0)
