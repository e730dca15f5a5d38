"""label_smoothing in the cross-entropies and reduction="none" (issue 16).

Values and gradients against NumPy formulas written here (float64, central differences), and
against real Keras 3.15.1 (tests/golden/keras_smoothing.json, made by
tests/golden/make_keras_smoothing_goldens.py): one-off loss values for every reduction, their
gradients, and small models' evaluate / train_on_batch / fit with a smoothed or a "none" loss
(the fused softmax/sigmoid heads included). Then training, serialization and bad arguments.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from conftest import BACKENDS, on
from keras_helpers import blobs
from sinapse import layers, losses, models, optimizers, reference
from sinapse.models import load_model

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "keras_smoothing.json").read_text())
CLASSES = {"categorical": losses.CategoricalCrossentropy, "binary": losses.BinaryCrossentropy}
EPS = 1e-7


def smoothed(kind, y, ls):
    """Keras 3's smoothing (keras/src/losses/losses.py), in float64."""
    y = np.asarray(y, np.float64)
    return y * (1 - ls) + (ls / y.shape[-1] if kind == "categorical" else 0.5 * ls)


def per_sample(kind, y, p, from_logits, ls):
    """Per-sample smoothed cross-entropy in float64, written from the definitions (not the reference)."""
    y, p = smoothed(kind, y, ls), np.asarray(p, np.float64)
    if kind == "categorical":
        if from_logits:
            log_q = p - p.max(-1, keepdims=True)
            log_q = log_q - np.log(np.exp(log_q).sum(-1, keepdims=True))
        else:
            log_q = np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS))
        return -(y * log_q).sum(-1)
    if from_logits:  # -(y log s(z) + (1 - y) log(1 - s(z)))
        return (np.logaddexp(0, -p) * y + np.logaddexp(0, p) * (1 - y)).mean(-1)
    q = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(q) + (1 - y) * np.log(1 - q)).mean(-1)


def reduced(values, sw, reduction):
    values = values if sw is None else values * sw
    return values.sum() / (values.size if reduction != "sum" else 1)


def data(rng, kind, from_logits, lead, cols):
    if kind == "categorical":
        y = np.eye(cols, dtype=np.float32)[rng.integers(0, cols, lead)]
    else:
        y = rng.integers(0, 2, (*lead, cols)).astype(np.float32)
    if from_logits:
        return y, (rng.standard_normal((*lead, cols)) * 2).astype(np.float32)
    return y, rng.uniform(0.05, 0.95, (*lead, cols)).astype(np.float32)


# ------------------------------------------------------------------ one-off values and gradients
@pytest.mark.parametrize("i", range(len(GOLDEN["values"])))
def test_value_and_gradient_match_keras(i):
    case = GOLDEN["values"][i]
    y, p = np.array(case["y_true"], np.float32), np.array(case["y_pred"], np.float32)
    sw = None if case["sample_weight"] is None else np.array(case["sample_weight"], np.float32)
    loss = CLASSES[case["kind"]](
        from_logits=case["from_logits"], label_smoothing=case["label_smoothing"], reduction=case["reduction"]
    )
    assert loss.get_config() == case["config"]
    got = loss(y, p, sample_weight=sw)
    want = np.array(case["value"], np.float32)
    if case["reduction"] == "none":
        assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == y.shape[:-1]
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    else:
        assert isinstance(got, float) and got == pytest.approx(float(want), rel=2e-6, abs=1e-6)
        value, grad = loss.compute(loss.prepare_targets(y, p.shape), p, sw, grad=True)
        assert value == pytest.approx(got, rel=1e-7)
        np.testing.assert_allclose(grad, np.array(case["grad"], np.float32), rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["categorical", "binary"])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("ls", [0.0, 0.15, 1.0])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_gradient_is_the_smoothed_losss_derivative(rng, backend, kind, from_logits, ls, reduction):
    # The kernels' fused (p - y) gradient stays the derivative with soft (smoothed) targets: central
    # differences of the float64 formula; "none" trains as the mean.
    y, p = data(rng, kind, from_logits, (2, 3), 4)
    sw = rng.uniform(0.5, 2.0, (2, 3)).astype(np.float32)
    loss = CLASSES[kind](from_logits=from_logits, label_smoothing=ls, reduction=reduction)
    with on(backend):
        value, grad = loss.compute(loss.prepare_targets(y, p.shape), p, sw, grad=True)
    f = lambda q: reduced(per_sample(kind, y, q, from_logits, ls), sw, reduction)  # noqa: E731
    p64 = p.astype(np.float64)
    assert value == pytest.approx(f(p64), rel=1e-5, abs=1e-6)
    numeric = np.zeros_like(p64)
    for idx in np.ndindex(p64.shape):
        e = np.zeros_like(p64)
        e[idx] = 1e-6
        numeric[idx] = (f(p64 + e) - f(p64 - e)) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=2e-3, atol=2e-6)


