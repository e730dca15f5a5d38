"""Golden Keras files for tests/test_keras_files.py, written by real Keras 3 (not by sinapse).

Run in a separate venv with Keras (never installed with sinapse):

    python3 -m venv /work/kenv && /work/kenv/bin/pip install keras==3.15.1 "jax[cpu]" h5py
    KERAS_BACKEND=jax /work/kenv/bin/python tools/make_keras_golden.py [NAME ...] # writes tests/data/keras/
    KERAS_BACKEND=jax /work/kenv/bin/python tools/make_keras_golden.py --check DIR # Keras loads sinapse's files

For each small model (mlp, cnn, rnn, func, nest) it writes <name>.weights.h5, <name>.keras, the
legacy <name>.h5 and <name>.npz (the input batch ``x`` or ``x0``, ``x1``, ... and Keras's
predictions ``y`` or ``y0``, ``y1``, ...). Weights are random (seeded), BatchNormalization's
moving statistics non-trivial, and the models are compiled and trained one step so the files
also hold optimizer state, as a user's files do.

``--check DIR`` loads every ``*.keras``, ``*.weights.h5`` and ``*.h5`` in DIR that sinapse wrote
(tests/test_keras_files.py::test_write_for_keras_check writes them with ``<name>.npz``
predictions) with Keras and prints the largest relative difference of Keras's predictions.
"""

from __future__ import annotations

import glob
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "keras")


def mlp():
    m = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", name="hidden"),
            layers.Dropout(0.2),
            layers.Activation("tanh"),
            layers.Reshape((4, 4)),
            layers.Flatten(),
            layers.Dense(4, activation="softmax", name="probs"),
        ],
        name="mlp",
    )
    return m, [np.random.default_rng(1).normal(size=(5, 8)).astype("float32")]


