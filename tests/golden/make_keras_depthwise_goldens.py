"""Writes keras_depthwise.npz: Keras 3's DepthwiseConv2D, SeparableConv2D and Conv2D(groups=2)
on fixed inputs and weights: outputs and the gradients of sum(y * dy).

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_depthwise_goldens.py

Stored per case of CASES (tests/test_depthwise_layers.py reads them): ``<case>/x`` (the input),
``<case>/w0``, ``<case>/w1``, ... (the layer's weights in Keras's order, float32 from a fixed
NumPy seed), ``<case>/dy``, ``<case>/y`` (the layer's output), ``<case>/dx`` and ``<case>/dw0``,
... (the gradients of sum(y * dy), by jax.grad through ``layer.stateless_call``); ``configs``: a
JSON string of each layer's ``get_config()``. Also keras_depthwise_model.keras: a Sequential
of the three layers (DepthwiseConv2D strides 2 depth_multiplier 2, SeparableConv2D, Conv2D
groups=2, pooling, Dense) saved by Keras, with its input ``model/x`` and Keras's predictions
``model/y`` in the npz.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_depthwise.npz")
MODEL = os.path.join(os.path.dirname(OUT), "keras_depthwise_model.keras")

# case -> (class name, constructor arguments, input shape)
CASES = {
    "dw_s2_same": ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8, 4)),
    "dw_m2_relu": (
        "DepthwiseConv2D",
        {"kernel_size": (3, 2), "depth_multiplier": 2, "activation": "relu", "dilation_rate": (1, 2)},
        (2, 6, 7, 3),
    ),
    "sep_s2_m2": (
        "SeparableConv2D",
        {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2, "activation": "tanh"},
        (2, 7, 7, 3),
    ),
    "conv_groups2": ("Conv2D", {"filters": 6, "kernel_size": 3, "padding": "same", "groups": 2}, (2, 6, 5, 4)),
}


def main() -> None:
    rng = np.random.default_rng(16)
    out: dict = {}
    configs: dict = {}
    for case, (cls, kwargs, shape) in CASES.items():
        layer = getattr(keras.layers, cls)(**kwargs)
        layer.build((None, *shape[1:]))
        weights = [(rng.standard_normal(w.shape) * 0.5).astype(np.float32) for w in layer.weights]
        layer.set_weights(weights)
        x = rng.standard_normal(shape).astype(np.float32)
        y = np.asarray(layer(x))
        dy = rng.standard_normal(y.shape).astype(np.float32)

        def loss(x, ws, layer=layer, dy=dy):
            y, _ = layer.stateless_call(ws, [], x)
            return jnp.sum(y * dy)

        dx, dws = jax.grad(loss, argnums=(0, 1))(jnp.asarray(x), [jnp.asarray(w) for w in weights])
        out.update({f"{case}/x": x, f"{case}/dy": dy, f"{case}/y": y, f"{case}/dx": np.asarray(dx)})
        for i, (w, dw) in enumerate(zip(weights, dws)):
            out[f"{case}/w{i}"], out[f"{case}/dw{i}"] = w, np.asarray(dw)
        configs[case] = layer.get_config()
    out["configs"] = np.array(json.dumps(configs, sort_keys=True, default=list))
    model = keras.Sequential(
        [
            keras.Input((9, 9, 4)),
            keras.layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, activation="relu"),
            keras.layers.SeparableConv2D(6, 3, padding="same", depth_multiplier=2, activation="tanh"),
            keras.layers.Conv2D(4, 3, groups=2, padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.set_weights([(rng.standard_normal(w.shape) * 0.5).astype(np.float32) for w in model.get_weights()])
    out["model/x"] = rng.standard_normal((5, 9, 9, 4)).astype(np.float32)
    out["model/y"] = model.predict(out["model/x"], verbose=0)
    model.save(MODEL)
    out["keras_version"] = np.array(keras.__version__)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} (Keras {keras.__version__})")


if __name__ == "__main__":
    main()