def test_smoothing_equals_the_reference_on_smoothed_targets(rng):
    y, z = data(rng, "categorical", True, (5,), 7)
    want = reference.loss(
        smoothed("categorical", y, 0.3).astype(np.float32), z, "categorical_crossentropy", from_logits=True
    )
    assert losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3)(y, z) == pytest.approx(want, rel=1e-6)
    y, p = data(rng, "binary", False, (5,), 2)
    want = reference.loss(smoothed("binary", y, 0.3).astype(np.float32), p, "binary_crossentropy")
    assert losses.BinaryCrossentropy(label_smoothing=0.3)(y, p) == pytest.approx(want, rel=1e-6)


# ------------------------------------------------------------------ reduction="none"
@pytest.mark.parametrize(
    "make, lead, cols",
    [
        (lambda: losses.CategoricalCrossentropy(reduction="none"), (6,), 4),
        (lambda: losses.CategoricalCrossentropy(reduction=None, from_logits=True), (3, 5), 4),
        (lambda: losses.BinaryCrossentropy(reduction="none", label_smoothing=0.2), (6,), 1),
        (lambda: losses.BinaryCrossentropy(reduction="none", from_logits=True), (3, 5), 2),
        (lambda: losses.SparseCategoricalCrossentropy(reduction="none"), (3, 5), 4),
        (lambda: losses.MeanSquaredError(reduction="none"), (6,), 3),
        (lambda: losses.MeanAbsoluteError(reduction="none"), (3, 5), 2),
        (lambda: losses.Huber(0.5, reduction="none"), (6,), 3),
    ],
)
def test_none_returns_per_sample_values_whose_mean_is_the_default(rng, make, lead, cols):
    loss = make()
    if loss.sparse:
        y = rng.integers(0, cols, lead)
    elif loss.kind in ("categorical_crossentropy", "binary_crossentropy"):
        y = data(rng, loss.kind.split("_")[0], False, lead, cols)[0]
    else:
        y = rng.standard_normal((*lead, cols)).astype(np.float32)
    p = rng.standard_normal((*lead, cols)) if loss.from_logits or not loss.kind.endswith("entropy") else None
    p = rng.uniform(0.05, 0.95, (*lead, cols)) if p is None else p
    p = p.astype(np.float32)
    sw = rng.uniform(0.5, 2.0, lead).astype(np.float32)
    values = loss(y, p)
    assert isinstance(values, np.ndarray) and values.shape == lead and values.dtype == np.float32
    np.testing.assert_allclose(loss(y, p, sample_weight=sw), values * sw, rtol=1e-6)
    mean = type(loss).from_config({**loss.get_config(), "reduction": "sum_over_batch_size"})
    assert float(values.mean()) == pytest.approx(mean(y, p), rel=1e-5)
    assert float((values * sw).mean()) == pytest.approx(mean(y, p, sample_weight=sw), rel=1e-5)


def test_none_with_a_mask_zeroes_masked_steps_unscaled(rng):
    # Keras's apply_mask scales by total/valid only for the mean reductions: "none" gives loss * mask.
    y, p = data(rng, "categorical", False, (2, 4), 3)
    mask = np.array([[True, True, False, False], [True, False, True, True]])
    sw = rng.uniform(0.5, 2.0, (2, 4)).astype(np.float32)
    loss = losses.CategoricalCrossentropy(reduction="none", label_smoothing=0.1)
    np.testing.assert_allclose(loss(y, p, sample_weight=sw, mask=mask), loss(y, p) * sw * mask, rtol=1e-6)
    mean = losses.CategoricalCrossentropy(label_smoothing=0.1)
    assert mean(y, p, sample_weight=sw, mask=mask) == pytest.approx(
        float((loss(y, p) * sw * mask).sum() / mask.sum()), rel=1e-5
    )
    with pytest.raises(ValueError, match=r"CategoricalCrossentropy: `sample_weight` must have shape \(2, 4\).*\(2,\)"):
        loss(y, p, sample_weight=np.ones(2, np.float32))


