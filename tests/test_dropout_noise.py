"""spatial_dropout and gaussian_noise (the dropout family's channel-wise masks and Philox normals)
and the SpatialDropout1D/2D/3D and GaussianNoise layers: kernels against the NumPy reference on
the CPU and the simulated CUDA kernels (checked + racecheck), the CPU and CUDA draws bit-identical,
statistics, lanes (distributed shards), the layers' training/inference, seeds, configs against
Keras 3.15.1's, saving and resuming, bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import layers, ops, reference

CONFIGS = json.loads(str(np.load(Path(__file__).parent / "golden" / "keras_misc.npz")["configs"]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2, 3, 7), (4, 2, 3, 5), (2, 1, 2, 2, 9)])
@pytest.mark.parametrize("lane", [0, 3])
def test_spatial_dropout_matches_reference_bit_for_bit(rng, backend, shape, lane):
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    with on(backend):
        y = ops.spatial_dropout(x, 0.4, 1234, 77, lane=lane)
        dx = ops.spatial_dropout_backward(dy, 0.4, 1234, 77, lane=lane)
    np.testing.assert_array_equal(y, reference.spatial_dropout(x, 0.4, 1234, 77, lane))
    np.testing.assert_array_equal(dx, reference.spatial_dropout_backward(dy, 0.4, 1234, 77, lane))


def test_spatial_dropout_drops_whole_channels():
    x = np.ones((64, 5, 6, 32), np.float32)
    y = ops.spatial_dropout(x, 0.5, seed=3)
    per_channel = y.reshape(64, 30, 32)
    assert np.all(per_channel == per_channel[:, :1, :])  # one draw per (sample, channel)
    kept = (per_channel[:, 0, :] != 0).mean()
    assert abs(kept - 0.5) < 5 * np.sqrt(0.25 / (64 * 32))
    np.testing.assert_allclose(y[y != 0], 2.0)


def test_spatial_dropout_draws_are_the_dropout_stream():
    """(n, c) uses draw n * C + c: the masks of ops.dropout on an (N, C) array of ones."""
    x = np.ones((6, 4, 7), np.float32)
    flat = ops.dropout(np.ones((6, 7), np.float32), 0.3, seed=5, offset=2)
    np.testing.assert_array_equal(ops.spatial_dropout(x, 0.3, seed=5, offset=2), np.repeat(flat[:, None], 4, axis=1))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 1001, 4099])
@pytest.mark.parametrize("lane", [0, 1, 3])
def test_gaussian_noise_matches_reference(rng, backend, n, lane):
    x = rng.standard_normal(n).astype(np.float32)
    with on(backend):
        y = ops.gaussian_noise(x, 0.7, seed=2**40 + 3, offset=11, lane=lane)
    # the kernels' polynomial log / sin / cos against NumPy's: a few float32 ulps of the normal
    np.testing.assert_allclose(y, reference.gaussian_noise(x, 0.7, 2**40 + 3, 11, lane), rtol=0, atol=4e-6)


def test_cpu_and_cuda_draws_are_identical(rng):
    if "cuda_sim" not in BACKENDS:
        pytest.skip("built without the CUDA simulator")
    x = rng.standard_normal((33, 31)).astype(np.float32)
    args = dict(seed=2**40 + 5, offset=2**33, lane=2)
    cpu = (ops.gaussian_noise(x, 0.5, **args), ops.spatial_dropout(x, 0.3, **args))
    with sinapse.cuda.simulate():
        cuda = (ops.gaussian_noise(x, 0.5, **args), ops.spatial_dropout(x, 0.3, **args))
    for a, b in zip(cpu, cuda):
        np.testing.assert_array_equal(a, b)


def test_gaussian_noise_statistics():
    z = ops.gaussian_noise(np.zeros(400_000, np.float32), 1.0, seed=7)
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert abs(z.std() - 1.0) < 0.01
    assert abs(np.mean(z**4) - 3.0) < 0.05  # a normal's kurtosis
    assert abs(np.mean(np.abs(z) < 1.0) - 0.6827) < 0.005
    assert np.all(np.isfinite(z)) and np.abs(z).max() < 6.5


def test_lanes_continue_the_stream():
    """A shard starting at draw 4k + lane gets what one call over the whole batch gives there."""
    x = np.zeros(40, np.float32)
    whole = ops.gaussian_noise(x, 1.0, seed=9, offset=5)
    np.testing.assert_array_equal(ops.gaussian_noise(x[10:], 1.0, seed=9, offset=5 + 2, lane=2), whole[10:])
    ones = np.ones((10, 2, 3), np.float32)
    whole = ops.spatial_dropout(ones, 0.5, seed=9, offset=5)
    np.testing.assert_array_equal(ops.spatial_dropout(ones[3:], 0.5, seed=9, offset=5 + 2, lane=1), whole[3:])


def test_inference_is_identity(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    assert ops.spatial_dropout(x, 0.5, 1, training=False) is x
    assert ops.gaussian_noise(x, 0.5, 1, training=False) is x


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: ops.spatial_dropout(x[0, 0], 0.5, 1), ValueError, r"^spatial_dropout: `x` must have at least 2"),
        (lambda x: ops.spatial_dropout(x, 1.0, 1), ValueError, r"^spatial_dropout: `rate` must be in \[0, 1\)"),
        (lambda x: ops.spatial_dropout(x, 0.5, 1, lane=4), ValueError, r"^spatial_dropout: `lane`"),
        (lambda x: ops.spatial_dropout(x[:, :0], 0.5, 1), ValueError, r"at least one position and channel"),
        (lambda x: ops.gaussian_noise(x, -1.0, 1), ValueError, r"^gaussian_noise: `stddev` must be a finite"),
        (lambda x: ops.gaussian_noise(x, 0.1, -1), ValueError, r"^gaussian_noise: `seed`"),
        (lambda x: ops.gaussian_noise(x.astype(np.float64), 0.1, 1), TypeError, r"^gaussian_noise: `x`"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(np.ones((2, 3, 4), np.float32))


# ----------------------------------------------------------------------------------- layers


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: layers.SpatialDropout1D(0.4, seed=3), (6, 5, 4)),
        (lambda: layers.SpatialDropout2D(0.4, seed=3), (6, 3, 5, 4)),
        (lambda: layers.SpatialDropout3D(0.4, seed=3), (6, 2, 3, 2, 4)),
        (lambda: layers.GaussianNoise(0.3, seed=3), (6, 7)),
    ],
)
def test_layers_train_only_and_draw_fresh_noise(rng, make, shape):
    layer = make()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(layer(x), x)  # inference: the identity
    layer.ensure_built(shape[1:])
    first = layer.forward(x, training=True).copy()
    dy = rng.standard_normal(shape).astype(np.float32)
    dx = layer.backward(dy)
    if isinstance(layer, layers.GaussianNoise):
        np.testing.assert_array_equal(dx, dy)
        assert 0.2 < np.std(first - x) < 0.4
    else:
        np.testing.assert_array_equal(dx == 0, first == 0)  # the same masks
        np.testing.assert_allclose(dx[dx != 0], dy[dx != 0] / 0.6, rtol=1e-6)
    assert not np.array_equal(layer.forward(x, training=True), first)  # the counter moved on
    twin = make()
    twin.ensure_built(shape[1:])
    np.testing.assert_array_equal(twin.forward(x, training=True), first)  # same seed, same draws


@pytest.mark.parametrize("cls", ["SpatialDropout2D", "GaussianNoise"])
def test_configs_match_keras(cls):
    keras = CONFIGS[cls]
    layer = layers.deserialize({"class_name": cls, "config": keras})
    ours = layer.get_config()
    for key, value in keras.items():
        if key not in ("dtype", "name"):
            assert ours[key] == value, key
    assert layers.deserialize(layers.serialize(layer)).get_config() == ours
    assert set(ours) == set(keras)  # Keras's SpatialDropout*D takes no `trainable`: a .keras file must not hold one


def test_train_save_and_resume(tmp_path, rng):
    sinapse.utils.set_random_seed(0)
    x = rng.standard_normal((32, 6, 6, 2)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)

    def model():
        return sinapse.Sequential(
            [
                layers.Input((6, 6, 2)),
                layers.Conv2D(4, 3),
                layers.SpatialDropout2D(0.3),
                layers.Flatten(),
                layers.GaussianNoise(0.1),
                layers.Dense(2),
            ]
        )

    m = model()
    m.compile("adam", "sparse_categorical_crossentropy")
    history = m.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for name in ("m.sinapse", "m.keras"):
        m.save(tmp_path / name)
        np.testing.assert_array_equal(sinapse.models.load_model(tmp_path / name).predict(x), m.predict(x))
    # the layers' Philox counters are part of the saved training state: a reloaded model goes on identically
    m.save(tmp_path / "state.sinapse")
    again = sinapse.models.load_model(tmp_path / "state.sinapse")
    assert again.layers[1].get_rng_state()["offset"] == m.layers[1].get_rng_state()["offset"] > 0
    m.train_on_batch(x[:8], y[:8])
    again.train_on_batch(x[:8], y[:8])
    for a, b in zip(m.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: layers.SpatialDropout2D(1.0), ValueError, r"^SpatialDropout2D: `rate` must be a number in \[0, 1\)"),
        (lambda: layers.SpatialDropout2D(0.5, data_format="channels_first"), ValueError, r"`data_format`"),
        (lambda: layers.SpatialDropout1D(0.5, seed=-1), ValueError, r"^SpatialDropout1D: `seed`"),
        (lambda: layers.GaussianNoise(1.5), ValueError, r"^GaussianNoise: `stddev` must be a number in \[0, 1\]"),
        (lambda: layers.GaussianNoise("a"), TypeError, r"^GaussianNoise: `stddev`"),
    ],
)
def test_layer_argument_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_spatial_dropout_shape_error():
    with pytest.raises(ValueError, match=r"expects inputs with 2 spatial axes"):
        layers.SpatialDropout2D(0.5).compute_output_shape((4, 3))


@pytest.mark.parametrize(
    "make",
    [lambda: layers.SpatialDropout2D(0.5, seed=4), lambda: layers.GaussianNoise(0.5, seed=4)],
    ids=["SpatialDropout2D", "GaussianNoise"],
)
def test_distributed_shards_draw_what_one_process_draws(rng, make):
    """Rows [start, start + rows) of a global batch on one rank (distributed.strategy.Shard) get the
    draws of those rows in a single-process call, also when a shard starts inside a Philox block."""
    from sinapse.distributed.strategy import Shard, shard_scope

    x = rng.standard_normal((7, 2, 3, 3)).astype(np.float32)  # 3 channels, 18 values a row: odd lanes
    whole = make()
    whole.ensure_built(x.shape[1:])
    want = whole.forward(x, training=True).copy()
    for start, rows in ((0, 3), (3, 2), (5, 2)):
        part = make()
        part.ensure_built(x.shape[1:])
        with shard_scope(Shard(start, rows, 7)):
            got = part.forward(x[start : start + rows], training=True)
        np.testing.assert_array_equal(got, want[start : start + rows])
        assert part.get_rng_state()["offset"] == whole.get_rng_state()["offset"]
