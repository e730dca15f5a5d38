"""Writes keras_conv_transpose.npz: Keras 3's Conv2DTranspose and Conv1D on fixed inputs and weights.

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_conv_transpose_goldens.py

Stored (tests/test_conv2d_transpose.py and tests/test_conv1d.py read them), per case of CASES:
``<case>/x`` (the input), ``<case>/kernel``, ``<case>/bias`` (float32 from a fixed NumPy seed, set
into the Keras layer) and ``<case>/y`` (the layer's output); ``configs``: a JSON string mapping each
case to its layer class and Keras's ``get_config()`` of the layer (the test rebuilds the layer from
it and checks the output shape and values).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_conv_transpose.npz")

# case -> (layer class, its arguments, input shape without the batch)
CASES = {
    "t_same_s2": ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), (5, 5, 3)),
    "t_same_s2_op1": (
        "Conv2DTranspose",
        dict(filters=4, kernel_size=3, strides=2, padding="same", output_padding=1),
        (5, 5, 3),
    ),
    "t_same_s2_op0": (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=3, strides=2, padding="same", output_padding=0),
        (4, 5, 3),
    ),
    "t_valid_s2": ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="valid"), (4, 3, 2)),
    "t_valid_s2_op1": (
        "Conv2DTranspose",
        dict(filters=3, kernel_size=3, strides=2, padding="valid", output_padding=1),
        (4, 3, 2),
    ),
    "t_valid_s3_k2": ("Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3, padding="valid"), (3, 4, 2)),
    "t_same_k4_s2": ("Conv2DTranspose", dict(filters=2, kernel_size=4, strides=2, padding="same"), (3, 3, 2)),
    "t_same_k4_s2_op1": (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=4, strides=2, padding="same", output_padding=1),
        (3, 3, 2),
    ),
    "t_same_dil2": (
        "Conv2DTranspose",
        dict(filters=3, kernel_size=3, dilation_rate=2, padding="same", activation="relu"),
        (6, 5, 2),
    ),
    "t_valid_rect": (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=(3, 2), strides=(2, 1), padding="valid", output_padding=(1, 0)),
        (4, 4, 3),
    ),
    "t_valid_dil_rect": (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=(2, 3), dilation_rate=(1, 2), padding="valid"),
        (3, 4, 2),
    ),
    "t_same_k5_s3_op2": (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=5, strides=3, padding="same", output_padding=2, use_bias=False),
        (3, 2, 2),
    ),
    "c1_valid": ("Conv1D", dict(filters=4, kernel_size=3), (10, 3)),
    "c1_same_s2": ("Conv1D", dict(filters=3, kernel_size=4, strides=2, padding="same"), (11, 2)),
    "c1_causal_dil2": (
        "Conv1D",
        dict(filters=3, kernel_size=3, dilation_rate=2, padding="causal", activation="tanh"),
        (9, 2),
    ),
    "c1_causal_s1": ("Conv1D", dict(filters=2, kernel_size=5, padding="causal", use_bias=False), (7, 3)),
}


def main() -> None:
    rng = np.random.default_rng(16)
    arrays, configs = {}, {}
    for case, (cls, kwargs, shape) in CASES.items():
        layer = getattr(keras.layers, cls)(**kwargs)
        x = rng.standard_normal((2, *shape)).astype(np.float32)
        layer.build((None, *shape))
        weights = [rng.standard_normal(v.shape).astype(np.float32) * 0.5 for v in layer.weights]
        layer.set_weights(weights)
        y = np.asarray(layer(x))
        arrays[f"{case}/x"], arrays[f"{case}/kernel"], arrays[f"{case}/y"] = x, weights[0], y
        if len(weights) > 1:
            arrays[f"{case}/bias"] = weights[1]
        configs[case] = {"class_name": cls, "config": layer.get_config()}
        print(case, x.shape, "->", y.shape)
    np.savez_compressed(OUT, configs=np.array(json.dumps(configs)), **arrays)


if __name__ == "__main__":
    main()