# ------------------------------------------------------------------ models against Keras
def _golden_model(name, case, **overrides):
    act, units, kind = {
        "softmax_cce": ("softmax", 3, "categorical"),
        "linear_cce_logits": ("linear", 3, "categorical"),
        "sigmoid_bce": ("sigmoid", 2, "binary"),
        "linear_bce_logits": ("linear", 1, "binary"),
        "softmax_cce_none": ("softmax", 3, "categorical"),
        "sigmoid_bce_none_smoothed": ("sigmoid", 2, "binary"),
    }[name]
    kwargs = {
        "softmax_cce": {"label_smoothing": 0.2},
        "linear_cce_logits": {"label_smoothing": 0.2, "from_logits": True},
        "sigmoid_bce": {"label_smoothing": 0.1},
        "linear_bce_logits": {"label_smoothing": 0.3, "from_logits": True},
        "softmax_cce_none": {"reduction": "none"},
        "sigmoid_bce_none_smoothed": {"reduction": "none", "label_smoothing": 0.4},
    }[name]
    model = models.Sequential([layers.Input((4,)), layers.Dense(units, activation=act)])
    model.set_weights([np.array(w, np.float32) for w in case["weights"]])
    model.compile(optimizer=optimizers.SGD(0.5), loss=CLASSES[kind](**{**kwargs, **overrides}), metrics=["accuracy"])
    return model


def _xy(case):
    return tuple(np.array(case[k], np.float32) for k in ("x", "y", "sample_weight"))


@pytest.mark.parametrize("name", sorted(GOLDEN["models"]))
def test_models_evaluate_as_keras(name):
    # Metrics ("accuracy") see the caller's labels, not the smoothed targets, as in Keras.
    case = GOLDEN["models"][name]
    x, y, sw = _xy(case)
    model = _golden_model(name, case)
    for bs in (8, 3):
        got = model.evaluate(x, y, batch_size=bs, sample_weight=sw, verbose=0, return_dict=True)
        assert got == pytest.approx(case[f"evaluate_bs{bs}"], rel=2e-6)


TRAINED = sorted(k for k, v in GOLDEN["models"].items() if "train_error" not in v)


@pytest.mark.parametrize("name", TRAINED)
def test_models_train_as_keras(name):
    case = GOLDEN["models"][name]
    x, y, sw = _xy(case)
    model = _golden_model(name, case)
    got = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
    assert got == pytest.approx(case["train_on_batch"], rel=2e-6)
    for w, want in zip(model.get_weights(), case["weights_after_step"]):
        np.testing.assert_allclose(w, np.array(want, np.float32), rtol=1e-5, atol=1e-7)
    model = _golden_model(name, case)
    history = model.fit(x, y, sample_weight=sw, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    for key, want in case["fit_history"].items():
        np.testing.assert_allclose(history[key], want, rtol=5e-6, err_msg=key)


@pytest.mark.parametrize("name", sorted(set(GOLDEN["models"]) - set(TRAINED)))
def test_a_none_loss_trains_as_the_mean(name):
    # Keras 3's JAX trainer cannot differentiate a non-scalar loss (recorded in the golden file);
    # sinapse trains a "none" loss as "sum_over_batch_size": same loss, same step.
    case = GOLDEN["models"][name]
    assert "Gradient only defined for scalar-output functions" in case["train_error"]
    x, y, sw = _xy(case)
    results = []
    for reduction in ("none", "sum_over_batch_size"):
        model = _golden_model(name, case, reduction=reduction)
        step = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
        history = model.fit(x, y, sample_weight=sw, batch_size=3, epochs=2, shuffle=False, verbose=0).history
        results.append((step, history, model.get_weights()))
    (step, hist, weights), (step_mean, hist_mean, weights_mean) = results
    assert step == step_mean and hist == hist_mean
    for a, b in zip(weights, weights_mean):
        np.testing.assert_array_equal(a, b)
    assert step["loss"] == pytest.approx(case["evaluate_bs8"]["loss"], rel=2e-6)  # Keras's evaluate: the mean


# ------------------------------------------------------------------ training
@pytest.mark.parametrize("kind, act", [("categorical", "softmax"), ("categorical", None), ("binary", "sigmoid")])
def test_fit_with_smoothing_trains_and_reports_the_smoothed_loss(rng, kind, act):
    x, labels = blobs(96, 5, 3, rng)
    y = np.eye(3, dtype=np.float32)[labels]
    loss = CLASSES[kind](label_smoothing=0.2, from_logits=act is None)
    model = models.Sequential([layers.Input((5,)), layers.Dense(8, activation="relu"), layers.Dense(3, activation=act)])
    model.compile(optimizer=optimizers.SGD(0.1), loss=loss)
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0]
    # The reported loss on one batch: the smoothed cross-entropy of the outputs before the step.
    sw = rng.uniform(0.5, 2.0, 16).astype(np.float32)
    out = model.predict(x[:16], verbose=0)
    want = reduced(per_sample(kind, y[:16], out, act is None, 0.2), sw, "mean")
    assert model.train_on_batch(x[:16], y[:16], sample_weight=sw) == pytest.approx(want, rel=1e-5)


