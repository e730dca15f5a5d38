"""The golden Keras file of the merge layers (tests/test_merge_layers.py), written by real Keras 3.

    KERAS_BACKEND=jax /work/kenv/bin/python tools/make_merge_golden.py   # writes tests/data/keras/

A two-input functional model using every merge layer (Add of 3 inputs, Multiply, Maximum, Minimum,
Average, Subtract, Concatenate on the time and the feature axis, the functional forms too):
merge_layers.keras and merge_layers.npz (inputs ``a``, ``b`` and Keras's predictions ``y``).
And merge_masked.keras / .npz: two Embedding(mask_zero=True) inputs into Multiply, Maximum and
Minimum (Keras's masked forward), plus a third Multiply with one unmasked input (ids ``a``, ``b``;
predictions ``y0``, ``y1``, ``y2``, ``y3``).
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


def masked() -> None:
    keras.utils.set_random_seed(1)
    i1, i2 = keras.Input((6,), dtype="int32", name="ids1"), keras.Input((6,), dtype="int32", name="ids2")
    e1 = layers.Embedding(10, 3, mask_zero=True)(i1)
    e2 = layers.Embedding(10, 3, mask_zero=True)(i2)
    plain = layers.Dense(3)(layers.Embedding(10, 3)(i2))  # no mask
    outs = [
        layers.Multiply()([e1, e2]),
        layers.Maximum()([e1, e2]),
        layers.minimum([e1, e2]),
        layers.multiply([e1, plain]),
    ]
    model = keras.Model([i1, i2], outs)
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, (4, 6)).astype("int32")  # many zeros: masked steps, some on both inputs
    b = rng.integers(0, 4, (4, 6)).astype("int32")
    a[0, :2] = b[0, :2] = 0
    ys = model.predict([a, b], verbose=0)
    np.savez_compressed(os.path.join(DATA, "merge_masked.npz"), a=a, b=b, **{f"y{i}": y for i, y in enumerate(ys)})
    model.save(os.path.join(DATA, "merge_masked.keras"))


if __name__ == "__main__":
    main()
    masked()
