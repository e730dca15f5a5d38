"""Masked loss and metrics (issue 11, item 10) and Keras 3's "accuracy" rule (item 11).

A sequence model whose output carries a mask (Embedding(mask_zero=True) or Masking, one output
per step) leaves the padded steps out of the loss, its gradient and the metrics, dividing by the
number of unpadded steps, as Keras 3 does (keras/src/losses/loss.py apply_mask,
keras/src/metrics/reduction_metrics.py). Checked against hand-computed values and against real
Keras 3.15.1 (tests/golden/keras_masking.json, made by tests/golden/make_keras_masking_goldens.py).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from sinapse import layers, losses, metrics, models, optimizers

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "keras_masking.json").read_text())
IDS = np.array([[3, 1, 4, 0, 0], [0, 0, 2, 5, 1], [1, 2, 3, 4, 5], [0, 0, 0, 0, 0], [5, 0, 2, 0, 4]], np.float32)


def _golden_model(name, weights):
    if name.startswith("embedding_lstm"):
        stack = [
            layers.Input((5,)),
            layers.Embedding(6, 3, mask_zero=True),
            layers.LSTM(4, return_sequences=True),
            layers.Dense(3, activation="softmax"),
        ]
        loss, mets = "sparse_categorical_crossentropy", ["accuracy"]
    elif name.startswith("masking"):
        stack, loss, mets = [layers.Input((4, 2)), layers.Masking(0.0), layers.Dense(2)], "mse", ["mae", "accuracy"]
    else:
        stack = [layers.Input((5,)), layers.Embedding(6, 3, mask_zero=True), layers.Dense(1, activation="sigmoid")]
        loss, mets = "binary_crossentropy", ["accuracy"]
    model = models.Sequential(stack)
    model.set_weights([np.array(w, np.float32) for w in weights])
    model.compile(optimizer=optimizers.SGD(0.5), loss=loss, metrics=mets)
    return model


MASKED = sorted(k for k, v in GOLDEN["masked"].items() if "error" not in v)


@pytest.mark.parametrize("name", MASKED)
def test_masked_loss_and_metrics_match_keras(name):
    case = GOLDEN["masked"][name]
    x, y = np.array(case["x"], np.float32), np.array(case["y"])
    sw = None if case["sample_weight"] is None else np.array(case["sample_weight"], np.float32)
    model = _golden_model(name, case["weights"])
    assert [type(m).__name__ for m in model._resolve_metrics()] == case["metric_classes"]
    for bs in (5, 3):  # one batch, and batches of 3 + 2 (each divided by its own unpadded steps)
        got = model.evaluate(x, y, batch_size=bs, sample_weight=sw, verbose=0, return_dict=True)
        assert got == pytest.approx(case[f"evaluate_bs{bs}"], rel=2e-6)
    got = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
    # The loss and the gradient (the weights after one SGD step) are Keras's. The batch's metrics are
    # those of the outputs before the step, masked: Keras's evaluate values (Keras's JAX trainer drops
    # the mask for training metrics, as its y_pred comes back through jax.value_and_grad; TF keeps it).
    assert got["loss"] == pytest.approx(case["train_on_batch"]["loss"], rel=2e-6)
    assert {k: v for k, v in got.items() if k != "loss"} == pytest.approx(
        {k: v for k, v in case["evaluate_bs5"].items() if k != "loss"}, rel=2e-6
    )
    for w, want in zip(model.get_weights(), case["weights_after_step"]):
        np.testing.assert_allclose(w, np.array(want, np.float32), rtol=1e-5, atol=1e-7)
    model = _golden_model(name, case["weights"])
    history = model.fit(x, y, batch_size=2, epochs=2, shuffle=False, sample_weight=sw, verbose=0).history
    np.testing.assert_allclose(history["loss"], case["fit_history"]["loss"], rtol=2e-6)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _seq_model(rnn=layers.LSTM):
    model = models.Sequential(
        [
            layers.Input((5,)),
            layers.Embedding(6, 3, mask_zero=True),
            rnn(4, return_sequences=True),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("rnn", [layers.LSTM, layers.GRU, layers.SimpleRNN])
@pytest.mark.parametrize("weighting", ["none", "per_step", "per_sample"])
def test_masked_values_by_hand(rnn, weighting):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, IDS.shape)
    sw = {
        "none": None,
        "per_step": rng.uniform(0.1, 2, IDS.shape).astype(np.float32),
        "per_sample": rng.uniform(0.1, 2, len(IDS)).astype(np.float32),
    }[weighting]
    model = _seq_model(rnn)
    p = model.predict(IDS).astype(np.float64)
    mask = IDS != 0
    w = np.ones(IDS.shape) if sw is None else np.broadcast_to(sw.reshape(len(IDS), -1), IDS.shape)
    ce = -np.log(np.clip(np.take_along_axis(p, y[..., None], -1)[..., 0], 1e-7, 1))
    want_loss = (ce * w * mask).sum() / mask.sum()  # / unpadded steps, not / (N * T)
    want_acc = ((p.argmax(-1) == y) * mask).sum() / mask.sum()  # metrics take no sample weights
    loss, acc = model.evaluate(IDS, y, sample_weight=sw, batch_size=5, verbose=0)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    assert acc == pytest.approx(want_acc, rel=1e-6)
    assert model.test_on_batch(IDS, y, sample_weight=sw) == pytest.approx([want_loss, want_acc], rel=1e-5)
    assert model.train_on_batch(IDS, y, sample_weight=sw) == pytest.approx([want_loss, want_acc], rel=1e-5)


def test_padded_steps_get_no_gradient_and_do_not_change_the_loss():
    # The targets at padded steps must not matter to the loss, the metric or the step taken.
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, IDS.shape)
    y_other = np.where(IDS != 0, y, (y + 1) % 3)
    results = []
    for targets in (y, y_other):
        model = _seq_model()
        model.set_weights(
            [np.full_like(w, 0.1) + 0.01 * np.arange(w.size).reshape(w.shape) % 0.3 for w in model.get_weights()]
        )
        logs = model.train_on_batch(IDS, targets, return_dict=True)
        results.append((logs, [w.copy() for w in model.get_weights()]))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_all_padded_batch_gives_zero_loss_and_no_step():
    model = _seq_model()
    before = [w.copy() for w in model.get_weights()]
    zeros = np.zeros((2, 5), np.float32)
    assert model.train_on_batch(zeros, np.ones((2, 5), np.int32)) == [0.0, 0.0]  # Keras's divide_no_nan
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loss_api_with_mask_and_reductions():
    rng = np.random.default_rng(8)
    p = _softmax(rng.standard_normal((3, 4, 5))).astype(np.float32)
    y = rng.integers(0, 5, (3, 4))
    mask = rng.random((3, 4)) < 0.6
    ce = -np.log(np.take_along_axis(p.astype(np.float64), y[..., None], -1)[..., 0])
    scce = losses.SparseCategoricalCrossentropy()
    assert scce(y, p, mask=mask) == pytest.approx((ce * mask).sum() / mask.sum(), rel=1e-5)
    assert losses.SparseCategoricalCrossentropy(reduction="sum")(y, p, mask=mask) == pytest.approx(
        (ce * mask).sum(), rel=1e-5
    )
    sw = rng.uniform(0.5, 2, (3, 4)).astype(np.float32)
    assert scce(y, p, sample_weight=sw, mask=mask) == pytest.approx((ce * sw * mask).sum() / mask.sum(), rel=1e-5)
    mse = losses.MeanSquaredError()
    t = rng.standard_normal(p.shape).astype(np.float32)
    per_step = ((p.astype(np.float64) - t) ** 2).mean(-1)
    assert mse(t, p, mask=mask) == pytest.approx((per_step * mask).sum() / mask.sum(), rel=1e-5)
    assert scce(y, p, mask=np.zeros((3, 4), bool)) == 0.0
    with pytest.raises(
        ValueError,
        match=r"SparseCategoricalCrossentropy: `mask` must have the shape of the outputs "
        r"without their last axis, \(3, 4\), got \(3, 5\)",
    ):
        scce(y, p, mask=np.ones((3, 5), bool))
    with pytest.raises(
        ValueError,
        match=r"SparseCategoricalCrossentropy: with a mask, `sample_weight` must have "
        r"the mask's shape \(3, 4\), got \(3,\)",
    ):
        scce(y, p, sample_weight=np.ones(3, np.float32), mask=mask)


def test_metric_api_follows_keras_mean_metric_wrapper():
    rng = np.random.default_rng(9)
    m = metrics.SparseCategoricalAccuracy()
    batches = []
    for t in (2, 4):  # batches of different lengths: Keras averages each sample over its steps first
        p = rng.random((3, t, 4)).astype(np.float32)
        y = rng.integers(0, 4, (3, t))
        mask = rng.random((3, t)) < 0.7
        mask[:, 0] = True
        m.update_state(y, p, mask=mask)
        batches.append(((p.argmax(-1) == y) * mask, mask))
    total = sum((v.mean(1)).sum() for v, _ in batches)
    count = sum((k.mean(1)).sum() for _, k in batches)
    assert m.result() == pytest.approx(total / count, rel=1e-12)
    # sample_weight (N,) on (N, T) values: values averaged per sample, then weighted (Keras's Mean).
    v = rng.random((4, 3)) < 0.5
    sw = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
    acc = metrics.BinaryAccuracy()
    assert acc(v.astype(np.float32), v * 0.8 + 0.1, sample_weight=sw) == pytest.approx(1.0)
    assert acc(v.astype(np.float32), 1 - (v * 0.8 + 0.1), sample_weight=sw) == 0.0
    mae = metrics.MeanAbsoluteError()
    a, b = rng.random((4, 3)), rng.random((4, 3))
    assert mae(a, b, sample_weight=sw) == pytest.approx((np.abs(a - b).mean(1) * sw).sum() / sw.sum(), rel=1e-6)
    # Keras's binary_accuracy compares y_true with float(y_pred > threshold): a soft label never matches.
    assert acc(np.array([[0.7]]), np.array([[0.9]])) == 0.0


# ---------------------------------------------------------------------------------- item 11


def _acc_case_loss(name):
    return {
        "BinaryCrossentropy_logits": losses.BinaryCrossentropy(from_logits=True),
        "CategoricalCrossentropy": losses.CategoricalCrossentropy(),
    }.get(name, name)


@pytest.mark.parametrize(
    "case", GOLDEN["accuracy"]["cases"], ids=lambda c: f"{c['loss']}-{c['units']}-{c['identifier']}"
)
def test_accuracy_resolution_matches_keras(case):
    x = np.array(GOLDEN["accuracy"]["x"], np.float32)
    y = np.array(case["y"], np.float32)
    model = models.Sequential([layers.Input((4,)), layers.Dense(case["units"], activation=case["activation"])])
    model.set_weights([np.array(w, np.float32) for w in case["weights"]])
    model.compile(optimizer="sgd", loss=_acc_case_loss(case["loss"]), metrics=[case["identifier"]])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    (metric,) = model._resolve_metrics()
    assert (type(metric).__name__, metric.name) == (case["metric_class"], case["metric_name"])
    assert logs[case["identifier"]] == pytest.approx(case["value"], rel=1e-6)


@pytest.mark.parametrize(
    "y_true, y_pred, expected",
    [
        ((8,), (8, 1), "BinaryAccuracy"),  # y_pred's last axis 1 wins over everything
        ((8, 1), (8, 1), "BinaryAccuracy"),
        ((8, 5, 1), (8, 5, 1), "BinaryAccuracy"),
        ((8,), (8, 4), "SparseCategoricalAccuracy"),  # lower rank
        ((8, 5), (8, 5, 4), "SparseCategoricalAccuracy"),
        ((8, 1), (8, 4), "SparseCategoricalAccuracy"),  # last axis 1
        ((8, 4), (8, 4), "CategoricalAccuracy"),
        ((8, 5, 4), (8, 5, 4), "CategoricalAccuracy"),
        ((8, 3, 4), (8, 4), "CategoricalAccuracy"),  # higher rank, last axis > 1
    ],
)
def test_resolve_accuracy_every_branch(y_true, y_pred, expected):
    for name in ("accuracy", "acc", "ACC", "Accuracy"):
        metric = metrics.resolve_accuracy(name, y_true, y_pred)
        assert type(metric).__name__ == expected and metric.name == name


def test_issue_example_binary_crossentropy_with_several_sigmoids_is_categorical():
    # Keras 3 resolves from shapes only: (N, 3) targets for (N, 3) outputs -> categorical accuracy.
    for loss in ("binary_crossentropy", losses.BinaryCrossentropy(from_logits=True), "mse"):
        assert type(metrics.get("accuracy", losses.get(loss), (3,))).__name__ == "CategoricalAccuracy"
    assert type(metrics.get("acc", losses.get("binary_crossentropy"), (1,))).__name__ == "BinaryAccuracy"
    assert (
        type(metrics.get("accuracy", losses.get("sparse_categorical_crossentropy"), (7, 4))).__name__
        == "SparseCategoricalAccuracy"
    )
    with pytest.raises(ValueError, match=r"metrics.get: `accuracy` is resolved from the outputs' shape"):
        metrics.get("accuracy")
    with pytest.raises(ValueError, match=r"metrics.get: unknown metric `acuracy`"):
        metrics.get("acuracy")


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: losses.get("crossentropy"),
            ValueError,
            r"losses.get: unknown loss `crossentropy`; .*'crossentropy'/'ce' alias is not supported",
        ),
        (lambda: losses.get("CE"), ValueError, r"losses.get: unknown loss `CE`"),
        (lambda: losses.get(3), TypeError, r"losses.get: cannot interpret `identifier`=3 as a loss"),
        (
            lambda: losses.BinaryCrossentropy(label_smoothing=1.1),
            ValueError,
            r"BinaryCrossentropy: `label_smoothing` must be in \[0, 1\], got 1.1",
        ),
        (
            lambda: losses.CategoricalCrossentropy(axis=1),
            ValueError,
            r"CategoricalCrossentropy: `axis` must be -1.*got 1",
        ),
        (
            lambda: losses.SparseCategoricalCrossentropy(ignore_class=0),
            ValueError,
            r"SparseCategoricalCrossentropy: `ignore_class` must be None .*got 0",
        ),
        (
            lambda: losses.MeanSquaredError(reduction="mean_with_sample_weight"),
            ValueError,
            r"MeanSquaredError: `reduction` must be .*got 'mean_with_sample_weight'",
        ),
    ],
)
def test_loss_argument_errors_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.skipif(not __import__("sinapse").cuda.simulator_built(), reason="built without the CUDA simulator")
def test_masked_training_on_cuda_sim_matches_the_cpu():
    # The mask, the weights it becomes and the masked metrics run with the device's array module.
    y = np.random.default_rng(0).integers(0, 2, (*IDS.shape, 1)).astype(np.float32)
    results = []
    for device in ("cpu", "cuda-sim"):
        model = models.Sequential(
            [layers.Input((5,)), layers.Embedding(6, 3, mask_zero=True), layers.Dense(1, activation="sigmoid")]
        )
        model.set_weights(
            [
                np.linspace(-1, 1, 18, dtype=np.float32).reshape(6, 3),
                np.array([[0.5], [-0.3], [0.2]], np.float32),
                np.array([0.1], np.float32),
            ]
        )
        model.compile(optimizer=optimizers.SGD(0.5), loss="binary_crossentropy", metrics=["accuracy"], device=device)
        results.append((model.evaluate(IDS, y, verbose=0), model.train_on_batch(IDS, y), model.get_weights()))
    (ev_cpu, step_cpu, w_cpu), (ev_sim, step_sim, w_sim) = results
    assert ev_sim == pytest.approx(ev_cpu, rel=1e-6) and step_sim == pytest.approx(step_cpu, rel=1e-6)
    for a, b in zip(w_cpu, w_sim):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
