"""The golden Keras file of the merge layers (tests/test_merge_layers.py), written by real Keras 3.

    KERAS_BACKEND=jax /work/kenv/bin/python tools/make_merge_golden.py   # writes tests/data/keras/

A two-input functional model using every merge layer (Add of 3 inputs, Multiply, Maximum, Minimum,
Average, Subtract, Concatenate on the time and the feature axis, the functional forms too):
merge_layers.keras and merge_layers.npz (inputs ``a``, ``b`` and Keras's predictions ``y``).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "keras")


def main() -> None:
    keras.utils.set_random_seed(0)
    x1, x2 = keras.Input((5, 4), name="x1"), keras.Input((5, 4), name="x2")
    h1 = layers.Dense(4, activation="tanh")(x1)
    h2 = layers.Dense(4)(x2)
    s = layers.add([h1, h2, x1])
    m = layers.Multiply()([s, h2])
    mx = layers.Maximum()([m, h1])
    mn = layers.minimum([mx, x2])
    av = layers.Average()([mn, h2])
    sb = layers.subtract([av, h1])
    c = layers.Concatenate(axis=1)([sb, x2])
    c2 = layers.concatenate([c, c], axis=-1)
    out = layers.Dense(2)(layers.Flatten()(c2))
    model = keras.Model([x1, x2], out)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5, 4)).astype("float32")
    b = rng.standard_normal((3, 5, 4)).astype("float32")
    np.savez_compressed(os.path.join(DATA, "merge_layers.npz"), a=a, b=b, y=model.predict([a, b], verbose=0))
    model.save(os.path.join(DATA, "merge_layers.keras"))


if __name__ == "__main__":
    main()
