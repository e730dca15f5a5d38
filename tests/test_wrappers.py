"""Bidirectional and TimeDistributed (layers/wrappers.py): Keras 3.15.1 golden outputs
(tests/golden/make_keras_wrappers_goldens.py), finite-difference gradients with and without masks,
training, sinapse and Keras files both ways, errors, and the simulated CUDA kernels."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

import sinapse
from keras_helpers import check_layer_gradients
from sinapse import layers
from sinapse.models import Sequential, load_model

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "golden", "keras_wrappers.npz"))
KERAS_FILE = os.path.join(os.path.dirname(__file__), "golden", "keras_wrappers.keras")
CELLS = {"SimpleRNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}
BI_CASES = sorted({k.split("/")[0] for k in GOLDEN.files if k.startswith("bi_")})
SIM = pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="sinapse built without the CUDA simulator")


def golden_layer(case: str):
    """The sinapse twin of a golden case's Keras layer, with the case's weights."""
    if case == "bi_LSTM_state":
        layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True, return_state=True))
    elif case == "bi_SimpleRNN_backward_layer":
        layer = layers.Bidirectional(
            layers.SimpleRNN(3, return_sequences=True),
            backward_layer=layers.SimpleRNN(3, activation="relu", return_sequences=True, go_backwards=True),
        )
    elif case == "td_Dense":
        layer = layers.TimeDistributed(layers.Dense(3, activation="tanh"))
    elif case == "td_Conv2D":
        layer = layers.TimeDistributed(layers.Conv2D(2, 3, padding="same", activation="relu"))
    else:
        _, cell, merge, seq, _ = case.split("_")
        layer = layers.Bidirectional(
            CELLS[cell](3, return_sequences=seq == "seq"), merge_mode=None if merge == "None" else merge
        )
    x = GOLDEN[f"{case}/x"]
    layer.build((None, *x.shape[1:]))
    count = sum(1 for k in GOLDEN.files if k.startswith(f"{case}/w"))
    layer.set_weights([GOLDEN[f"{case}/w{i}"] for i in range(count)])
    return layer, x


def golden_mask(case: str):
    mask = GOLDEN[f"{case}/mask"]
    return mask if mask.size else None


def golden_outputs(case: str) -> list:
    count = sum(1 for k in GOLDEN.files if k.startswith(f"{case}/y"))
    return [GOLDEN[f"{case}/y{i}"] for i in range(count)]


@pytest.mark.parametrize("case", BI_CASES)
def test_bidirectional_matches_keras(case):
    layer, x = golden_layer(case)
    y = layer(x, mask=golden_mask(case))
    got = y if isinstance(y, list) else [y]
    want = golden_outputs(case)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("case", ["td_Dense", "td_Conv2D"])
def test_time_distributed_matches_keras(case):
    layer, x = golden_layer(case)
    (want,) = golden_outputs(case)
    np.testing.assert_allclose(layer(x), want, rtol=1e-5, atol=2e-6)
    assert layer.compute_output_shape(x.shape[1:]) == want.shape[1:]


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("seq", [False, True])
def test_bidirectional_gradients_match_finite_differences(rng, cell, merge, seq):
    layer = layers.Bidirectional(CELLS[cell](3, return_sequences=seq), merge_mode=merge)
    x = rng.standard_normal((3, 5, 2))
    layer.ensure_built((5, 2))
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in layer.weights])
    check_layer_gradients(layer, x, rng)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 1]], bool)
    check_layer_gradients(layer, x, rng, mask=mask)


def test_time_distributed_gradients_match_finite_differences(rng):
    check_layer_gradients(
        layers.TimeDistributed(layers.Dense(3, activation="tanh")), rng.standard_normal((2, 4, 5)), rng
    )
    conv = layers.TimeDistributed(layers.Conv2D(2, 3, padding="same"))
    check_layer_gradients(conv, rng.standard_normal((2, 3, 5, 5, 2)), rng)


def test_weights_names_order_trainable_and_config():
    bi = layers.Bidirectional(layers.LSTM(4, name="enc"), merge_mode="sum")
    bi.build((None, 6, 3))
    assert bi.forward_layer.name == "forward_enc" and bi.backward_layer.name == "backward_enc"
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    assert [(w.layer.name, w.name, w.shape) for w in bi.weights] == [
        ("forward_enc", "kernel", (3, 16)),
        ("forward_enc", "recurrent_kernel", (4, 16)),
        ("forward_enc", "bias", (16,)),
        ("backward_enc", "kernel", (3, 16)),
        ("backward_enc", "recurrent_kernel", (4, 16)),
        ("backward_enc", "bias", (16,)),
    ]
    assert bi.count_params() == 2 * (3 * 16 + 4 * 16 + 16) and bi.compute_output_shape((6, 3)) == (4,)
    bi.trainable = False
    assert not bi.forward_layer.trainable and not bi.backward_layer.trainable and bi.trainable_weights == []
    config = bi.get_config()
    assert config["merge_mode"] == "sum" and config["layer"]["class_name"] == "LSTM"
    assert config["layer"]["config"]["name"] == "forward_enc" and config["backward_layer"]["config"]["go_backwards"]
    twin = layers.Bidirectional.from_config(config)
    assert twin.get_config() == config
    frozen = layers.Dense(2, trainable=False)
    assert not layers.TimeDistributed(frozen).trainable  # wrapping a frozen layer keeps it frozen


def test_weights_argument_sets_both_directions(rng):
    values = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (3, 3), (3,)] * 2]
    bi = layers.Bidirectional(layers.SimpleRNN(3), weights=values)
    bi.build((None, 4, 2))
    for got, want in zip(bi.get_weights(), values):
        np.testing.assert_array_equal(got, want)


def test_return_state_and_initial_state_in_direct_calls(rng):
    bi = layers.Bidirectional(layers.LSTM(3, return_state=True))
    x = rng.standard_normal((2, 4, 5)).astype(np.float32)
    y, hf, cf, hb, cb = bi(x)
    assert y.shape == (2, 6) and hf.shape == cb.shape == (2, 3)
    np.testing.assert_allclose(y, np.concatenate([hf, hb], axis=-1), rtol=1e-6)
    states = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(4)]
    y2 = bi(x, initial_state=states)[0]
    f = layers.LSTM(3)
    f.build((None, 4, 5))
    f.set_weights(bi.forward_layer.get_weights())
    np.testing.assert_allclose(y2[:, :3], f(x, initial_state=states[:2]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"initial_state must hold 4 arrays"):
        bi(x, initial_state=states[:2])


def test_several_outputs_are_refused_in_a_model():
    for bi in (
        layers.Bidirectional(layers.GRU(2), merge_mode=None),
        layers.Bidirectional(layers.GRU(2, return_state=True)),
    ):
        model = Sequential([layers.Input((4, 3)), bi])
        with pytest.raises(ValueError, match=r"Bidirectional layer .* gives several outputs"):
            model.predict(np.zeros((1, 4, 3), np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"merge_mode=None gives several outputs"):
        layers.Bidirectional(layers.GRU(2), merge_mode=None)(layers.Input((4, 3)))


@pytest.mark.parametrize(
    "make, err, message",
    [
        (lambda: layers.Bidirectional(layers.Dense(2)), TypeError, r"^Bidirectional: `layer` must be a SimpleRNN"),
        (lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="max"), ValueError, r"^Bidirectional: `merge_mode`"),
        (
            lambda: layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2)),
            ValueError,
            r"^Bidirectional: .* different `go_backwards`",
        ),
        (
            lambda: layers.Bidirectional(
                layers.LSTM(2), backward_layer=layers.LSTM(2, go_backwards=True, return_sequences=True)
            ),
            ValueError,
            r"^Bidirectional: .* the same `return_sequences`",
        ),
        (lambda: layers.TimeDistributed("dense"), TypeError, r"^TimeDistributed: `layer` must be a Layer"),
        (lambda: layers.TimeDistributed(layers.Add()), ValueError, r"^TimeDistributed: `layer` must take one input"),
    ],
)
def test_bad_arguments(make, err, message):
    with pytest.raises(err, match=message):
        make()


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"TimeDistributed layer .* at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(2))(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"Bidirectional layer .* \(batch, time, features\)"):
        layers.Bidirectional(layers.LSTM(2))(np.zeros((2, 3), np.float32))
    td = layers.TimeDistributed(layers.Dense(2))
    with pytest.raises(ValueError, match=r"the mask has shape \(2, 4\)"):
        td.ensure_built((3, 5))
        td.forward(np.zeros((2, 3, 5), np.float32), mask=np.ones((2, 4), bool))


def tagger(vocab=8, t=7):
    """Per-step tags from both sides of the sequence: Embedding(mask_zero) -> BiGRU -> TD(Dense)."""
    return Sequential(
        [
            layers.Input((t,)),
            layers.Embedding(vocab, 6, mask_zero=True),
            layers.Bidirectional(layers.GRU(8, return_sequences=True)),
            layers.TimeDistributed(layers.Dense(3, activation="softmax")),
        ]
    )


def tagging_task(rng, n, t=7, vocab=8):
    """The tag of a step: whether its token is larger than the previous one (0), the next one (1),
    or neither (2): a unidirectional layer cannot see the next token."""
    ids = rng.integers(1, vocab, (n, t))
    prev = np.concatenate([np.zeros((n, 1), int), ids[:, :-1]], axis=1)
    nxt = np.concatenate([ids[:, 1:], np.zeros((n, 1), int)], axis=1)
    tags = np.where(ids > nxt, 1, 2)
    tags = np.where(ids > prev, 0, tags)
    return ids.astype(np.float32), tags.astype(np.int64)


def test_a_bidirectional_tagger_learns(rng):
    sinapse.utils.set_random_seed(4)
    x, y = tagging_task(rng, 512)
    model = tagger()
    model.compile(sinapse.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0).history
    assert model.output_shape == (None, 7, 3)
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert history["accuracy"][-1] > 0.95


def test_sinapse_file_round_trip(rng, tmp_path):
    sinapse.utils.set_random_seed(5)
    x, y = tagging_task(rng, 16)
    model = tagger()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = load_model(tmp_path / "m.safetensors")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras_file_written_by_keras_loads():
    model = load_model(KERAS_FILE, compile=False)
    assert [type(layer).__name__ for layer in model.layers] == ["Bidirectional", "TimeDistributed", "Bidirectional"]
    np.testing.assert_allclose(model.predict(GOLDEN["file/x"], verbose=0), GOLDEN["file/y"], rtol=1e-5, atol=2e-6)


def test_keras_file_round_trip_has_keras_layout(tmp_path):
    model = load_model(KERAS_FILE, compile=False)
    path = str(tmp_path / "again.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(KERAS_FILE) as k:
        ours, theirs = json.loads(z.read("config.json")), json.loads(k.read("config.json"))
    for mine, keras_entry in zip(ours["config"]["layers"][1:], theirs["config"]["layers"][1:]):
        assert mine["class_name"] == keras_entry["class_name"]
        for key in ("layer", "backward_layer"):
            if key in keras_entry["config"]:
                assert mine["config"][key]["class_name"] == keras_entry["config"][key]["class_name"]
                assert mine["config"][key]["config"]["name"] == keras_entry["config"][key]["config"]["name"]
                assert mine["config"][key]["build_config"] == keras_entry["config"][key]["build_config"]
    h5py = pytest.importorskip("h5py")
    import io

    def paths(p):
        with zipfile.ZipFile(p) as z, h5py.File(io.BytesIO(z.read("model.weights.h5"))) as f:
            found = []
            f.visititems(lambda name, obj: found.append((name, getattr(obj, "shape", None))))
            return sorted(found)

    assert paths(path) == paths(KERAS_FILE)
    again = load_model(path, compile=False)
    np.testing.assert_allclose(again.predict(GOLDEN["file/x"], verbose=0), GOLDEN["file/y"], rtol=1e-5, atol=2e-6)


@SIM
@pytest.mark.parametrize("case", ["bi_LSTM_concat_seq_mask", "bi_GRU_mul_seq_mask", "bi_SimpleRNN_ave_last_mask"])
def test_cuda_sim_matches_keras(case):
    layer, x = golden_layer(case)
    layer.to_device("cuda-sim")
    with sinapse.cuda.simulate(checked=True, racecheck=True):
        y = layer(x, mask=golden_mask(case))
    np.testing.assert_allclose(y, golden_outputs(case)[0], rtol=1e-5, atol=2e-6)


@SIM
def test_cuda_sim_trains_like_the_cpu(rng):
    x, y = tagging_task(rng, 16)

    def run(device):
        sinapse.utils.set_random_seed(6)
        model = tagger()
        model.compile(sinapse.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy", device=device)
        loss = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
        return loss, model.get_weights()

    loss_cpu, w_cpu = run("cpu")
    loss_sim, w_sim = run("cuda-sim")
    np.testing.assert_allclose(loss_sim, loss_cpu, rtol=1e-4)
    for a, b in zip(w_sim, w_cpu):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
