"""Writes keras_rnn_dropout.npz: Keras 3's SimpleRNN / LSTM / GRU in training with dropout
masks of our choosing injected, so the cell math can be compared with the same masks.

Run it in a separate virtual environment (the tests never import Keras):

    KERAS_BACKEND=jax /work/kenv/bin/python tests/golden/make_keras_rnn_dropout_goldens.py

How the masks get in: Keras's DropoutRNNCell (keras/src/layers/rnn/dropout_rnn_cell.py)
caches the masks of a call in ``cell._dropout_mask`` / ``cell._recurrent_dropout_mask`` and
only draws when they are None; RNN.call asks for them first (``_maybe_config_dropout_masks``)
and clears them after the call. Setting them before ``layer(x, training=True)`` therefore runs
Keras's own training-mode cell with exactly these masks (values 0 or 1 / (1 - rate), as
``backend.random.dropout`` on ones makes them): a list of one (N, D) / (N, H) array per gate
block when the cell uses ``dropout_mask_count`` (implementation=1, forced by
recurrent_dropout > 0), else one array.

Stored per case ``<name>/``: ``x`` (N, T, D), the layer's weights ``w0``, ``w1``[, ``w2``],
``dm`` (N, D) or (N, G, D), ``rdm`` (N, G, H) (absent when the case has no recurrent
dropout), ``y`` (the output sequence) and ``h`` (the final state).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_rnn_dropout.npz")
N, T, D, H = 3, 5, 4, 6
RATE = 0.4

# name -> (layer class, gates, kwargs)
CASES = {
    "simple_both": ("SimpleRNN", 1, {"dropout": RATE, "recurrent_dropout": RATE}),
    "lstm_input_only": ("LSTM", 4, {"dropout": RATE}),
    "lstm_both": ("LSTM", 4, {"dropout": RATE, "recurrent_dropout": RATE}),
    # use_cudnn=False: with "auto", Keras 3.15.1's LSTM.inner_loop broadcasts the list of four
    # masks of implementation=1 as one array and fails ("Cannot broadcast"); the cell path runs.
    "lstm_impl1_input": ("LSTM", 4, {"dropout": RATE, "implementation": 1, "use_cudnn": False}),
    "gru_both": ("GRU", 3, {"dropout": RATE, "recurrent_dropout": RATE}),
    "gru_before_both": ("GRU", 3, {"dropout": RATE, "recurrent_dropout": RATE, "reset_after": False}),
    "gru_input_only": ("GRU", 3, {"dropout": RATE}),
}


def keep(rng, *shape):
    return ((rng.random(shape) >= RATE) / (1 - RATE)).astype(np.float32)


def main():
    rng = np.random.default_rng(20261201)
    out = {}
    for name, (cls, gates, kwargs) in CASES.items():
        layer = getattr(keras.layers, cls)(H, return_sequences=True, return_state=True, **kwargs)
        x = rng.standard_normal((N, T, D)).astype(np.float32)
        layer.build((N, T, D))
        weights = [rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in layer.get_weights()]
        layer.set_weights(weights)
        cell = layer.cell
        per_gate = getattr(cell, "dropout_mask_count", None) is not None
        dm = keep(rng, N, gates, D) if per_gate else keep(rng, N, D)
        cell._dropout_mask = [dm[:, q] for q in range(gates)] if per_gate else dm
        rdm = None
        if kwargs.get("recurrent_dropout"):
            rdm = keep(rng, N, gates, H)
            cell._recurrent_dropout_mask = [rdm[:, q] for q in range(gates)] if per_gate else rdm[:, 0]
        y, h, *_ = layer(x, training=True)
        out.update({f"{name}/x": x, f"{name}/dm": dm, f"{name}/y": np.asarray(y), f"{name}/h": np.asarray(h)})
        out.update({f"{name}/w{i}": w for i, w in enumerate(weights)})
        if rdm is not None:
            out[f"{name}/rdm"] = rdm
        # inference ignores the masks (and Keras drew none for it)
        y_inf = layer(x, training=False)[0]
        out[f"{name}/y_inference"] = np.asarray(y_inf)
    np.savez_compressed(OUT, **out)
    print("wrote", OUT, "keras", keras.__version__)


if __name__ == "__main__":
    main()
