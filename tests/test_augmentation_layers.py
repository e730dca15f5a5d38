"""Keras 3's augmentation layers (RandomFlip, RandomCrop, RandomTranslation, RandomRotation,
RandomZoom, RandomContrast, RandomBrightness): their transforms and outputs against Keras
3.15.1 given the same drawn parameters (tests/golden/keras_augment.npz), get_config, inference
behaviour, seeded reproducibility and the saved random state, the backward, and training."""

import json
from pathlib import Path

import numpy as np
import pytest

import sinapse
from sinapse import layers, models, reference
from sinapse.layers.augmentation import rotation_transforms, zoom_transforms

GOLDEN = np.load(Path(__file__).parent / "golden" / "keras_augment.npz")
KERAS_CONFIGS = json.loads(str(GOLDEN["configs"]))


class Draws:
    """A stand-in generator whose uniform() returns given arrays in order (the drawn parameters,
    whatever the layer's range: the golden values test the transforms)."""

    def __init__(self, *arrays):
        self.arrays = list(arrays)

    def uniform(self, low=0.0, high=1.0, size=None):
        return np.asarray(self.arrays.pop(0), np.float64)


def _built(layer, x):
    layer.ensure_built(x.shape[1:])
    return layer


def test_transforms_match_keras():
    np.testing.assert_allclose(
        rotation_transforms(GOLDEN["rotation/angles"], 6, 5), GOLDEN["rotation/matrix"], atol=2e-6
    )
    np.testing.assert_allclose(zoom_transforms(GOLDEN["zoom/params"], 6, 5), GOLDEN["zoom/matrix"], atol=1e-6)


def test_outputs_match_keras_given_the_same_parameters():
    gray = GOLDEN["gray"]
    _, h, w, _ = gray.shape
    t = _built(layers.RandomTranslation(0.3, (-0.2, 0.4), seed=3), gray)
    px = GOLDEN["translation/params"]  # (width, height) shifts in pixels
    got = t._augment(gray, Draws(px[:, 1] / h, px[:, 0] / w))
    np.testing.assert_allclose(got, GOLDEN["translation/out"], atol=1e-6)
    r = _built(layers.RandomRotation(0.2, fill_mode="nearest", seed=4), gray)
    got = r._augment(gray, Draws(GOLDEN["rotation/angles"]))
    np.testing.assert_allclose(got, GOLDEN["rotation/out"], atol=2e-6)
    z = _built(layers.RandomZoom(0.3, (-0.1, 0.5), fill_mode="constant", interpolation="nearest", seed=5), gray)
    zooms = GOLDEN["zoom/params"]
    got = z._augment(gray, Draws(zooms[:, 1], zooms[:, 0]))
    np.testing.assert_allclose(got, GOLDEN["zoom/out"], atol=1e-6)
    images = GOLDEN["images"]
    flags = GOLDEN["flip/flags"]
    for mode in ("horizontal", "vertical", "horizontal_and_vertical"):
        f = _built(layers.RandomFlip(mode, seed=6), images)
        np.testing.assert_array_equal(f._augment(images, Draws(np.where(flags, 0.25, 0.75))), GOLDEN[f"flip/{mode}"])
    c = _built(layers.RandomContrast(0.4, value_range=(0, 1), seed=7), images)
    np.testing.assert_allclose(c._augment(images, Draws(GOLDEN["contrast/factors"])), GOLDEN["contrast/out"], atol=1e-6)
    b = _built(layers.RandomBrightness((-0.3, 0.2), value_range=(0, 1), seed=8), images)
    out = b._augment(images, Draws(GOLDEN["brightness/deltas"]))
    np.testing.assert_allclose(out, GOLDEN["brightness/out"], atol=1e-6)


