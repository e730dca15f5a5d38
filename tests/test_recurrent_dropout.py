"""``dropout`` / ``recurrent_dropout`` of SimpleRNN, LSTM and GRU: Keras 3's mask counts and
values, training-only, seeded and reproducible (Philox stream and RNG state like Dropout's,
distributed shards draw what one process would), the layer's output equal to the op with its
masks, Keras 3.15.1's own cells given the same masks (tests/golden/keras_rnn_dropout.npz,
made by tests/golden/make_keras_rnn_dropout_goldens.py), and training with dropout."""

import os

import numpy as np
import pytest

from sinapse import layers, ops, optimizers, reference
from sinapse.distributed.strategy import Shard, shard_scope
from sinapse.models import Sequential

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "keras_rnn_dropout.npz")


def _layer(cls, units=6, **kw):
    layer = getattr(layers, cls)(units, return_sequences=True, **kw)
    layer.ensure_built((5, 4))
    return layer


@pytest.mark.parametrize(
    "cls,kw,dm_shape,rdm_shape",
    [
        ("SimpleRNN", {"dropout": 0.3, "recurrent_dropout": 0.2}, (3, 4), (3, 1, 6)),
        ("LSTM", {"dropout": 0.3}, (3, 4), None),  # implementation=2: one mask for all gates
        ("LSTM", {"dropout": 0.3, "implementation": 1}, (3, 4, 4), None),
        ("LSTM", {"dropout": 0.3, "recurrent_dropout": 0.2}, (3, 4, 4), (3, 4, 6)),  # forces implementation=1
        ("LSTM", {"recurrent_dropout": 0.2}, None, (3, 4, 6)),
        ("GRU", {"dropout": 0.3}, (3, 4), None),
        ("GRU", {"dropout": 0.3, "recurrent_dropout": 0.2, "reset_after": False}, (3, 3, 4), (3, 3, 6)),
    ],
)
def test_mask_counts_values_and_the_op(rng, cls, kw, dm_shape, rdm_shape):
    layer = _layer(cls, seed=5, **kw)
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    y = layer(x, training=True)
    cache = layer._cache
    for got, shape, rate in (
        (cache.dropout_mask, dm_shape, kw.get("dropout")),
        (cache.recurrent_dropout_mask, rdm_shape, kw.get("recurrent_dropout")),
    ):
        if shape is None:
            assert got is None
            continue
        assert got.shape == shape
        assert set(np.unique(got)) <= {0.0, np.float32(1 / (1 - rate))}
    # the Philox stream: the input masks, then the recurrent ones, as ops.dropout on ones
    offset, seen = 0, 0
    for got, rate in (
        (cache.dropout_mask, kw.get("dropout")),
        (cache.recurrent_dropout_mask, kw.get("recurrent_dropout")),
    ):
        if got is None:
            continue
        want = ops.dropout(np.ones(got.size, np.float32), rate, 5, offset).reshape(got.shape)
        np.testing.assert_array_equal(got, want)
        offset += -(-got.size // 4)
        seen += 1
    assert int(layer.get_rng_state()["offset"]) == offset and seen
    # the layer's output is the op's (and the float64 reference's) with those masks
    ref_kw = {"dropout_mask": cache.dropout_mask, "recurrent_dropout_mask": cache.recurrent_dropout_mask}
    w = [np.asarray(v, np.float64) for v in layer.get_weights()]
    if cls == "LSTM":
        want = reference.lstm(x.astype(np.float64), *w, **ref_kw)[0]
    elif cls == "GRU":
        want = reference.gru(x.astype(np.float64), *w, reset_after=layer.reset_after, **ref_kw)[0]
    else:
        want = reference.simple_rnn(x.astype(np.float64), *w, **ref_kw)[0]
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_inference_ignores_dropout_and_seeds_reproduce(rng, cls):
    x = rng.standard_normal((4, 5, 4)).astype(np.float32)
    plain = _layer(cls)
    a, b = (
        _layer(cls, dropout=0.5, recurrent_dropout=0.5, seed=11),
        _layer(cls, dropout=0.5, recurrent_dropout=0.5, seed=11),
    )
    for layer in (a, b):
        layer.set_weights(plain.get_weights())
    np.testing.assert_array_equal(a(x, training=False), plain(x))
    assert int(a.get_rng_state()["offset"]) == 0  # inference draws nothing
    first = a(x, training=True)
    np.testing.assert_array_equal(first, b(x, training=True))  # same seed, same masks
    assert not np.allclose(first, plain(x))
    assert not np.array_equal(first, a(x, training=True))  # a fresh mask each call
    state = b.get_rng_state()
    again = b(x, training=True)
    b.set_rng_state(state)
    np.testing.assert_array_equal(b(x, training=True), again)


def test_shards_draw_what_one_process_draws(rng):
    layer = _layer("LSTM", dropout=0.3, recurrent_dropout=0.4, seed=3)
    x = rng.standard_normal((5, 5, 4)).astype(np.float32)
    state = layer.get_rng_state()
    layer(x, training=True)
    whole = (layer._cache.dropout_mask, layer._cache.recurrent_dropout_mask)
    parts = []
    for start, rows in ((0, 2), (2, 3)):  # rank 1's first mask element is not lane 0 of its block
        layer.set_rng_state(state)
        with shard_scope(Shard(start, rows, 5)):
            layer(x[start : start + rows], training=True)
        parts.append((layer._cache.dropout_mask, layer._cache.recurrent_dropout_mask))
    for i in range(2):
        np.testing.assert_array_equal(np.concatenate([p[i] for p in parts]), whole[i])


def test_config_round_trip_and_errors():
    layer = layers.GRU(3, dropout=0.25, recurrent_dropout=1.5, seed=9)
    cfg = layer.get_config()
    assert (cfg["dropout"], cfg["recurrent_dropout"], cfg["seed"]) == (0.25, 1.0, 9)  # clipped as Keras does
    again = layers.GRU.from_config(cfg)
    assert (again.dropout, again.recurrent_dropout, again.seed) == (0.25, 1.0, 9)
    with pytest.raises(ValueError, match="SimpleRNN: `dropout` must be a number"):
        layers.SimpleRNN(2, dropout=None)
    with pytest.raises(ValueError, match="LSTM: `seed`"):
        layers.LSTM(2, seed=-1)


@pytest.mark.parametrize(
    "name",
    [
        "simple_both",
        "lstm_input_only",
        "lstm_both",
        "lstm_impl1_input",
        "gru_both",
        "gru_before_both",
        "gru_input_only",
    ],
)
def test_keras_cells_with_the_same_masks(name):
    """Keras 3.15.1's training-mode cells run with injected masks (see the golden script) give
    what the sinapse op gives with those masks; Keras's inference output ignores them, as ours."""
    g = np.load(GOLDEN)
    get = lambda k: g[f"{name}/{k}"] if f"{name}/{k}" in g else None  # noqa: E731
    x, w = get("x"), [get(f"w{i}") for i in range(3)]
    kw = {"dropout_mask": get("dm"), "recurrent_dropout_mask": get("rdm")}
    if name.startswith("simple"):
        y, h, _ = ops.simple_rnn(x, *w, **kw)
        y0 = ops.simple_rnn(x, *w)[0]
    elif name.startswith("lstm"):
        y, h, _, _ = ops.lstm(x, *w, **kw)
        y0 = ops.lstm(x, *w)[0]
    else:
        reset_after = "before" not in name
        y, h, _ = ops.gru(x, *w, reset_after=reset_after, **kw)
        y0 = ops.gru(x, *w, reset_after=reset_after)[0]
    np.testing.assert_allclose(y, get("y"), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(h, get("h"), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(y0, get("y_inference"), rtol=1e-5, atol=2e-6)
    assert not np.allclose(y, y0)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_training_with_dropout_learns(rng, cls):
    """A small sequence task (is the sum of the sequence positive?) learns with both dropouts on."""
    x = rng.standard_normal((256, 8, 3)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.float32)[:, None]
    model = Sequential(
        [
            layers.Input((8, 3)),
            getattr(layers, cls)(16, dropout=0.2, recurrent_dropout=0.2, seed=1),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=25, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.65 * history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.85