@pytest.mark.skipif(not __import__("sinapse").cuda.simulator_built(), reason="built without the CUDA simulator")
def test_smoothed_training_on_cuda_sim_matches_the_cpu(rng):
    # The smoothing runs with the targets' array module (CuPy-like arrays on a CUDA device).
    x, labels = blobs(24, 4, 3, rng)
    y = np.eye(3, dtype=np.float32)[labels]
    results = []
    for device in ("cpu", "cuda-sim"):
        model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
        model.set_weights([np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), np.zeros(3, np.float32)])
        model.compile(optimizers.SGD(0.5), losses.CategoricalCrossentropy(label_smoothing=0.3), device=device)
        results.append((model.evaluate(x, y, verbose=0), model.train_on_batch(x, y), model.get_weights()))
    (ev_cpu, step_cpu, w_cpu), (ev_sim, step_sim, w_sim) = results
    assert ev_sim == pytest.approx(ev_cpu, rel=1e-6) and step_sim == pytest.approx(step_cpu, rel=1e-6)
    for a, b in zip(w_cpu, w_sim):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ serialization
@pytest.mark.parametrize(
    "loss",
    [
        losses.CategoricalCrossentropy(label_smoothing=0.1, reduction="none", name="cce"),
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=1.0, reduction=None),
        losses.SparseCategoricalCrossentropy(reduction="none"),
        losses.MeanSquaredError(reduction="none"),
    ],
)
def test_config_round_trip(loss):
    again = losses.get(losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert json.loads(json.dumps(losses.serialize(loss))) == losses.serialize(loss)


def test_keras_configs_are_read():
    for case in GOLDEN["values"][:8]:
        cls = CLASSES[case["kind"]]
        loss = losses.get({"class_name": cls.__name__, "config": case["config"]})
        assert loss.get_config() == case["config"]


def test_model_save_and_load_keep_the_loss(rng, tmp_path):
    # A single output's Loss instance is saved as {"class_name", "config"} and compiled back from it.
    x, labels = blobs(32, 4, 3, rng)
    y = np.eye(3, dtype=np.float32)[labels]
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", losses.CategoricalCrossentropy(label_smoothing=0.25, reduction="none"), metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded.compiled_loss) is losses.CategoricalCrossentropy
    assert loaded.compiled_loss.get_config() == model.compiled_loss.get_config()
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


def test_compile_takes_a_keras_serialized_loss():
    # What Keras 3 writes in a .keras file's compile_config (keras.losses.serialize).
    case = next(c for c in GOLDEN["values"] if c["label_smoothing"] == 0.35 and c["reduction"] == "none")
    cls = CLASSES[case["kind"]]
    entry = {"module": "keras.losses", "class_name": cls.__name__, "config": case["config"], "registered_name": None}
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", entry)
    assert type(model.compiled_loss) is cls and model.compiled_loss.get_config() == case["config"]


# ------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: losses.CategoricalCrossentropy(label_smoothing=-0.1), ValueError, None),
        (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), ValueError, None),
        (lambda: losses.BinaryCrossentropy(label_smoothing=float("nan")), ValueError, None),
        (lambda: losses.CategoricalCrossentropy(label_smoothing="0.1"), TypeError, None),
        (lambda: losses.BinaryCrossentropy(label_smoothing=True), TypeError, None),
        (
            lambda: losses.SparseCategoricalCrossentropy(label_smoothing=0.1),
            TypeError,
            r"SparseCategoricalCrossentropy.__init__\(\) got an unexpected keyword argument 'label_smoothing'",
        ),
        (
            lambda: losses.get({"class_name": "SparseCategoricalCrossentropy", "config": {"label_smoothing": 0.1}}),
            TypeError,
            r"unexpected keyword argument 'label_smoothing'",
        ),
        (
            lambda: losses.CategoricalCrossentropy(reduction="mean_with_sample_weight"),
            ValueError,
            r"CategoricalCrossentropy: `reduction` must be .*'none' \(or None\), got 'mean_with_sample_weight'",
        ),
        (lambda: losses.CategoricalCrossentropy(axis=0), ValueError, r"CategoricalCrossentropy: `axis` must be -1"),
    ],
)
def test_bad_arguments_name_the_class_and_argument(make, error, match):
    if match is None:
        match = r"(Binary|Categorical)Crossentropy: `label_smoothing` must be (a number )?in \[0, 1\], got"
    with pytest.raises(error, match=match):
        make()
