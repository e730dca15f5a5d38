"""Writes keras_smoothing.json: Keras 3's cross-entropies with label_smoothing and reduction="none".

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_smoothing_goldens.py

Every weight and input is generated here from a fixed NumPy seed and stored in the JSON, so
tests/test_losses_smoothing.py rebuilds the same losses and models in sinapse and compares:
one-off loss values (every reduction) and their gradients (jax.grad of the reduced loss), and
small models' evaluate / train_on_batch / fit with a smoothed loss or a "none" loss.
"""

from __future__ import annotations

import itertools
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_smoothing.json")
CLASSES = {"categorical": keras.losses.CategoricalCrossentropy, "binary": keras.losses.BinaryCrossentropy}


def arr(a):
    return np.asarray(a, np.float64).tolist()


def data(kind, from_logits, lead, cols, rng):
    """Targets (one-hot or 0/1) and predictions (probabilities or logits) of shape lead + (cols,)."""
    shape = (*lead, cols)
    if kind == "categorical":
        y = np.eye(cols, dtype=np.float32)[rng.integers(0, cols, lead)]
        z = rng.standard_normal(shape).astype(np.float32) * 2
        p = z if from_logits else np.asarray(jax.nn.softmax(z, axis=-1), np.float32)
    else:
        y = rng.integers(0, 2, shape).astype(np.float32)
        z = rng.standard_normal(shape).astype(np.float32) * 2
        p = z if from_logits else rng.uniform(0.05, 0.95, shape).astype(np.float32)
    return y, p


def value_cases():
    """One-off ``loss(y_true, y_pred, sample_weight)`` and, for the reduced kinds, d loss / d y_pred."""
    rng = np.random.default_rng(16)
    cases = []
    grid = itertools.product(
        ("categorical", "binary"), (False, True), (0.0, 0.1, 0.35, 1.0), ("sum_over_batch_size", "sum", "none"), (0, 1)
    )
    for kind, logits, ls, reduction, weighted in grid:
        lead = (6,)
        y, p = data(kind, logits, lead, 4 if kind == "categorical" else 3, rng)
        sw = rng.uniform(0.2, 2.0, lead).astype(np.float32) if weighted else None
        cases.append(one(kind, logits, ls, reduction, y, p, sw))
    for kind, logits, weighted in itertools.product(("categorical", "binary"), (False, True), (0, 1)):
        lead = (3, 4)  # sequences: per-step values (N, T) with "none"
        y, p = data(kind, logits, lead, 5 if kind == "categorical" else 2, rng)
        sw = rng.uniform(0.2, 2.0, lead).astype(np.float32) if weighted else None
        for reduction in ("none", "sum_over_batch_size"):
            cases.append(one(kind, logits, 0.2, reduction, y, p, sw))
    return cases


def one(kind, logits, ls, reduction, y, p, sw):
    loss = CLASSES[kind](from_logits=logits, label_smoothing=ls, reduction=reduction)
    value = np.asarray(loss(y, p, sample_weight=sw))
    case = {
        "kind": kind,
        "from_logits": logits,
        "label_smoothing": ls,
        "reduction": reduction,
        "y_true": arr(y),
        "y_pred": arr(p),
        "sample_weight": None if sw is None else arr(sw),
        "value": arr(value),
        "config": {k: v for k, v in loss.get_config().items() if k != "dtype"},
    }
    if reduction != "none":
        case["grad"] = arr(jax.grad(lambda q: loss(y, q, sample_weight=sw))(p))
    return case


MODELS = {
    "softmax_cce": ("softmax", 3, "categorical", {"label_smoothing": 0.2}),
    "linear_cce_logits": ("linear", 3, "categorical", {"label_smoothing": 0.2, "from_logits": True}),
    "sigmoid_bce": ("sigmoid", 2, "binary", {"label_smoothing": 0.1}),
    "linear_bce_logits": ("linear", 1, "binary", {"label_smoothing": 0.3, "from_logits": True}),
    "softmax_cce_none": ("softmax", 3, "categorical", {"reduction": "none"}),
    "sigmoid_bce_none_smoothed": ("sigmoid", 2, "binary", {"reduction": "none", "label_smoothing": 0.4}),
}


def model_cases():
    """evaluate (batches of 8 and 3), one SGD train_on_batch (weights after) and a fit history, with
    sample weights and the "accuracy" metric (which must see the caller's labels, not smoothed ones);
    a "none" loss's fit is recorded as Keras's JAX error (a non-scalar loss has no gradient there)."""
    rng = np.random.default_rng(61)
    out = {}
    for name, (act, units, kind, kwargs) in MODELS.items():
        x = rng.standard_normal((8, 4)).astype(np.float32)
        y, _ = data(kind, False, (8,), units, rng)
        sw = rng.uniform(0.5, 2.0, 8).astype(np.float32)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=act)])
        init = [(rng.standard_normal(w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
        model.set_weights(init)
        case = {"x": arr(x), "y": arr(y), "sample_weight": arr(sw), "weights": [arr(w) for w in init]}
        loss = CLASSES[kind](**kwargs)
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, metrics=["accuracy"])
        for bs in (8, 3):
            res = model.evaluate(x, y, batch_size=bs, sample_weight=sw, verbose=0, return_dict=True)
            case[f"evaluate_bs{bs}"] = {k: float(v) for k, v in res.items()}
        try:
            res = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
            case["train_on_batch"] = {k: float(v) for k, v in res.items()}
            case["weights_after_step"] = [arr(w) for w in model.get_weights()]
            model.set_weights(init)
            model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, metrics=["accuracy"])
            hist = model.fit(x, y, sample_weight=sw, batch_size=4, epochs=3, shuffle=False, verbose=0)
            case["fit_history"] = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
        except Exception as e:  # noqa: BLE001  (record what Keras's JAX trainer does with a "none" loss)
            case["train_error"] = f"{type(e).__name__}: {str(e)[:200]}"
        out[name] = case
    return out


def main():
    golden = {
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "values": value_cases(),
        "models": model_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
