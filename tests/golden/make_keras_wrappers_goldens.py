"""Writes keras_wrappers.npz and keras_wrappers.keras: Keras 3's Bidirectional and TimeDistributed.

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_wrappers_goldens.py

Every weight, input and mask is generated here from a fixed NumPy seed and stored in the npz
(``<case>/x``, ``<case>/mask``, ``<case>/w<i>``, ``<case>/y<i>``), so tests/test_wrappers.py
rebuilds the same layers in sinapse and compares their outputs. keras_wrappers.keras is a small
Sequential model (Bidirectional LSTM + TimeDistributed Dense) saved by Keras, with its
predictions on ``file/x`` in ``file/y``.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CELLS = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}
MERGES = ("concat", "sum", "mul", "ave", None)


def set_random_weights(layer, rng, out, case):
    ws = [(rng.standard_normal(w.shape) * 0.5).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(ws)
    for i, w in enumerate(ws):
        out[f"{case}/w{i}"] = w


def store_outputs(y, out, case):
    ys = list(y) if isinstance(y, (list, tuple)) else [y]
    for i, a in enumerate(ys):
        out[f"{case}/y{i}"] = np.asarray(a, np.float32)


def bidirectional_cases(rng, out):
    n, t, d, units = 3, 5, 4, 3
    # row 0 all real steps, row 1 padded at the end, row 2 padded at the start and in the middle
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 1]], bool)
    for cell, cls in CELLS.items():
        for merge in MERGES:
            for seq in (False, True):
                for masked in (False, True):
                    case = f"bi_{cell}_{merge}_{'seq' if seq else 'last'}_{'mask' if masked else 'nomask'}"
                    layer = keras.layers.Bidirectional(cls(units, return_sequences=seq), merge_mode=merge)
                    x = rng.standard_normal((n, t, d)).astype(np.float32)
                    layer.build((None, t, d))
                    set_random_weights(layer, rng, out, case)
                    y = layer(x, mask=mask) if masked else layer(x)
                    out[f"{case}/x"] = x
                    out[f"{case}/mask"] = mask if masked else np.zeros((0,), bool)
                    store_outputs(y, out, case)
    # return_state: [y, h_f, c_f, h_b, c_b]
    case = "bi_LSTM_state"
    layer = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True, return_state=True))
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    layer.build((None, t, d))
    set_random_weights(layer, rng, out, case)
    out[f"{case}/x"], out[f"{case}/mask"] = x, mask
    store_outputs(layer(x, mask=mask), out, case)
    # a given backward_layer of another kind of activation
    case = "bi_SimpleRNN_backward_layer"
    layer = keras.layers.Bidirectional(
        keras.layers.SimpleRNN(units, return_sequences=True),
        backward_layer=keras.layers.SimpleRNN(units, activation="relu", return_sequences=True, go_backwards=True),
    )
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    layer.build((None, t, d))
    set_random_weights(layer, rng, out, case)
    out[f"{case}/x"], out[f"{case}/mask"] = x, np.zeros((0,), bool)
    store_outputs(layer(x), out, case)


def time_distributed_cases(rng, out):
    case = "td_Dense"
    layer = keras.layers.TimeDistributed(keras.layers.Dense(3, activation="tanh"))
    x = rng.standard_normal((2, 4, 5)).astype(np.float32)
    layer.build(x.shape)
    set_random_weights(layer, rng, out, case)
    out[f"{case}/x"] = x
    store_outputs(layer(x), out, case)
    case = "td_Conv2D"
    layer = keras.layers.TimeDistributed(keras.layers.Conv2D(2, 3, padding="same", activation="relu"))
    x = rng.standard_normal((2, 3, 6, 6, 2)).astype(np.float32)
    layer.build(x.shape)
    set_random_weights(layer, rng, out, case)
    out[f"{case}/x"] = x
    store_outputs(layer(x), out, case)


def keras_file(rng, out):
    model = keras.Sequential(
        [
            keras.Input((6, 4)),
            keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True)),
            keras.layers.TimeDistributed(keras.layers.Dense(2)),
            keras.layers.Bidirectional(keras.layers.GRU(2), merge_mode="sum"),
        ]
    )
    model.set_weights([(rng.standard_normal(w.shape) * 0.5).astype(np.float32) for w in model.get_weights()])
    model.save(os.path.join(HERE, "keras_wrappers.keras"))
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    out["file/x"], out["file/y"] = x, model.predict(x, verbose=0)


def main():
    rng = np.random.default_rng(16)
    out: dict = {}
    bidirectional_cases(rng, out)
    time_distributed_cases(rng, out)
    keras_file(rng, out)
    np.savez_compressed(os.path.join(HERE, "keras_wrappers.npz"), **out)
    print(f"wrote {len(out)} arrays")


if __name__ == "__main__":
    main()
