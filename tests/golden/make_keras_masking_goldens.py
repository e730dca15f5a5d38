"""Writes keras_masking.json: Keras 3's masked loss/metrics, "accuracy" resolution and LR schedules.

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_masking_goldens.py

Every weight and input is generated here from a fixed NumPy seed and stored in the JSON, so
tests/test_masked_loss.py rebuilds the same models in sinapse and compares.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_masking.json")


def arr(a):
    return np.asarray(a, np.float64).tolist()


def weights_for(model, rng):
    ws = [(rng.standard_normal(w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
    model.set_weights(ws)
    return [arr(w) for w in ws]


def run(model, loss, metrics, x, y, sw=None):
    """evaluate (two batch sizes), one SGD train_on_batch (weights after), fit history."""
    out = {}
    init = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, metrics=metrics)
    kw = {} if sw is None else {"sample_weight": np.asarray(sw, np.float32)}
    for bs in (5, 3):
        out[f"evaluate_bs{bs}"] = model.evaluate(x, y, batch_size=bs, verbose=0, return_dict=True, **kw)
    out["metric_classes"] = [type(m).__name__ for m in model._compile_metrics.metrics]
    out["train_on_batch"] = model.train_on_batch(x, y, return_dict=True, **kw)
    out["weights_after_step"] = [arr(w) for w in model.get_weights()]
    model.set_weights(init)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, metrics=metrics)
    hist = model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0, **kw)
    out["fit_history"] = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    model.set_weights(init)
    for key in ("evaluate_bs5", "evaluate_bs3", "train_on_batch"):
        out[key] = {n: float(v) for n, v in out[key].items()}
    return out


def masked_cases():
    rng = np.random.default_rng(11)
    ids = np.array([[3, 1, 4, 0, 0], [0, 0, 2, 5, 1], [1, 2, 3, 4, 5], [0, 0, 0, 0, 0], [5, 0, 2, 0, 4]], np.int32)
    labels = rng.integers(0, 3, ids.shape).astype(np.int32)
    cases = {}

    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Embedding(6, 3, mask_zero=True),
            keras.layers.LSTM(4, return_sequences=True),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    w = weights_for(model, rng)
    sw_nt = rng.uniform(0.2, 2.0, ids.shape).astype(np.float32)
    for name, sw in (("plain", None), ("sample_weight_NT", sw_nt)):
        cases[f"embedding_lstm_scce_{name}"] = {
            "x": ids.tolist(),
            "y": labels.tolist(),
            "weights": w,
            "sample_weight": None if sw is None else arr(sw),
            **run(model, "sparse_categorical_crossentropy", ["accuracy"], ids, labels, sw),
        }

    feats = rng.standard_normal((5, 4, 2)).astype(np.float32)
    feats[0, 2:] = 0.0
    feats[1, :1] = 0.0
    feats[3, :] = 0.0
    feats[4, 1] = 0.0
    targets = rng.standard_normal((5, 4, 2)).astype(np.float32)
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.Masking(0.0), keras.layers.Dense(2)])
    w = weights_for(model, rng)
    cases["masking_dense_mse"] = {
        "x": arr(feats),
        "y": arr(targets),
        "weights": w,
        "sample_weight": None,
        **run(model, "mse", ["mae", "accuracy"], feats, targets),
    }

    bin_y = rng.integers(0, 2, (*ids.shape, 1)).astype(
        np.float32
    )  # (N, T, 1): Keras squeezes an (N, T) y to per-row values
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Embedding(6, 3, mask_zero=True), keras.layers.Dense(1, activation="sigmoid")]
    )
    w = weights_for(model, rng)
    sw_n = rng.uniform(0.5, 2.0, (len(ids),)).astype(np.float32)
    cases["embedding_dense_bce"] = {
        "x": ids.tolist(),
        "y": arr(bin_y),
        "weights": w,
        "sample_weight": None,
        **run(model, "binary_crossentropy", ["accuracy"], ids, bin_y),
    }
    try:
        res = run(model, "binary_crossentropy", ["accuracy"], ids, bin_y, sw_n)
    except Exception as e:  # noqa: BLE001  (record what Keras does with (N,) weights and an (N, T) mask)
        res = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
    cases["embedding_dense_bce_sample_weight_N"] = {
        "x": ids.tolist(),
        "y": arr(bin_y),
        "weights": w,
        "sample_weight": arr(sw_n),
        **res,
    }
    return cases


def accuracy_cases():
    """Which class "accuracy" resolves to, and its value, per (loss, output units, y shape, identifier)."""
    rng = np.random.default_rng(7)
    n = 8
    x = rng.standard_normal((n, 4)).astype(np.float32)
    table = [
        ("binary_crossentropy", 3, "sigmoid", "multi_hot", "accuracy"),
        ("binary_crossentropy", 1, "sigmoid", "labels_n", "accuracy"),
        ("binary_crossentropy", 1, "sigmoid", "labels_n1", "acc"),
        ("categorical_crossentropy", 4, "softmax", "one_hot", "accuracy"),
        ("sparse_categorical_crossentropy", 4, "softmax", "labels_n", "accuracy"),
        ("sparse_categorical_crossentropy", 4, "softmax", "labels_n1", "Accuracy"),
        ("sparse_categorical_crossentropy", 1, "softmax", "zeros_n", "accuracy"),
        ("mse", 1, "linear", "labels_n", "ACC"),
        ("mse", 3, "linear", "multi_hot", "accuracy"),
        ("mae", 2, "linear", "one_hot", "acc"),
        ("huber", 3, "linear", "multi_hot", "accuracy"),
        ("BinaryCrossentropy_logits", 3, "linear", "multi_hot", "accuracy"),
        ("BinaryCrossentropy_logits", 1, "linear", "labels_n1", "accuracy"),
        ("CategoricalCrossentropy", 3, "softmax", "one_hot", "accuracy"),
    ]
    out = []
    for loss, units, act, ykind, ident in table:
        if ykind == "multi_hot":
            y = rng.integers(0, 2, (n, units)).astype(np.float32)
        elif ykind == "one_hot":
            y = np.eye(units, dtype=np.float32)[rng.integers(0, units, n)]
        elif ykind == "labels_n":
            y = rng.integers(0, max(units, 2), n).astype(np.float32)
        elif ykind == "labels_n1":
            y = rng.integers(0, max(units, 2), (n, 1)).astype(np.float32)
        else:
            y = np.zeros(n, np.float32)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=act)])
        w = weights_for(model, rng)
        keras_loss = {
            "BinaryCrossentropy_logits": keras.losses.BinaryCrossentropy(from_logits=True),
            "CategoricalCrossentropy": keras.losses.CategoricalCrossentropy(),
        }.get(loss, loss)
        model.compile(optimizer="sgd", loss=keras_loss, metrics=[ident])
        res = model.evaluate(x, y, verbose=0, return_dict=True)
        out.append(
            {
                "loss": loss,
                "units": units,
                "activation": act,
                "y": arr(y),
                "identifier": ident,
                "weights": w,
                "metric_class": type(model._compile_metrics.metrics[0]).__name__,
                "metric_name": model._compile_metrics.metrics[0].name,
                "value": float(res[ident]),
            }
        )
    return {"x": arr(x), "cases": out}


def schedule_cases():
    s = keras.optimizers.schedules
    made = {
        "CosineDecay": s.CosineDecay(0.1, 20),
        "CosineDecay_alpha": s.CosineDecay(0.1, 20, alpha=0.1),
        "CosineDecay_warmup": s.CosineDecay(0.0, 20, alpha=0.05, warmup_target=0.2, warmup_steps=5),
        "CosineDecay_warmup_from": s.CosineDecay(0.01, 10, warmup_target=0.1, warmup_steps=4),
        "CosineDecayRestarts": s.CosineDecayRestarts(0.1, 10),
        "CosineDecayRestarts_t1_m": s.CosineDecayRestarts(0.1, 7, t_mul=1.0, m_mul=0.5, alpha=0.1),
        "CosineDecayRestarts_t3": s.CosineDecayRestarts(0.2, 5, t_mul=3.0, m_mul=0.8, alpha=0.0),
        "CosineDecayRestarts_t15": s.CosineDecayRestarts(1.0, 4, t_mul=1.5, m_mul=0.9, alpha=0.2),
        "InverseTimeDecay": s.InverseTimeDecay(0.1, 10, 0.5),
        "InverseTimeDecay_staircase": s.InverseTimeDecay(0.1, 10, 0.5, staircase=True),
        "PolynomialDecay": s.PolynomialDecay(0.1, 20),
        "PolynomialDecay_power": s.PolynomialDecay(0.1, 20, end_learning_rate=0.01, power=2.0),
        "PolynomialDecay_cycle": s.PolynomialDecay(0.1, 10, end_learning_rate=0.001, power=0.5, cycle=True),
        "ExponentialDecay": s.ExponentialDecay(0.1, 10, 0.5),
    }
    steps = list(range(0, 75)) + [99, 100, 155, 1000]
    return {
        name: {
            "class_name": type(sch).__name__,
            "config": sch.get_config(),
            "values": [float(sch(st)) for st in steps],
            "steps": steps,
        }
        for name, sch in made.items()
    }


def main():
    golden = {
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "masked": masked_cases(),
        "accuracy": accuracy_cases(),
        "schedules": schedule_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
