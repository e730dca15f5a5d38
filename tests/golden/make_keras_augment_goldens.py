"""Writes keras_augment.npz: Keras 3's affine transform and image augmentation layers on fixed
inputs with fixed (not random) parameters.

Run it in a separate virtual environment (the tests never import Keras):

    python3 -m venv /tmp/kerasvenv
    /tmp/kerasvenv/bin/pip install keras==3.15.1 "jax[cpu]"
    KERAS_BACKEND=jax /tmp/kerasvenv/bin/python tests/golden/make_keras_augment_goldens.py

Stored (tests/test_augment.py and tests/test_augmentation_layers.py read them):
- ``images`` (3, 7, 9, 2) and ``gray`` (3, 6, 5, 1), float32 from a fixed NumPy seed in [0, 1).
- ``transforms`` (3, 8): a rotation with translation, a zoom, a shear; ``affine/<interp>/<fill>``:
  keras.ops.image.affine_transform(images, transforms, interp, fill, fill_value=0.25).
- ``translation/matrix``, ``rotation/matrix``, ``zoom/matrix``: the transforms Keras's
  RandomTranslation, RandomRotation and RandomZoom build from ``translation/params`` (pixels, as
  drawn), ``rotation/angles`` (degrees) and ``zoom/params`` ((width, height) zoom), and
  ``<layer>/out``: each layer's transform_images of ``gray`` with them (its default fill mode).
- ``flip/flags`` and ``flip/<mode>``: RandomFlip's transform_images for each mode.
- ``contrast/factors``, ``contrast/out``: RandomContrast(value_range=(0, 1)) transform_images.
- ``brightness/deltas``, ``brightness/out``: RandomBrightness(value_range=(0, 1)) transform_images.
- ``crop/small_training``: RandomCrop(8, 6) in training of ``crop/small`` (2, 7, 9, 1) (the input
  is not larger than the crop: Keras slices from the centred corner, then resizes);
  ``crop/centre_resize``: Resizing(4, 3, crop_to_aspect_ratio=True) of ``images``, the centre crop
  and resize RandomCrop(4, 3) documents for inference.
- ``configs``: a JSON string of each layer's get_config (RandomCrop(4, 3) too).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.default_rng(16)
images = rng.random((3, 7, 9, 2)).astype(np.float32)
gray = rng.random((3, 6, 5, 1)).astype(np.float32)
out = {"images": images, "gray": gray}

a = np.deg2rad([20.0, 0.0, 0.0])
transforms = np.array(
    [
        [np.cos(a[0]), -np.sin(a[0]), 1.3, np.sin(a[0]), np.cos(a[0]), -0.7, 0, 0],
        [0.8, 0, 0.9, 0, 1.25, -0.6, 0, 0],
        [1, 0.3, -2.2, 0.1, 1, 0.4, 0, 0],
    ],
    np.float32,
)
out["transforms"] = transforms
for interp in ("bilinear", "nearest"):
    for fill in ("constant", "reflect", "wrap", "nearest"):
        y = keras.ops.image.affine_transform(images, transforms, interp, fill, fill_value=0.25)
        out[f"affine/{interp}/{fill}"] = np.asarray(y)

layers = keras.layers
configs = {}

translation = layers.RandomTranslation(0.3, (-0.2, 0.4), seed=3)
params = np.array([[1.5, -2.0], [-0.4, 1.0], [3.0, 0.25]], np.float32)  # (width, height) shifts in pixels
out["translation/params"] = params
out["translation/matrix"] = np.asarray(translation._get_translation_matrix(params))
out["translation/out"] = np.asarray(translation.transform_images(gray, {"translations": params}))
configs["RandomTranslation"] = translation.get_config()

rotation = layers.RandomRotation(0.2, fill_mode="nearest", seed=4)
angles = np.array([30.0, -12.5, 71.0], np.float32)
matrix = rotation._compute_affine_matrix(
    center_x=0.5,
    center_y=0.5,
    angle=angles,
    translate_x=np.zeros(3, np.float32),
    translate_y=np.zeros(3, np.float32),
    scale=np.ones(3, np.float32),
    shear_x=np.zeros(3, np.float32),
    shear_y=np.zeros(3, np.float32),
    height=6,
    width=5,
)
out["rotation/angles"] = angles
out["rotation/matrix"] = np.asarray(matrix)
out["rotation/out"] = np.asarray(rotation.transform_images(gray, {"rotation_matrix": matrix}))
configs["RandomRotation"] = rotation.get_config()

zoom = layers.RandomZoom(0.3, (-0.1, 0.5), fill_mode="constant", interpolation="nearest", seed=5)
zooms = np.array([[0.8, 1.2], [1.3, 0.9], [1.0, 1.0]], np.float32)  # (width, height) zoom
out["zoom/params"] = zooms
out["zoom/matrix"] = np.asarray(zoom._get_zoom_matrix(zooms, 6, 5))
out["zoom/out"] = np.asarray(
    zoom._zoom_inputs(gray, {"width_zoom": zooms[:, :1], "height_zoom": zooms[:, 1:]}, "nearest")
)
configs["RandomZoom"] = zoom.get_config()

flags = np.array([True, False, True])
out["flip/flags"] = flags
for mode in ("horizontal", "vertical", "horizontal_and_vertical"):
    flip = layers.RandomFlip(mode, seed=6)
    out[f"flip/{mode}"] = np.asarray(flip.transform_images(images, {"flips": flags[:, None, None, None]}))
configs["RandomFlip"] = layers.RandomFlip("horizontal", seed=6).get_config()

contrast = layers.RandomContrast(0.4, value_range=(0, 1), seed=7)
factors = np.array([0.6, 1.0, 1.4], np.float32)
out["contrast/factors"] = factors
out["contrast/out"] = np.asarray(contrast.transform_images(images, {"contrast_factor": factors[:, None, None, None]}))
configs["RandomContrast"] = contrast.get_config()

brightness = layers.RandomBrightness((-0.3, 0.2), value_range=(0, 1), seed=8)
deltas = np.array([-0.3, 0.05, 0.2], np.float32)
out["brightness/deltas"] = deltas
out["brightness/out"] = np.asarray(brightness.transform_images(images, {"rgb_delta": deltas[:, None, None, None]}))
configs["RandomBrightness"] = brightness.get_config()

crop = layers.RandomCrop(4, 3, seed=9)
configs["RandomCrop"] = crop.get_config()
small = rng.random((2, 7, 9, 1)).astype(np.float32)  # not larger than an 8 x 6 crop: Keras's fallback
out["crop/small"] = small
out["crop/small_training"] = np.asarray(layers.RandomCrop(8, 6, seed=1)(small, training=True))
# RandomCrop's documented inference path: Resizing(crop_to_aspect_ratio=True) of the images
out["crop/centre_resize"] = np.asarray(layers.Resizing(4, 3, crop_to_aspect_ratio=True)(images))

out["configs"] = np.array(json.dumps(configs, default=list))
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_augment.npz")
np.savez_compressed(path, **out)
print("wrote", path, "keras", keras.__version__)
