"""Writes keras_misc.npz: Keras 3's 1-D pooling, Permute, RepeatVector, PReLU, and the
activity_regularizer's loss and one SGD step, on fixed inputs.

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_misc_goldens.py

Stored (tests/test_misc_layers.py and tests/test_activity_regularizer.py read them):
- ``layer/<case>/x``, ``layer/<case>/y``: the input and Keras's output of each layer of LAYERS
  (built from the config stored in ``configs``), and ``layer/<case>/w<i>`` its weights.
- ``gap_mask/*``: Embedding(mask_zero=True) -> GlobalAveragePooling1D on ids with padding zeros
  (and one all-padding row: Keras's 0 / 0), the embeddings and the output.
- ``prelu_step/*``, ``act/<model>/*`` (``act/layer``: an ActivityRegularization layer): small models given fixed weights (``w<i>``), their
  ``evaluate`` loss on (x, y) before the step (``loss0``), the loss ``train_on_batch`` reports,
  and the weights after one SGD step (``after<i>``).
- ``configs``: a JSON string: each layer's ``get_config()`` and the configs of SpatialDropout2D /
  GaussianNoise (whose random draws are Keras's own and not compared).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_misc.npz")

# case -> (class name, config, input shape with the batch axis)
LAYERS = {
    "max1d": ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "valid"}, (3, 9, 4)),
    "max1d_same": ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (3, 8, 4)),
    "avg1d": ("AveragePooling1D", {"pool_size": 2}, (3, 7, 4)),
    "avg1d_same": ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (3, 8, 4)),
    "gap1d": ("GlobalAveragePooling1D", {}, (3, 7, 4)),
    "gap1d_keep": ("GlobalAveragePooling1D", {"keepdims": True}, (3, 7, 4)),
    "gmp1d": ("GlobalMaxPooling1D", {}, (3, 7, 4)),
    "permute": ("Permute", {"dims": (2, 3, 1)}, (2, 3, 4, 5)),
    "repeat": ("RepeatVector", {"n": 3}, (4, 5)),
    "prelu": ("PReLU", {"alpha_initializer": "random_normal"}, (3, 4, 5)),
    "prelu_shared": ("PReLU", {"alpha_initializer": "random_normal", "shared_axes": [1, 2]}, (3, 4, 5, 2)),
}


def _layers(rng, out, configs) -> None:
    for case, (cls, config, shape) in LAYERS.items():
        keras.utils.set_random_seed(7)
        layer = getattr(keras.layers, cls)(**config)
        x = rng.standard_normal(shape).astype(np.float32)
        y = np.asarray(layer(x), np.float32)
        out[f"layer/{case}/x"], out[f"layer/{case}/y"] = x, y
        for i, w in enumerate(layer.get_weights()):
            out[f"layer/{case}/w{i}"] = w
        configs[case] = layer.get_config()
    for cls, config in (("SpatialDropout2D", {"rate": 0.3, "seed": 5}), ("GaussianNoise", {"stddev": 0.2, "seed": 1})):
        configs[cls] = getattr(keras.layers, cls)(**config).get_config()


def _gap_mask(rng, out) -> None:
    ids = np.array([[3, 1, 0, 0, 0], [2, 2, 4, 1, 5], [0, 0, 0, 0, 0]], np.int32)
    emb = rng.standard_normal((6, 3)).astype(np.float32)
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(6, 3, mask_zero=True),
            keras.layers.GlobalAveragePooling1D(),
        ]
    )
    model.set_weights([emb])
    out.update({"gap_mask/ids": ids, "gap_mask/emb": emb, "gap_mask/y": np.asarray(model(ids), np.float32)})


def _step(out, key, model, x, y, loss) -> None:
    """Fixed weights, the loss before, the loss train_on_batch reports, the weights after one SGD step."""
    weights = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    out[f"{key}/x"], out[f"{key}/y"] = x, y
    for i, w in enumerate(weights):
        out[f"{key}/w{i}"] = w
    out[f"{key}/loss0"] = np.float64(model.evaluate(x, y, verbose=0))
    out[f"{key}/loss"] = np.float64(model.train_on_batch(x, y))
    for i, w in enumerate(model.get_weights()):
        out[f"{key}/after{i}"] = w


def _models(rng, out, configs) -> None:
    keras.utils.set_random_seed(3)
    layers = keras.layers
    x = rng.standard_normal((6, 5)).astype(np.float32)
    dense = keras.Sequential(
        [
            keras.Input((5,)),
            layers.Dense(4, activation="tanh", activity_regularizer=keras.regularizers.L2(0.05)),
            layers.Dense(2, activity_regularizer=keras.regularizers.L1(0.02)),
        ]
    )
    _step(out, "act/dense", dense, x, rng.standard_normal((6, 2)).astype(np.float32), "mse")
    configs["act_dense"] = dense.layers[0].get_config()

    images = rng.standard_normal((4, 5, 5, 2)).astype(np.float32)
    conv = keras.Sequential(
        [
            keras.Input((5, 5, 2)),
            layers.Conv2D(3, 3, activity_regularizer=keras.regularizers.L1L2(0.01, 0.02)),
            layers.Flatten(),
            layers.Dense(3, activation="softmax", activity_regularizer="l2"),
        ]
    )
    labels = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
    _step(out, "act/conv", conv, images, labels, "categorical_crossentropy")
    configs["act_conv"] = conv.layers[0].get_config()

    seq = rng.standard_normal((5, 4, 3)).astype(np.float32)
    lstm = keras.Sequential(
        [keras.Input((4, 3)), layers.LSTM(3, activity_regularizer=keras.regularizers.L2(0.1)), layers.Dense(1)]
    )
    _step(out, "act/lstm", lstm, seq, rng.standard_normal((5, 1)).astype(np.float32), "mse")
    configs["act_lstm"] = lstm.layers[0].get_config()

    keras.utils.set_random_seed(4)
    prelu = keras.Sequential(
        [keras.Input((4, 3)), layers.Dense(3), layers.PReLU(alpha_initializer="random_normal", shared_axes=[1])]
    )
    _step(out, "prelu_step", prelu, seq, rng.standard_normal((5, 4, 3)).astype(np.float32), "mse")

    keras.utils.set_random_seed(5)
    act = keras.Sequential(
        [keras.Input((5,)), layers.Dense(3), layers.ActivityRegularization(l1=0.01, l2=0.05), layers.Dense(1)]
    )
    _step(out, "act/layer", act, x, rng.standard_normal((6, 1)).astype(np.float32), "mse")
    configs["ActivityRegularization"] = act.layers[1].get_config()


def main() -> None:
    rng = np.random.default_rng(16)
    out: dict = {}
    configs: dict = {}
    _layers(rng, out, configs)
    _gap_mask(rng, out)
    _models(rng, out, configs)
    out["configs"] = np.array(json.dumps(configs, sort_keys=True, default=list))
    out["keras_version"] = np.array(keras.__version__)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} (Keras {keras.__version__})")


if __name__ == "__main__":
    main()
