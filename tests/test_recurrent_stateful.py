"""``stateful=True`` SimpleRNN / LSTM / GRU, as Keras 3: each call continues from the previous
call's final states row by row (two half-sequences equal the whole sequence), reset_states,
batch-size errors, predict/evaluate update the states too, the config round trip and saving
(states are not weights, as in Keras 3), and fit with shuffle=False."""

import os

import numpy as np
import pytest

from sinapse import layers
from sinapse.models import Sequential, load_model

CASES = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})]


def _pair(cls, kw, rng, **extra):
    plain = getattr(layers, cls)(5, return_sequences=True, **kw)
    stateful = getattr(layers, cls)(5, return_sequences=True, stateful=True, **kw, **extra)
    plain.ensure_built((None, 3))
    stateful.ensure_built((None, 3))
    weights = [0.5 * rng.standard_normal(w.shape).astype(np.float32) for w in plain.get_weights()]
    plain.set_weights(weights)
    stateful.set_weights(weights)
    return plain, stateful


@pytest.mark.parametrize("cls,kw", CASES)
def test_two_halves_equal_the_whole_sequence_and_reset(rng, cls, kw):
    plain, stateful = _pair(cls, kw, rng)
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    whole = plain(x)
    first, second = stateful(x[:, :3]), stateful(x[:, 3:])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-5, atol=1e-6)
    assert len(stateful.states) == (2 if cls == "LSTM" else 1)
    np.testing.assert_allclose(np.asarray(stateful.states[0]), whole[:, -1], rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    assert not np.any(np.asarray(stateful.states[0]))
    np.testing.assert_allclose(stateful(x[:, :3]), first, rtol=1e-6, atol=1e-7)  # from zeros again
    stateful.reset_state()  # Keras 3's name
    np.testing.assert_allclose(stateful(x[:, :3]), first, rtol=1e-6, atol=1e-7)


def test_batch_size_is_fixed(rng):
    layer = layers.LSTM(4, stateful=True)
    layer(np.zeros((3, 2, 2), np.float32))
    with pytest.raises(
        ValueError, match=r"stateful=True needs every batch to have the same size.*expected batch size 3, got 2"
    ):
        layer(np.zeros((2, 2, 2), np.float32))
    declared = layers.GRU(4, stateful=True, batch_input_shape=(5, 2, 2))
    with pytest.raises(ValueError, match="expected batch size 5, got 3"):
        declared(np.zeros((3, 2, 2), np.float32))
    declared(np.zeros((5, 2, 2), np.float32))
    assert declared.states[0].shape == (5, 4)


def test_model_predict_carries_states_and_saves_without_them(rng, tmp_path):
    model = Sequential([layers.Input((4, 3), batch_size=2), layers.SimpleRNN(3, stateful=True), layers.Dense(1)])
    x = rng.standard_normal((2, 8, 3)).astype(np.float32)
    rnn = model.layers[0]
    a = model.predict(x[:, :4], batch_size=2, verbose=0)
    b = model.predict(x[:, 4:], batch_size=2, verbose=0)  # continues from a's states
    rnn.reset_states()
    np.testing.assert_allclose(model.predict(x[:, :4], batch_size=2, verbose=0), a, rtol=1e-6)
    assert not np.allclose(model.predict(x[:, :4], batch_size=2, verbose=0), a)  # continued again
    cfg = rnn.get_config()
    assert cfg["stateful"] is True
    assert len(rnn.get_weights()) == 3  # kernel, recurrent_kernel, bias: the states are not weights
    path = tmp_path / "stateful.keras"
    model.save(path)
    loaded = load_model(path)
    assert loaded.layers[0].stateful and loaded.layers[0].states is None
    np.testing.assert_allclose(loaded.predict(x[:, :4], batch_size=2, verbose=0), a, rtol=1e-6)
    np.testing.assert_allclose(loaded.predict(x[:, 4:], batch_size=2, verbose=0), b, rtol=1e-6)


def test_fit_with_shuffle_false(rng):
    """A stateful LSTM fed one long sequence in consecutive chunks (shuffle=False) learns a task
    that needs the carried state: output the sign of the running sum since the sequence began."""
    n, chunks, t = 4, 12, 5
    x = rng.standard_normal((n, chunks * t, 1)).astype(np.float32)
    running = np.cumsum(x[..., 0], axis=1)
    y = (running[:, t - 1 :: t] > 0).astype(np.float32)  # the sign at the end of each chunk
    xs = x.reshape(n, chunks, t, 1).transpose(1, 0, 2, 3).reshape(chunks * n, t, 1)  # chunk-major batches
    ys = y.T.reshape(chunks * n, 1)
    model = Sequential(
        [layers.Input((t, 1), batch_size=n), layers.LSTM(8, stateful=True), layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rnn = model.layers[0]
    losses = []
    for _ in range(40):
        rnn.reset_states()
        losses.append(model.fit(xs, ys, batch_size=n, epochs=1, shuffle=False, verbose=0).history["loss"][0])
    assert losses[-1] < 0.7 * losses[0]
    with pytest.raises(ValueError, match="stateful=True needs every batch to have the same size"):
        model.fit(xs[:6], ys[:6], batch_size=n, epochs=1, shuffle=False, verbose=0)  # a last batch of 2


def test_keras_file_with_stateful_layers_predicts_as_keras():
    """A Keras 3.15.1 .keras file (stateful LSTM -> stateful GRU -> Dense, batch_shape (2, 4, 3))
    gives Keras's outputs on consecutive batches (Keras's eager calls; see the golden script for
    why not its JAX predict) and after a reset (tests/golden/make_keras_stateful_goldens.py);
    model.reset_states() resets every layer."""
    golden = os.path.join(os.path.dirname(__file__), "golden")
    g = np.load(os.path.join(golden, "keras_stateful.npz"))
    model = load_model(os.path.join(golden, "keras_stateful.keras"))
    assert [layer.stateful for layer in model.layers[:2]] == [True, True]
    for batch, want in zip(g["x"], g["y"]):
        np.testing.assert_allclose(model.predict_on_batch(batch), want, rtol=1e-5, atol=1e-6)
    model.reset_states()
    np.testing.assert_allclose(model.predict_on_batch(g["x"][0]), g["y_reset"], rtol=1e-5, atol=1e-6)


def test_distributed_shards_are_refused():
    from sinapse.distributed.strategy import Shard, shard_scope

    layer = layers.SimpleRNN(2, stateful=True)
    with (
        shard_scope(Shard(0, 2, 4)),
        pytest.raises(NotImplementedError, match="stateful=True is not supported in distributed"),
    ):
        layer(np.zeros((2, 3, 1), np.float32))
