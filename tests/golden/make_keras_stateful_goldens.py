"""Writes keras_stateful.keras and keras_stateful.npz: a Keras 3.15.1 model with a stateful LSTM
and a stateful GRU, and its predictions on three consecutive batches (the states carried from
batch to batch), then on the first batch again after ``layer.reset_state()``.

Run it in a separate virtual environment (the tests never import Keras):

    KERAS_BACKEND=jax /work/kenv/bin/python tests/golden/make_keras_stateful_goldens.py

Stored: ``x`` (3, 2, 4, 3) three batches of 2 sequences; ``y`` (3, 2, 2) Keras's outputs for
each batch in turn (``model(batch)``, eager: one call, one state update); ``y_reset`` (2, 2)
the first batch again after resetting both layers' states.

Why eager calls: with the JAX backend, Keras 3.15.1's ``predict_on_batch`` / ``predict`` never
update the states (they are created outside Keras's variable tracking, so the jitted
stateless predict step does not carry them out: ``layer.states`` stay zeros and every batch
starts from zeros), while eager calls carry them as the RNN docs describe; sinapse carries
them in every call, predict included (the documented behaviour, and the TensorFlow backend's).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(20261201)
    model = keras.Sequential(
        [
            keras.Input(batch_shape=(2, 4, 3)),
            keras.layers.LSTM(5, stateful=True, return_sequences=True),
            keras.layers.GRU(4, stateful=True),
            keras.layers.Dense(2),
        ]
    )
    model.set_weights([0.5 * rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()])
    x = rng.standard_normal((3, 2, 4, 3)).astype(np.float32)
    y = np.stack([np.asarray(model(batch)) for batch in x])
    for layer in model.layers[:2]:
        layer.reset_state()
    y_reset = np.asarray(model(x[0]))
    for layer in model.layers[:2]:
        layer.reset_state()
    model.save(os.path.join(HERE, "keras_stateful.keras"))
    np.savez_compressed(os.path.join(HERE, "keras_stateful.npz"), x=x, y=y, y_reset=y_reset)
    print("wrote keras_stateful.keras/.npz with keras", keras.__version__)


if __name__ == "__main__":
    main()
