"""Writes keras_layer_norm.npz: Keras 3's LayerNormalization and GroupNormalization on fixed
inputs and weights, with the gradients of sum(y * dy).

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_layer_norm_goldens.py

Stored, per case of CASES (tests/test_layer_normalization.py reads them): ``<case>/x``, ``/dy``,
``/gamma``, ``/beta`` (float32 from a fixed NumPy seed), Keras's output ``/y`` and the gradients
``/dx``, ``/dgamma``, ``/dbeta`` (jax.grad through ``layer.stateless_call``); ``configs``: a JSON
string of each built layer's get_config(). Also keras_layer_norm_model.keras: a Sequential
(Dense, LayerNormalization, GroupNormalization over (T, C), LayerNormalization over axes [1, 2],
Dense) with random weights, saved by Keras, with its input ``model/x`` and Keras's predictions
``model/y`` in the npz.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_layer_norm.npz")
MODEL = os.path.join(os.path.dirname(OUT), "keras_layer_norm_model.keras")

# case -> (class name, config, input shape)
CASES = {
    "ln_last": ("LayerNormalization", {"axis": -1}, (2, 3, 5)),
    "ln_12": ("LayerNormalization", {"axis": [1, 2], "epsilon": 1e-5}, (2, 3, 5)),
    "ln_2d": ("LayerNormalization", {}, (4, 33)),
    "gn_2": ("GroupNormalization", {"groups": 2}, (2, 3, 3, 4)),
    "gn_4_seq": ("GroupNormalization", {"groups": 4, "epsilon": 1e-2}, (3, 5, 8)),
}


def run_case(rng, cls, config, shape):
    layer = getattr(keras.layers, cls)(**config)
    layer.build(shape)
    x = rng.standard_normal(shape).astype(np.float32) * 2 + 0.5
    dy = rng.standard_normal(shape).astype(np.float32)
    gamma = (rng.standard_normal(layer.gamma.shape) + 1).astype(np.float32)
    beta = rng.standard_normal(layer.beta.shape).astype(np.float32)
    layer.set_weights([gamma, beta])

    def loss(params, x):
        y, _ = layer.stateless_call(params, [], x)
        return (y * dy).sum()

    params = [gamma, beta]
    y, _ = layer.stateless_call(params, [], x)
    (dgamma, dbeta), dx = jax.grad(loss, argnums=(0, 1))(params, x)
    arrays = {"x": x, "dy": dy, "gamma": gamma, "beta": beta, "y": y, "dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    return {k: np.asarray(v, np.float32) for k, v in arrays.items()}, layer.get_config()


def main() -> None:
    rng = np.random.default_rng(16)
    out: dict = {}
    configs: dict = {}
    for name, (cls, config, shape) in CASES.items():
        arrays, configs[name] = run_case(rng, cls, config, shape)
        out.update({f"{name}/{k}": v for k, v in arrays.items()})
    model = keras.Sequential(
        [
            keras.Input((6, 8)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.LayerNormalization(),
            keras.layers.GroupNormalization(groups=4, epsilon=1e-2),
            keras.layers.LayerNormalization(axis=[1, 2], center=False),
            keras.layers.Dense(3),
        ]
    )
    model.set_weights([(rng.standard_normal(w.shape) * 0.5 + 0.2).astype(np.float32) for w in model.get_weights()])
    out["model/x"] = rng.standard_normal((5, 6, 8)).astype(np.float32)
    out["model/y"] = model.predict(out["model/x"], verbose=0)
    model.save(MODEL)
    out["configs"] = np.array(json.dumps(configs, sort_keys=True))
    out["keras_version"] = np.array(keras.__version__)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} (Keras {keras.__version__})")


if __name__ == "__main__":
    main()
