"""SimpleRNN, LSTM, GRU, Embedding and Masking layers: forward/backward against the NumPy
reference and finite differences, Keras's weights and configs, masks, return_state, training,
saving, and the same training steps on the simulated CUDA kernels as on the CPU."""

import numpy as np
import pytest

import sinapse
from keras_helpers import check_layer_gradients
from sinapse import layers, reference
from sinapse.models import Sequential, load_model

CELLS = [
    (layers.SimpleRNN, {}, "simple_rnn"),
    (layers.SimpleRNN, {"activation": "relu"}, "simple_rnn"),
    (layers.LSTM, {}, "lstm"),
    (layers.GRU, {}, "gru"),
    (layers.GRU, {"reset_after": False}, "gru"),
]


def _reference_options(kw):
    if "activation" in kw:
        return {"activation": kw["activation"]}
    return {"reset_after": kw["reset_after"]} if "reset_after" in kw else {}


def _randomize(layer, rng):
    """Non-trivial biases (the initial ones are zeros/ones) so every gradient term is exercised."""
    layer.set_weights([0.5 * rng.standard_normal(w.shape) for w in layer.weights])


@pytest.mark.parametrize("cls,kw,cell", CELLS)
@pytest.mark.parametrize(
    "return_sequences,go_backwards,masked", [(True, False, False), (False, True, True), (True, True, True)]
)
def test_forward_and_backward_match_the_reference(rng, cls, kw, cell, return_sequences, go_backwards, masked):
    n, t, d, h = 3, 5, 4, 6
    layer = cls(h, return_sequences=return_sequences, go_backwards=go_backwards, **kw)
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    layer.ensure_built(x.shape[1:])
    _randomize(layer, rng)
    mask = rng.random((n, t)) < 0.7 if masked else None
    y = layer.forward(x, mask=mask)
    weights = [w.astype(np.float64) for w in layer.get_weights()]
    opts = {"mask": mask, "go_backwards": go_backwards, "return_sequences": return_sequences, **_reference_options(kw)}
    want = getattr(reference, cell)(x.astype(np.float64), *weights, **opts)[0]
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy)
    dx_ref, dk, drk, db, *_ = getattr(reference, f"{cell}_backward")(dy, x.astype(np.float64), *weights, **opts)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-4, atol=1e-5)
    for w, g in zip(layer.weights, (dk, drk, db)):
        np.testing.assert_allclose(w.grad, g, rtol=1e-4, atol=1e-5, err_msg=w.name)


def test_lstm_gradients_match_finite_differences(rng):
    layer = layers.LSTM(3, return_sequences=True, kernel_regularizer="l2")
    x = rng.standard_normal((2, 4, 3))
    layer.ensure_built((4, 3))
    _randomize(layer, rng)
    # The regularizer's gradient is added to the kernel's: compare against the data term plus it.
    layer.kernel_regularizer = layer.kernel.regularizer = None
    check_layer_gradients(layer, x, rng)