LAYERS = {
    "RandomTranslation": lambda: layers.RandomTranslation(0.3, (-0.2, 0.4), seed=3),
    "RandomRotation": lambda: layers.RandomRotation(0.2, fill_mode="nearest", seed=4),
    "RandomZoom": lambda: layers.RandomZoom(0.3, (-0.1, 0.5), fill_mode="constant", interpolation="nearest", seed=5),
    "RandomFlip": lambda: layers.RandomFlip("horizontal", seed=6),
    "RandomContrast": lambda: layers.RandomContrast(0.4, value_range=(0, 1), seed=7),
    "RandomBrightness": lambda: layers.RandomBrightness((-0.3, 0.2), value_range=(0, 1), seed=8),
    "RandomCrop": lambda: layers.RandomCrop(4, 3, seed=9),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_config_is_keras(name):
    mine = LAYERS[name]().get_config()
    keras = KERAS_CONFIGS[name]
    for key in set(keras) - {"name", "dtype", "trainable"}:
        assert json.loads(json.dumps(mine[key])) == keras[key], (key, mine[key], keras[key])
    assert set(mine) - {"name", "dtype", "trainable"} == set(keras) - {"name", "dtype", "trainable"}
    again = type(LAYERS[name]()).from_config(mine).get_config()
    assert again == mine


@pytest.mark.parametrize("name", list(LAYERS))
def test_inference_is_the_identity_and_training_is_seeded(rng, name):
    x = rng.uniform(0, 1, (4, 7, 9, 2)).astype(np.float32)
    layer = LAYERS[name]()
    if name != "RandomCrop":
        np.testing.assert_array_equal(layer(x), x)
    first = [layer(x, training=True) for _ in range(3)]
    twin = LAYERS[name]()
    second = [twin(x, training=True) for _ in range(3)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)  # same seed, same draws
    assert not np.array_equal(first[0], first[1]) or name == "RandomFlip" and np.array_equal(first[0], x)


def test_random_crop_training_and_inference(rng):
    x = rng.uniform(0, 1, (3, 7, 9, 2)).astype(np.float32)
    layer = layers.RandomCrop(4, 3, seed=9)
    y = layer(x, training=True)
    assert y.shape == (3, 4, 3, 2)
    found = [(i, j) for i in range(4) for j in range(7) if np.array_equal(x[:, i : i + 4, j : j + 3], y)]
    assert len(found) == 1  # one window for the whole batch, as Keras
    # inference: the centre 7 x 5 region (the 4:3 aspect) resized to 4 x 3, bilinear, half-pixel
    got = layer(x, training=False)
    crop = x[:, 0:7, 2:7]
    t = np.tile([5 / 3, 0, 0.5 * 5 / 3 - 0.5, 0, 7 / 4, 0.5 * 7 / 4 - 0.5, 0, 0], (3, 1))
    want = reference.affine_transform(crop.astype(np.float64), t, fill_mode="nearest", output_shape=(4, 3))
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_rng_state_round_trip(rng):
    x = rng.uniform(0, 1, (4, 6, 6, 1)).astype(np.float32)
    layer = layers.RandomRotation(0.3)
    layer(x, training=True)
    state = layer.get_rng_state()
    a = layer(x, training=True)
    layer(x, training=True)
    layer.set_rng_state(state)
    np.testing.assert_array_equal(layer(x, training=True), a)
    with pytest.raises(ValueError, match="set_rng_state needs exactly 'seed' and 'offset'"):
        layer.set_rng_state({"seed": state["seed"]})


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_matches_the_ops(rng, name):
    """Each layer's backward is its forward's adjoint: <dy, f(x) - f(0)> = <dx, x> for the affine
    layers and flips; the color layers against their reference gradients."""
    x = rng.uniform(0.1, 0.9, (3, 7, 9, 2)).astype(np.float32)
    layer = LAYERS[name]()
    y = layer(x, training=True)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy)
    if name in ("RandomContrast", "RandomBrightness"):
        kind = "contrast" if name == "RandomContrast" else "brightness"
        params = np.asarray(layer._params, np.float64)
        want = getattr(reference, f"adjust_{kind}_backward")(
            dy.astype(np.float64), x.astype(np.float64), params, (0, 1)
        )
        np.testing.assert_allclose(dx, want, atol=1e-5)
        return
    layer.set_rng_state({"seed": layer.get_rng_state()["seed"], "offset": np.uint64(0)})
    y0 = layer(np.zeros_like(x), training=True)
    assert abs(np.sum(dy * (y - y0)) - np.sum(dx * x)) < 1e-3


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"RandomTranslation: `height_factor` must be a number or a pair"):
        layers.RandomTranslation(1.5, 0.1)
    with pytest.raises(ValueError, match=r"RandomZoom: `height_factor` .*\(-1.0, 1.0\]"):
        layers.RandomZoom(-1.0)
    with pytest.raises(ValueError, match=r"RandomRotation: `fill_mode` must be one of"):
        layers.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match=r"RandomFlip: `mode` must be one of"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match=r"RandomContrast: `factor` must be a number"):
        layers.RandomContrast(1.5)
    with pytest.raises(ValueError, match=r"RandomBrightness: `value_range` must be a list of two"):
        layers.RandomBrightness(0.1, value_range=255)
    with pytest.raises(ValueError, match=r"RandomFlip layer .*takes images \(H, W, C\)"):
        layers.RandomFlip()(np.zeros((2, 3), np.float32))


