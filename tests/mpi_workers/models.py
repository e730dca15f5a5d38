"""The models the distributed tests train (the issue's three: an MLP, the Keras MNIST convnet with
Dropout and BatchNormalization, a functional model with two outputs), with their data."""

from __future__ import annotations

import numpy as np

import sinapse
from sinapse import layers


def build(name: str):
    """(model, x, y, compile kwargs) for ``name``; weights from sinapse's seeded generator."""
    rng = np.random.default_rng(0)
    if name == "mlp":
        x = rng.normal(size=(203, 12)).astype(np.float32)
        y = rng.integers(0, 3, 203)
        model = sinapse.Sequential(
            [
                layers.Input((12,)),
                layers.Dense(30, activation="relu"),
                layers.Dropout(0.3),  # 30 features per row: rank starts fall inside Philox blocks
                layers.Dense(3, activation="softmax"),
            ]
        )
        return model, x, y, {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
    if name == "convnet":  # Keras's MNIST convnet, smaller images, with BatchNormalization
        x = rng.normal(size=(90, 12, 12, 1)).astype(np.float32)
        y = rng.integers(0, 10, 90)
        model = sinapse.Sequential(
            [
                layers.Input((12, 12, 1)),
                layers.Conv2D(8, 3, activation="relu"),
                layers.BatchNormalization(),
                layers.MaxPooling2D(2),
                layers.Conv2D(16, 3),
                layers.BatchNormalization(),
                layers.Activation("relu"),
                layers.Flatten(),
                layers.Dropout(0.5),
                layers.Dense(10, activation="softmax"),
            ]
        )
        return model, x, y, {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
    if name == "two_outputs":
        x = rng.normal(size=(101, 10)).astype(np.float32)
        y = [rng.integers(0, 3, 101), rng.normal(size=(101, 1)).astype(np.float32)]
        inp = sinapse.Input((10,))
        h = layers.Dense(16, activation="tanh")(inp)
        cls = layers.Dense(3, activation="softmax", name="cls")(h)
        reg = layers.Dense(1, name="reg")(layers.Concatenate()([h, inp]))
        model = sinapse.Model(inp, [cls, reg])
        kwargs = {
            "loss": ["sparse_categorical_crossentropy", "mse"],
            "loss_weights": [1.0, 0.5],
            "metrics": {"cls": ["accuracy"], "reg": ["mae"]},
        }
        return model, x, y, kwargs
    if name == "masked_sequence":  # per-step loss over masked steps: each rank's mean has its own count
        x = rng.integers(1, 20, size=(40, 7))
        for i, n in enumerate(rng.integers(1, 8, size=40)):
            x[i, n:] = 0  # padding, masked by Embedding(mask_zero=True)
        y = rng.integers(0, 3, size=(40, 7))
        model = sinapse.Sequential(
            [
                layers.Input((7,)),
                layers.Embedding(20, 6, mask_zero=True),
                layers.LSTM(8, return_sequences=True),
                layers.Dense(3, activation="softmax"),
            ]
        )
        return model, x, y, {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
    if name == "sum_loss":  # reduction="sum": the ranks' sums add up
        x = rng.normal(size=(61, 5)).astype(np.float32)
        y = rng.normal(size=(61, 2)).astype(np.float32)
        model = sinapse.Sequential([layers.Input((5,)), layers.Dense(6, activation="tanh"), layers.Dense(2)])
        return model, x, y, {"loss": sinapse.losses.MeanSquaredError(reduction="sum")}
    raise ValueError(f"unknown model {name!r}")
