"""Writes keras_resize.npz: Keras 3's UpSampling2D, Resizing, Cropping2D, CenterCrop and Rescaling
on fixed inputs, with the gradients of sum(y * dy) with respect to the input.

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_resize_goldens.py

Stored (tests/test_reshaping_layers.py reads them), for each case of CASES:
- ``x/<case>``: the float32 input (NHWC, from a fixed NumPy seed), ``dy/<case>`` a float32
  array of the output's shape;
- ``y/<case>``: the layer's output; ``dx/<case>``: jax.grad of sum(layer(x) * dy) at x;
- ``configs``: a JSON string: each case's layer ``get_config()`` (Keras's own).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_resize.npz")

# name -> (class name, constructor arguments, input shape NHWC)
CASES = {
    "up_nearest_2x": ("UpSampling2D", {"size": (2, 2)}, (2, 7, 7, 3)),
    "up_bilinear_2x": ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 7, 7, 3)),
    "up_bilinear_3x2": ("UpSampling2D", {"size": (3, 2), "interpolation": "bilinear"}, (1, 5, 4, 2)),
    "up_nearest_1x3": ("UpSampling2D", {"size": (1, 3)}, (1, 3, 5, 2)),
    "resize_bilinear_up_odd": ("Resizing", {"height": 11, "width": 9}, (1, 5, 7, 3)),
    "resize_bilinear_down": ("Resizing", {"height": 4, "width": 3}, (1, 9, 8, 2)),
    "resize_nearest_up_odd": ("Resizing", {"height": 11, "width": 9, "interpolation": "nearest"}, (1, 5, 7, 3)),
    "resize_nearest_down": ("Resizing", {"height": 4, "width": 5, "interpolation": "nearest"}, (1, 9, 8, 2)),
    "resize_crop_aspect": ("Resizing", {"height": 5, "width": 7, "crop_to_aspect_ratio": True}, (1, 9, 6, 2)),
    "resize_pad_aspect": (
        "Resizing",
        {"height": 5, "width": 7, "pad_to_aspect_ratio": True, "fill_value": 0.5},
        (1, 9, 6, 2),
    ),
    "resize_pad_aspect_wide": ("Resizing", {"height": 9, "width": 4, "pad_to_aspect_ratio": True}, (1, 5, 7, 2)),
    "crop_int": ("Cropping2D", {"cropping": 1}, (2, 6, 7, 3)),
    "crop_pairs": ("Cropping2D", {"cropping": ((1, 2), (0, 3))}, (2, 6, 7, 3)),
    "crop_symmetric": ("Cropping2D", {"cropping": (2, 1)}, (1, 7, 5, 2)),
    "center_crop": ("CenterCrop", {"height": 5, "width": 4}, (2, 8, 9, 3)),
    "center_crop_odd": ("CenterCrop", {"height": 4, "width": 3}, (1, 7, 6, 2)),
    "center_crop_smaller": ("CenterCrop", {"height": 7, "width": 4}, (2, 5, 6, 3)),
    "rescaling": ("Rescaling", {"scale": 1.0 / 127.5, "offset": -1.0}, (2, 4, 4, 3)),
}


def main() -> None:
    rng = np.random.default_rng(16)
    out: dict = {}
    configs: dict = {}
    for name, (cls, args, shape) in CASES.items():
        layer = getattr(keras.layers, cls)(**args)
        x = rng.standard_normal(shape).astype(np.float32)
        y = np.asarray(layer(x), np.float32)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = jax.grad(lambda v, layer=layer, dy=dy: (layer(v) * dy).sum())(x)
        out[f"x/{name}"], out[f"y/{name}"], out[f"dy/{name}"] = x, y, dy
        out[f"dx/{name}"] = np.asarray(dx, np.float32)
        configs[name] = layer.get_config()
    out["configs"] = np.array(json.dumps(configs, sort_keys=True))
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT}: {len(CASES)} cases, keras {keras.__version__}")


if __name__ == "__main__":
    main()
