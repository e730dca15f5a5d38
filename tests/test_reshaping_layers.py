"""UpSampling2D, Cropping2D, Resizing, CenterCrop and Rescaling: against golden values from real
Keras 3.15.1 (tests/golden/keras_resize.npz, made by tests/golden/make_keras_resize_goldens.py:
outputs, the input gradients of sum(y * dy), and each layer's get_config), inside a model that
trains, and their argument errors."""

import json
import pathlib

import numpy as np
import pytest

import sinapse
from sinapse import layers, models

GOLDEN = np.load(pathlib.Path(__file__).parent / "golden" / "keras_resize.npz")
CONFIGS = json.loads(str(GOLDEN["configs"]))
# Keys every layer's config has in both libraries, written differently (the name is generated,
# Keras's dtype is a DTypePolicy object): the rest must be equal.
BASE_KEYS = {"name", "dtype", "trainable"}


def _layer(case):
    config = {k: v for k, v in CONFIGS[case].items() if k not in BASE_KEYS}
    cls = {"up": "UpSampling2D", "resize": "Resizing", "crop": "Cropping2D", "center": "CenterCrop"}
    name = next((v for k, v in cls.items() if case.startswith(k + "_")), "Rescaling")
    return getattr(layers, name).from_config(config)


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_matches_keras(case):
    layer = _layer(case)
    x, dy = GOLDEN[f"x/{case}"], GOLDEN[f"dy/{case}"]
    layer.ensure_built(x.shape[1:])
    assert layer.compute_output_shape(x.shape[1:]) == GOLDEN[f"y/{case}"].shape[1:]
    y = np.array(layer.forward(x))
    np.testing.assert_allclose(y, GOLDEN[f"y/{case}"], rtol=1e-5, atol=3e-6)
    dx = np.array(layer.backward(dy))
    np.testing.assert_allclose(dx, GOLDEN[f"dx/{case}"], rtol=1e-5, atol=3e-6)


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_config_is_keras(case):
    layer = _layer(case)
    ours = {k: v for k, v in layer.get_config().items() if k not in BASE_KEYS}
    theirs = {k: v for k, v in CONFIGS[case].items() if k not in BASE_KEYS}
    assert ours == pytest.approx(theirs)
    again = type(layer).from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def _autoencoder(side=9):
    """Conv2D -> MaxPooling2D -> UpSampling2D -> Cropping2D -> Resizing -> Conv2D, behind a
    Rescaling: every resampling layer's backward feeds the one before."""
    return models.Sequential(
        [
            layers.Input((side, side, 1)),
            layers.Rescaling(2.0, offset=-1.0),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2, padding="same"),
            layers.UpSampling2D(2, interpolation="bilinear"),
            layers.Cropping2D(((0, 1), (1, 0))),
            layers.Resizing(side, side, interpolation="nearest"),
            layers.Conv2D(1, 3, padding="same"),
        ]
    )


def test_autoencoder_with_upsampling_trains(rng):
    sinapse.utils.set_random_seed(3)
    x = rng.random((64, 9, 9, 1)).astype(np.float32)
    model = _autoencoder()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, x, epochs=6, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="needs the CUDA simulator")
def test_autoencoder_trains_the_same_on_the_cuda_simulator(rng):
    x = rng.random((8, 5, 5, 1)).astype(np.float32)
    cpu, sim = _autoencoder(5), _autoencoder(5)
    sim.set_weights(cpu.get_weights())
    cpu.compile("adam", "mse")
    sim.compile("adam", "mse", device="cuda-sim")
    hc = cpu.fit(x, x, epochs=2, batch_size=4, verbose=0, shuffle=False)
    hs = sim.fit(x, x, epochs=2, batch_size=4, verbose=0, shuffle=False)
    np.testing.assert_allclose(hc.history["loss"], hs.history["loss"], rtol=1e-5)
    for a, b in zip(cpu.get_weights(), sim.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_center_crop_and_resizing_gradients_are_adjoint(rng):
    """<layer(x), dy> == <x, backward(dy)> for the multi-pass layers (crop/pad then resize)."""
    for layer in (
        layers.Resizing(5, 7, pad_to_aspect_ratio=True, fill_value=0.0),
        layers.Resizing(4, 9, crop_to_aspect_ratio=True, interpolation="nearest"),
        layers.CenterCrop(8, 3),
    ):
        x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
        y = np.array(layer(x))
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = np.array(layer.backward(dy))
        np.testing.assert_allclose((y.astype(np.float64) * dy).sum(), (x.astype(np.float64) * dx).sum(), rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(
        ValueError, match=r"UpSampling2D: `interpolation` must be one of 'nearest', 'bilinear'.*'bicubic'"
    ):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(
        ValueError, match=r"Resizing: `interpolation` must be one of 'nearest', 'bilinear'.*got 'lanczos3'"
    ):
        layers.Resizing(4, 4, interpolation="lanczos3")
    with pytest.raises(ValueError, match=r"Resizing: only one of `pad_to_aspect_ratio` and `crop_to_aspect_ratio`"):
        layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match=r"Resizing: `antialias`=True is not supported"):
        layers.Resizing(4, 4, antialias=True)
    with pytest.raises(ValueError, match=r"Resizing: `fill_mode` must be 'constant'"):
        layers.Resizing(4, 4, fill_mode="reflect")
    with pytest.raises(ValueError, match=r"Resizing: `height` must be a positive integer"):
        layers.Resizing(0, 4)
    with pytest.raises(ValueError, match=r"Cropping2D: `cropping` must be an int, \(rows, cols\)"):
        layers.Cropping2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"Cropping2D: `cropping` must be a non-negative integer"):
        layers.Cropping2D(-1)
    with pytest.raises(ValueError, match=r"Cropping2D layer .*must leave at least one row and column"):
        layers.Cropping2D(((2, 2), (0, 0))).ensure_built((4, 5, 1))
    with pytest.raises(ValueError, match=r"Rescaling: `scale` must be a number"):
        layers.Rescaling([1.0, 2.0])
    with pytest.raises(ValueError, match=r"UpSampling2D: `data_format` must be 'channels_last'"):
        layers.UpSampling2D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"CenterCrop layer .*expects images \(batch, height, width, channels\)"):
        layers.CenterCrop(2, 2).ensure_built((4, 5))


def test_keras_file_round_trip(tmp_path):
    """They are Keras 3 built-in layers: a .keras file holds them under Keras's class names (this
    model, written by sinapse, loaded in Keras 3.15.1 with the same predictions to 1.2e-7, and
    Keras's re-save loaded back in sinapse, likewise)."""
    pytest.importorskip("h5py")
    model = models.Sequential(
        [
            layers.Input((9, 8, 2)),
            layers.Rescaling(0.5, offset=-1.0),
            layers.Conv2D(3, 3, padding="same"),
            layers.UpSampling2D(2, interpolation="bilinear"),
            layers.Cropping2D(((1, 2), (0, 3))),
            layers.Resizing(7, 5, crop_to_aspect_ratio=True),
            layers.UpSampling2D((1, 2)),
            layers.CenterCrop(6, 8),
            layers.Resizing(9, 4, pad_to_aspect_ratio=True, fill_value=0.25, interpolation="nearest"),
        ]
    )
    x = np.random.default_rng(1).normal(size=(3, 9, 8, 2)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