def cnn():
    m = keras.Sequential(
        [
            keras.Input((12, 12, 2)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.ZeroPadding2D(1),
            layers.Conv2D(3, 3, strides=2),
            layers.BatchNormalization(scale=False),
            layers.AveragePooling2D(2, padding="same"),
            layers.GlobalMaxPooling2D(),
            layers.Dense(3),
        ],
        name="cnn",
    )
    return m, [np.random.default_rng(2).normal(size=(4, 12, 12, 2)).astype("float32")]


def rnn():
    m = keras.Sequential(
        [
            keras.Input((7,), dtype="int32"),
            layers.Embedding(20, 5),
            layers.LSTM(4, return_sequences=True),
            layers.GRU(3, return_sequences=True),
            layers.SimpleRNN(3),
            layers.Dense(2),
        ],
        name="rnn",
    )
    return m, [np.random.default_rng(3).integers(0, 20, size=(4, 7)).astype("int32")]


def func():
    a, b = keras.Input((6,), name="a"), keras.Input((4,), name="b")
    da = layers.Dense(5, activation="relu", name="da")(a)
    db = layers.Dense(5, name="db")(b)
    s = layers.Add(name="add")([da, db])
    c = layers.Concatenate(name="cat")([da, db])
    out1 = layers.Dense(3, name="out1")(s)
    out2 = layers.Dense(2, activation="sigmoid", name="out2")(layers.BatchNormalization(name="bn")(c))
    m = keras.Model([a, b], [out1, out2], name="func")
    rng = np.random.default_rng(4)
    return m, [rng.normal(size=(5, 6)).astype("float32"), rng.normal(size=(5, 4)).astype("float32")]


def nest():
    """One input, two outputs, a nested Sequential (weights under layers/sequential/layers/...)."""
    x = keras.Input((6,), name="x")
    h = layers.Dense(5, activation="relu", name="h")(x)
    inner = keras.Sequential(
        [keras.Input((5,)), layers.Dense(4, name="in1"), layers.BatchNormalization(name="in_bn")], name="inner"
    )
    out1 = layers.Dense(3, name="out1")(inner(h))
    out2 = layers.Dense(2, name="out2")(layers.BatchNormalization(name="bn")(h))
    m = keras.Model(x, [out1, out2], name="nest")
    return m, [np.random.default_rng(5).normal(size=(5, 6)).astype("float32")]


def randomize(model, seed):
    """Random weights (BatchNormalization's variance positive) so a misplaced array shows."""
    rng = np.random.default_rng(seed)
    values = []
    for w in model.weights:
        v = rng.normal(scale=0.4, size=w.shape)
        if w.path.endswith("moving_variance"):
            v = rng.uniform(0.5, 1.5, size=w.shape)
        values.append(v.astype("float32"))
    model.set_weights(values)


def one_step(model, xs):
    """Compile and train one step: the files then hold optimizer state, as users' files do."""
    outs = model.outputs
    ys = [np.zeros((len(xs[0]), *o.shape[1:]), "float32") for o in outs]
    model.compile("adam", ["mse"] * len(outs) if len(outs) > 1 else "mse")
    model.fit(xs if len(xs) > 1 else xs[0], ys if len(ys) > 1 else ys[0], epochs=1, verbose=0)


def write(name, make, seed):
    model, xs = make()
    randomize(model, seed)
    one_step(model, xs)
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    ys = ys if isinstance(ys, list) else [ys]
    base = os.path.join(OUT, name)
    model.save_weights(base + ".weights.h5")
    model.save(base + ".keras")
    model.save(base + ".h5")  # legacy HDF5 (Keras warns: it is a legacy format)
    arrays = {("x" if len(xs) == 1 else f"x{i}"): x for i, x in enumerate(xs)}
    arrays.update({("y" if len(ys) == 1 else f"y{i}"): np.asarray(y) for i, y in enumerate(ys)})
    np.savez(base + ".npz", **arrays)
    print(name, [tuple(w.shape) for w in model.weights][:4], "...", {k: v.shape for k, v in arrays.items()})


def inputs_of(data):
    xs = [data[k] for k in sorted(data.files) if k.startswith("x")]
    return xs if len(xs) > 1 else xs[0]


def check(folder):
    """Load sinapse's files in Keras; print the largest relative difference to sinapse's predictions."""
    worst = 0.0
    for path in sorted(glob.glob(os.path.join(folder, "*.npz"))):
        base = path[: -len(".npz")]
        data = np.load(path)
        ys = [data[k] for k in sorted(data.files) if k.startswith("y")]
        for suffix in (".keras", ".h5"):
            if not os.path.exists(base + suffix):
                continue
            model = keras.models.load_model(base + suffix, compile=False)
            got = model.predict(inputs_of(data), verbose=0)
            got = got if isinstance(got, list) else [got]
            diff = max(float(np.max(np.abs(g - y) / (np.abs(y) + 1e-6))) for g, y in zip(got, ys))
            if os.path.exists(base + ".weights.h5"):  # the weights file into the architecture Keras just loaded
                randomize(model, 99)
                model.load_weights(base + ".weights.h5")
                got = model.predict(inputs_of(data), verbose=0)
                got = got if isinstance(got, list) else [got]
                diff = max(diff, *(float(np.max(np.abs(g - y) / (np.abs(y) + 1e-6))) for g, y in zip(got, ys)))
            worst = max(worst, diff)
            print(f"{os.path.basename(base + suffix)}: Keras {keras.__version__} loads it, max rel diff {diff:.2e}")
    print(f"worst {worst:.2e}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    keras.utils.set_random_seed(0)
    os.makedirs(OUT, exist_ok=True)
    only = sys.argv[1:]  # e.g. `make_keras_golden.py nest`: only those models
    for i, (name, make) in enumerate([("mlp", mlp), ("cnn", cnn), ("rnn", rnn), ("func", func), ("nest", nest)]):
        if not only or name in only:
            write(name, make, 10 + i)