def test_keras_weight_layout_and_initial_values():
    lstm, gru, gru_before, rnn = (
        layers.LSTM(4),
        layers.GRU(4),
        layers.GRU(4, reset_after=False),
        layers.SimpleRNN(4, use_bias=False),
    )
    for layer in (lstm, gru, gru_before, rnn):
        layer.ensure_built((7, 3))
    assert [(w.name, w.shape) for w in lstm.weights] == [
        ("kernel", (3, 16)),
        ("recurrent_kernel", (4, 16)),
        ("bias", (16,)),
    ]
    assert [w.shape for w in gru.weights] == [(3, 12), (4, 12), (2, 12)]
    assert [w.shape for w in gru_before.weights] == [(3, 12), (4, 12), (12,)]
    assert [w.name for w in rnn.weights] == ["kernel", "recurrent_kernel"]
    bias = lstm.get_weights()[2]
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])  # unit_forget_bias
    plain = layers.LSTM(4, unit_forget_bias=False)
    plain.ensure_built((7, 3))
    np.testing.assert_array_equal(plain.get_weights()[2], np.zeros(16))
    rk = lstm.get_weights()[1]
    np.testing.assert_allclose(rk @ rk.T, np.eye(4), atol=1e-5)  # orthogonal rows (Keras's initializer)
    assert lstm.count_params() == 4 * 4 * (3 + 4 + 1) and lstm.output_shape == (4,)
    assert layers.GRU(5, return_sequences=True).ensure_built((7, 3)) == (7, 5)
    new = [np.full(w.shape, i, np.float32) for i, w in enumerate(lstm.weights)]
    lstm.set_weights(new)
    for got, want in zip(lstm.get_weights(), new):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "layer",
    [
        layers.SimpleRNN(3, activation="relu", go_backwards=True, name="my_rnn"),
        layers.LSTM(5, return_sequences=True, unit_forget_bias=False, recurrent_regularizer="l2"),
        layers.GRU(2, reset_after=False, use_bias=False, return_state=True, kernel_initializer="he_normal"),
        layers.Embedding(10, 4, mask_zero=True, input_length=6),
        layers.Masking(mask_value=-1.0),
    ],
)
def test_config_round_trip(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    restored = layers.deserialize(layers.serialize(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


def test_keras_names_and_defaults():
    sinapse.layers.base._NAME_COUNTS.clear()
    assert [
        layers.LSTM(2).name,
        layers.LSTM(2).name,
        layers.SimpleRNN(2).name,
        layers.GRU(2).name,
        layers.Embedding(3, 2).name,
        layers.Masking().name,
    ] == ["lstm", "lstm_1", "simple_rnn", "gru", "embedding", "masking"]
    config = layers.LSTM(2).get_config()
    assert (
        config["activation"],
        config["recurrent_activation"],
        config["return_sequences"],
        config["kernel_initializer"]["class_name"],
        config["recurrent_initializer"]["class_name"],
    ) == ("tanh", "sigmoid", False, "GlorotUniform", "Orthogonal")
    assert layers.GRU(2).reset_after is True


def test_unsupported_arguments_are_refused_clearly():
    # dropout / recurrent_dropout are supported (tests/test_recurrent_dropout.py); bad values are refused
    with pytest.raises(ValueError, match=r"^LSTM: `dropout` must be a number in \[0, 1\], got 'x'"):
        layers.LSTM(4, dropout="x")
    with pytest.raises(ValueError, match="`recurrent_dropout`"):
        layers.GRU(4, recurrent_dropout=float("nan"))
    with pytest.raises(ValueError, match=r"^LSTM: `recurrent_activation` must be 'sigmoid' .*got 'hard_sigmoid'"):
        layers.LSTM(4, recurrent_activation="hard_sigmoid")
    with pytest.raises(ValueError, match=r"^GRU: `activation` must be 'tanh' .*got 'relu'"):
        layers.GRU(4, activation="relu")
    with pytest.raises(ValueError, match=r"^SimpleRNN: `activation` must be 'tanh' or 'relu' .*got 'sigmoid'"):
        layers.SimpleRNN(4, activation="sigmoid")
    with pytest.raises(NotImplementedError, match=r"^LSTM: `zero_output_for_mask` must be False"):
        layers.LSTM(4, zero_output_for_mask=True)
    assert layers.GRU(4, implementation=1, zero_output_for_mask=False).units == 4
    with pytest.raises(TypeError, match="'dropout_W'"):
        layers.LSTM(4, dropout_W=0.1)
    # stateful=True is supported (tests/test_recurrent_stateful.py); a bad batch size is refused
    with pytest.raises(ValueError, match=r"^SimpleRNN: `batch_size` must be a positive integer"):
        layers.SimpleRNN(4, stateful=True, batch_size=0)
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        layers.LSTM(0)
    with pytest.raises(
        ValueError, match=r"^LSTM: `recurrent_constraint`: constraints.get: unknown constraint 'nonneg'"
    ):
        layers.LSTM(2, recurrent_constraint="nonneg")
    with pytest.raises(ValueError, match=r"^LSTM: `activity_regularizer`: unknown regularizer 'l3'"):
        layers.LSTM(2, activity_regularizer="l3")  # supported since issue 16 (tests/test_activity_regularizer.py)
    with pytest.raises(ValueError, match=r"lstm_x.*\(batch, time, features\).*\(None, 5\)"):
        layers.LSTM(2, name="lstm_x").ensure_built((5,))
    with pytest.raises(ValueError, match=r"the mask has shape \(2, 3\).*\(2, 4\)"):
        layers.LSTM(2)(np.zeros((2, 4, 3)), mask=np.ones((2, 3), bool))


def test_return_state_in_a_direct_call_and_initial_state(rng):
    n, t, d, h = 2, 4, 3, 5
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    h0, c0 = (rng.standard_normal((n, h)).astype(np.float32) for _ in range(2))
    lstm = layers.LSTM(h, return_state=True)
    y, h_t, c_t = lstm(x, initial_state=[h0, c0])
    k, rk, b = (w.astype(np.float64) for w in lstm.get_weights())
    want = reference.lstm(x.astype(np.float64), k, rk, b, h0=h0, c0=c0, return_sequences=False)
    for got, ref in zip((y, h_t, c_t), want):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(y, h_t)
    # Gradients of the final states flow back to the initial ones.
    dh, dc = (rng.standard_normal((n, h)).astype(np.float32) for _ in range(2))
    dx = lstm.backward(None, dstates=[dh, dc])
    ref = reference.lstm_backward(
        np.zeros((n, h)),
        x.astype(np.float64),
        k,
        rk,
        b,
        dh_T=dh,
        dc_T=dc,
        h0=h0,
        c0=c0,
        return_sequences=False,
    )
    for got, want in zip((dx, lstm.kernel.grad, *lstm.initial_state_grads), (ref[0], ref[1], ref[4], ref[5])):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    gru = layers.GRU(h, return_sequences=True, return_state=True)
    y, h_t = gru(x, initial_state=h0)
    np.testing.assert_array_equal(y[:, -1], h_t)
    with pytest.raises(ValueError, match=r"initial_state must hold 2 array\(s\) \[h, c\], got 1"):
        lstm(x, initial_state=[h0])
    with pytest.raises(ValueError, match=r"\(batch, units\) = \(2, 5\), got \(2, 4\)"):
        gru(x, initial_state=np.zeros((2, 4)))
    model = Sequential([layers.LSTM(h, return_state=True, input_shape=(t, d)), layers.Dense(1)])
    with pytest.raises(ValueError, match="return_state=True.*Sequential model cannot"):
        model.predict(x)


def padded_ids(rng, lengths, t, vocab, side):
    ids = np.zeros((len(lengths), t), np.float32)
    for i, n in enumerate(lengths):
        seq = rng.integers(1, vocab, n)
        if side == "post":
            ids[i, :n] = seq
        else:
            ids[i, t - n :] = seq
    return ids


@pytest.mark.parametrize("side", ["pre", "post"])
def test_embedding_mask_zero_into_lstm_equals_the_unpadded_run(rng, side):
    vocab, t, lengths = 7, 6, [6, 3, 1, 4]
    ids = padded_ids(rng, lengths, t, vocab, side)
    emb, lstm = layers.Embedding(vocab, 3, mask_zero=True), layers.LSTM(4)
    emb.ensure_built((None,))  # any sequence length
    lstm.ensure_built((None, 3))
    mask = emb.compute_mask(ids, None)
    np.testing.assert_array_equal(mask, ids != 0)
    padded = lstm.forward(emb.forward(ids), mask=mask)
    for i, n in enumerate(lengths):
        real = ids[i : i + 1, :n] if side == "post" else ids[i : i + 1, t - n :]
        alone = lstm.forward(emb.forward(real))
        np.testing.assert_allclose(padded[i], alone[0], rtol=1e-5, atol=1e-6)
    # Through a model: evaluate on padded batches gives the loss of the unpadded sequences.
    model = Sequential([emb, lstm, layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    labels = np.array([0, 1, 1, 0])
    per_sample = [
        model.evaluate(ids[i : i + 1, :n] if side == "post" else ids[i : i + 1, t - n :], labels[i : i + 1], verbose=0)
        for i, n in enumerate(lengths)
    ]
    np.testing.assert_allclose(model.evaluate(ids, labels, batch_size=4, verbose=0), np.mean(per_sample), rtol=1e-5)


def test_embedding_forward_backward(rng):
    emb = layers.Embedding(5, 3, input_shape=(4,))
    ids = np.array([[0, 4, 4, 1], [2, 2, 0, 3]], np.float32)
    emb.ensure_built((4,))
    table = emb.get_weights()[0]
    assert np.all(np.abs(table) <= 0.05)  # Keras's "uniform": U(-0.05, 0.05)
    y = emb.forward(ids)
    np.testing.assert_array_equal(y, table[ids.astype(int)])
    assert emb.compute_mask(ids, None) is None
    dy = rng.standard_normal(y.shape).astype(np.float32)
    assert emb.backward(dy, need_dx=False) is None
    want = np.zeros((5, 3))
    np.add.at(want, ids.astype(int), dy)
    np.testing.assert_allclose(emb.embeddings.grad, want, rtol=1e-6)
    with pytest.raises(ValueError, match="no gradient with respect to its integer inputs"):
        emb.backward(dy, need_dx=True)
    with pytest.raises(IndexError, match=r"Embedding layer 'embedding.*input_dim=5.*\[0, 5\)"):
        emb.forward(np.array([[0, 1, 5, 2]], np.float32))
    assert layers.Embedding(9, 2, input_length=7)._declared_input_shape == (7,)


def test_masking_layer(rng):
    x = rng.standard_normal((3, 5, 2))
    x[0, 1] = x[2, 4] = x[1, 0] = -1.0
    layer = layers.Masking(mask_value=-1.0)
    y = layer(x)
    keep = np.ones((3, 5), bool)
    keep[0, 1] = keep[2, 4] = keep[1, 0] = False
    np.testing.assert_array_equal(layer.compute_mask(x.astype(np.float32), None), keep)
    np.testing.assert_array_equal(y, x.astype(np.float32) * keep[..., None])  # Keras zeroes masked steps
    # (No finite differences: the output jumps when a masked step's values move off mask_value.)
    dx = layer.backward(np.ones((3, 5, 2), np.float32))
    np.testing.assert_array_equal(dx, np.broadcast_to(keep[..., None], x.shape))
    zero = layers.Masking()
    z = np.zeros((1, 2, 3), np.float32)
    z[0, 1, 2] = 1.0
    assert zero.forward(z) is z and zero.compute_mask(z, None).tolist() == [[False, True]]


def copy_task(rng, n, t=6, vocab=5):
    """The label is the first token: the LSTM must carry it through the sequence."""
    ids = rng.integers(1, vocab, (n, t)).astype(np.float32)
    return ids, (ids[:, 0] - 1).astype(np.int64)


def test_sequential_embedding_lstm_dense_learns(rng):
    sinapse.utils.set_random_seed(1)
    x, y = copy_task(rng, 256)
    model = Sequential([layers.Embedding(5, 8, input_length=6), layers.LSTM(16), layers.Dense(4, activation="softmax")])
    model.compile(sinapse.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0).history
    assert history["loss"][-1] < 0.05 * history["loss"][0]
    assert history["accuracy"][-1] > 0.95


def test_per_step_outputs_train_with_sparse_labels_per_step(rng):
    sinapse.utils.set_random_seed(2)
    ids = rng.integers(0, 4, (64, 7)).astype(np.float32)
    y = np.roll(ids, 1, axis=1).astype(np.int64)  # predict the previous token at every step
    model = Sequential(
        [layers.Embedding(4, 6), layers.GRU(12, return_sequences=True), layers.Dense(4, activation="softmax")]
    )
    model.compile(sinapse.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    history = model.fit(ids, y, epochs=15, batch_size=16, verbose=0).history
    assert model.output_shape == (None, 7, 4)
    assert history["loss"][-1] < 0.5 * history["loss"][0]


def recurrent_stack(t=5, vocab=6):
    return Sequential(
        [
            layers.Embedding(vocab, 3, mask_zero=True, input_length=t),
            layers.SimpleRNN(4, return_sequences=True),
            layers.GRU(4, return_sequences=True, go_backwards=True),
            layers.LSTM(3),
            layers.Dense(2, activation="softmax"),
        ]
    )


def test_save_and_load_a_recurrent_model(rng, tmp_path):
    sinapse.utils.set_random_seed(3)
    x = padded_ids(rng, [5, 2, 4, 3], 5, 6, "pre")
    y = np.array([0, 1, 1, 0])
    model = recurrent_stack()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    model.save(tmp_path / "rnn.safetensors")
    loaded = load_model(tmp_path / "rnn.safetensors")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def train_stack(x, y, device):
    sinapse.utils.set_random_seed(7)
    model = recurrent_stack()
    model.compile(sinapse.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy", device=device)
    history = model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    return history["loss"], model.get_weights()


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="sinapse built without the CUDA simulator")
def test_cuda_sim_trains_a_recurrent_model_like_the_cpu(rng):
    """Embedding (mask_zero) -> SimpleRNN -> GRU (go_backwards) -> LSTM -> Dense on the CUDA kernels."""
    x = padded_ids(rng, [5, 2, 4, 3, 1, 5, 3, 2], 5, 6, "post")
    y = rng.integers(0, 2, 8)
    loss_cpu, w_cpu = train_stack(x, y, "cpu")
    loss_sim, w_sim = train_stack(x, y, "cuda-sim")
    np.testing.assert_allclose(loss_sim, loss_cpu, rtol=1e-4)
    for a, b in zip(w_sim, w_cpu):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_predict_uses_the_mask_like_evaluate():
    # Embedding(mask_zero) -> LSTM: predict on a padded row equals predict on the unpadded row.
    import sinapse
    from sinapse import layers

    sinapse.utils.set_random_seed(3)
    model = sinapse.Sequential([layers.Embedding(10, 4, mask_zero=True), layers.LSTM(5), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    short = np.array([[3, 4, 5]], np.int32)
    padded = np.array([[3, 4, 5, 0, 0]], np.int32)
    padded_proba = model.predict(padded, verbose=0)
    twin = sinapse.Sequential([layers.Embedding(10, 4, mask_zero=True), layers.LSTM(5), layers.Dense(2)])
    twin.build((None, 3))  # the same model for length 3, same weights
    twin.set_weights(model.get_weights())
    np.testing.assert_allclose(padded_proba, twin.predict(short, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(padded), twin.predict_on_batch(short), rtol=1e-5, atol=1e-6)
