"""Writes keras_constraints.npz: Keras 3's weight constraints on fixed weights, and one training step.

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_constraint_goldens.py

Stored (tests/test_constraints.py reads them):
- ``w2`` (6, 4) and ``w4`` (3, 3, 2, 4), float32 from a fixed NumPy seed; ``w2``'s column 1 is all
  zeros (the epsilon in the norms keeps it zero) and its columns' norms straddle 1.
- ``out/<case>``: each constraint of CASES applied to its weight by Keras (``case`` names the
  constraint's config, which the test rebuilds in sinapse).
- ``step/*``: a Dense(3, kernel_constraint=MaxNorm(0.5), bias_constraint=NonNeg()) given ``kernel0``
  and ``bias0``, one ``train_on_batch(x, y)`` with SGD(0.5) on the mean squared error: the weights
  after the update and the constraints (``kernel``, ``bias``).
- ``configs``: a JSON string: Keras's ``serialize_keras_object`` of each constraint of CASES and
  the Dense layer's ``kernel_constraint`` / ``bias_constraint`` config entries.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_constraints.npz")

# name -> (class name, config, which weight)
CASES = {
    "max_norm_default": ("MaxNorm", {}, "w2"),
    "max_norm_1": ("MaxNorm", {"max_value": 1.0, "axis": 0}, "w2"),
    "max_norm_axis1": ("MaxNorm", {"max_value": 0.8, "axis": 1}, "w2"),
    "max_norm_conv": ("MaxNorm", {"max_value": 1.5, "axis": [0, 1, 2]}, "w4"),
    "non_neg": ("NonNeg", {}, "w2"),
    "non_neg_conv": ("NonNeg", {}, "w4"),
    "unit_norm": ("UnitNorm", {}, "w2"),
    "unit_norm_conv": ("UnitNorm", {"axis": [0, 1, 2]}, "w4"),
    "min_max_norm_default": ("MinMaxNorm", {}, "w2"),
    "min_max_norm_rate": ("MinMaxNorm", {"min_value": 0.9, "max_value": 1.2, "rate": 0.7, "axis": 0}, "w2"),
    "min_max_norm_conv": ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.5, "axis": [0, 1, 2]}, "w4"),
}


def main() -> None:
    rng = np.random.default_rng(16)
    w2 = (rng.standard_normal((6, 4)) * np.array([0.2, 0.0, 0.5, 0.9])).astype(np.float32)
    w4 = (rng.standard_normal((3, 3, 2, 4)) * 0.4).astype(np.float32)
    weights = {"w2": w2, "w4": w4}
    out: dict = {"w2": w2, "w4": w4}
    configs: dict = {}
    for name, (cls, config, which) in CASES.items():
        constraint = getattr(keras.constraints, cls)(**config)
        out[f"out/{name}"] = np.asarray(constraint(keras.ops.convert_to_tensor(weights[which])), np.float32)
        configs[name] = keras.saving.serialize_keras_object(constraint)

    x = rng.standard_normal((8, 5)).astype(np.float32)
    y = (rng.standard_normal((8, 3)) * 3 + np.array([2.0, -2.0, 0.5])).astype(np.float32)
    kernel0 = (rng.standard_normal((5, 3)) * 0.6).astype(np.float32)
    bias0 = np.array([0.1, -0.2, 0.05], np.float32)
    layer = keras.layers.Dense(3, kernel_constraint=keras.constraints.MaxNorm(0.5), bias_constraint="non_neg")
    model = keras.Sequential([keras.Input((5,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.set_weights([kernel0, bias0])
    model.train_on_batch(x, y)
    kernel, bias = model.get_weights()
    out.update({"step/x": x, "step/y": y, "step/kernel0": kernel0, "step/bias0": bias0})
    out.update({"step/kernel": kernel, "step/bias": bias})
    layer_config = layer.get_config()
    configs["dense"] = {k: layer_config[k] for k in ("kernel_constraint", "bias_constraint")}
    out["configs"] = np.array(json.dumps(configs, sort_keys=True))
    out["keras_version"] = np.array(keras.__version__)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} (Keras {keras.__version__})")


if __name__ == "__main__":
    main()