def test_a_model_trains_through_the_layers_and_saves(tmp_path):
    sinapse.utils.set_random_seed(0)
    x = np.random.default_rng(0).uniform(0, 1, (32, 8, 8, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.int32)
    model = models.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.RandomFlip("horizontal", seed=1),
            layers.RandomTranslation(0.1, 0.1, seed=2),
            layers.RandomRotation(0.05, seed=3),
            layers.Conv2D(4, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    path = tmp_path / "aug.keras"
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert [type(layer).__name__ for layer in loaded.layers][:3] == [
        "RandomFlip",
        "RandomTranslation",
        "RandomRotation",
    ]


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="needs the CUDA simulator")
def test_the_same_training_on_the_simulated_gpu():
    """Same seeds, same draws: training through every augmentation layer on the simulated CUDA
    kernels follows the CPU's losses."""

    def build():
        return models.Sequential(
            [
                layers.Input((6, 6, 1)),
                layers.RandomFlip(seed=1),
                layers.RandomTranslation(0.2, 0.2, seed=2),
                layers.RandomRotation(0.1, seed=3),
                layers.RandomZoom(0.2, seed=4),
                layers.RandomContrast(0.3, value_range=(0, 1), seed=5),
                layers.RandomBrightness(0.1, value_range=(0, 1), seed=6),
                layers.RandomCrop(5, 5, seed=7),
                layers.Conv2D(2, 3),
                layers.Flatten(),
                layers.Dense(1),
            ]
        )

    x = np.random.default_rng(0).uniform(0, 1, (8, 6, 6, 1)).astype(np.float32)
    y = np.random.default_rng(1).standard_normal((8, 1)).astype(np.float32)
    cpu, sim = build(), build()
    sim.set_weights(cpu.get_weights())
    cpu.compile("sgd", "mse")
    sim.compile("sgd", "mse", device="cuda-sim")
    hc = cpu.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    hs = sim.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    np.testing.assert_allclose(hc.history["loss"], hs.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(cpu.predict(x, verbose=0), sim.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_random_crop_paths_match_keras():
    small = GOLDEN["crop/small"]
    np.testing.assert_array_equal(layers.RandomCrop(8, 6, seed=1)(small, training=True), GOLDEN["crop/small_training"])
    got = layers.RandomCrop(4, 3, seed=9)(GOLDEN["images"], training=False)
    np.testing.assert_allclose(got, GOLDEN["crop/centre_resize"], atol=1e-6)


def test_random_crop_of_a_small_input_in_training_slices_then_resizes(rng):
    """Keras's path for an input not larger than the crop: the target's size sliced from the
    centred corner of the aspect-ratio crop (what is left of it), then resized."""
    x = rng.uniform(0, 1, (2, 7, 9, 1)).astype(np.float32)
    got = layers.RandomCrop(8, 6, seed=1)(x, training=True)
    crop = x[:, 0:7, 2:8].astype(np.float64)  # corner (0, 2): centred 7 x 5 region; 7 x 6 left of it
    t = np.tile([1.0, 0, 0, 0, 7 / 8, 0.5 * 7 / 8 - 0.5, 0, 0], (2, 1))
    want = reference.affine_transform(crop, t, fill_mode="nearest", output_shape=(8, 6))
    np.testing.assert_allclose(got, want, atol=1e-6)
