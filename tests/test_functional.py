"""The functional API and the graph executor (models/functional.py, models/graph.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sinapse
from sinapse import layers, models

RNG = np.random.default_rng(7)
X = RNG.standard_normal((48, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 48)


def _mlp_pair():
    """A Sequential and the same stack written with the functional API, same weights."""
    seq = sinapse.Sequential(
        [layers.Input(shape=(6,)), layers.Dense(8, activation="tanh"), layers.Dense(3, activation="softmax")]
    )
    inp = sinapse.Input(shape=(6,))
    h = layers.Dense(8, activation="tanh")(inp)
    out = layers.Dense(3, activation="softmax")(h)
    fun = sinapse.Model(inp, out)
    fun.set_weights(seq.get_weights())
    return seq, fun


def test_functional_equals_sequential_bit_for_bit():
    seq, fun = _mlp_pair()
    for m in (seq, fun):
        m.compile(sinapse.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
        sinapse.utils.set_random_seed(3)
    sinapse.utils.set_random_seed(3)
    hs = seq.fit(X, Y, batch_size=16, epochs=2, verbose=0)
    sinapse.utils.set_random_seed(3)
    hf = fun.fit(X, Y, batch_size=16, epochs=2, verbose=0)
    assert hs.history == hf.history
    for a, b in zip(seq.get_weights(), fun.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(seq.predict(X), fun.predict(X))


def test_symbolic_tensors_and_model_structure():
    inp = sinapse.Input(shape=(6,), name="x")
    assert isinstance(inp, sinapse.KerasTensor) and inp.shape == (None, 6)
    d = layers.Dense(4, name="d")
    t = d(inp)
    assert t.shape == (None, 4) and t._history[0] is d
    m = sinapse.Model(inputs=inp, outputs=t, name="m")
    assert [lay.name for lay in m.layers] == ["x", "d"]
    assert m.get_layer("d") is d and m.inputs == [inp] and m.outputs == [t]
    assert m.input_shape == (None, 6) and m.output_shape == (None, 4)
    assert isinstance(m, models.Model) and isinstance(sinapse.Sequential(), sinapse.Model)
    with pytest.raises(TypeError, match="symbolic tensor"):
        np.asarray(inp)
    with pytest.raises(TypeError, match="merge layers"):
        inp + t


def _two_output_model():
    inp = sinapse.Input(shape=(6,), name="features")
    shared = layers.Dense(8, activation="tanh", name="trunk")(inp)  # fans out to two heads
    a = layers.Dense(3, activation="softmax", name="cls")(shared)
    b = layers.Dense(1, name="reg")(shared)
    return sinapse.Model(inp, [a, b], name="two_heads")


def test_multi_output_fit_history_names_and_loss_weights():
    m = _two_output_model()
    m.compile(
        "adam", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5], metrics={"cls": "accuracy"}
    )
    yr = RNG.standard_normal((48, 1)).astype(np.float32)
    h = m.fit(X, [Y, yr], batch_size=16, epochs=2, verbose=0)
    assert set(h.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}
    total = np.array(h.history["cls_loss"]) + 0.5 * np.array(h.history["reg_loss"])
    np.testing.assert_allclose(h.history["loss"], total, rtol=1e-5)
    logs = m.evaluate(X, {"cls": Y, "reg": yr}, verbose=0, return_dict=True)
    assert set(logs) == set(h.history)
    np.testing.assert_allclose(logs["loss"], logs["cls_loss"] + 0.5 * logs["reg_loss"], rtol=1e-5)
    p = m.predict(X)
    assert isinstance(p, list) and p[0].shape == (48, 3) and p[1].shape == (48, 1)


def test_dict_inputs_and_outputs():
    a_in, b_in = sinapse.Input(shape=(3,), name="a"), sinapse.Input(shape=(5,), name="b")
    ha = layers.Dense(4, name="ha")(a_in)
    hb = layers.Dense(4, name="hb")(b_in)
    m = sinapse.Model({"a": a_in, "b": b_in}, {"ya": ha, "yb": hb})
    xa, xb = X[:, :3], RNG.standard_normal((48, 5)).astype(np.float32)
    out = m.predict({"b": xb, "a": xa})
    assert set(out) == {"ya", "yb"}
    np.testing.assert_allclose(out["ya"], m.get_layer("ha")(xa), rtol=1e-6)
    m.compile("sgd", loss={"ya": "mse"})  # an output without a loss trains nothing
    before = m.get_layer("hb").get_weights()[0].copy()
    m.fit({"a": xa, "b": xb}, {"ya": np.zeros((48, 4), np.float32)}, epochs=1, verbose=0)
    np.testing.assert_array_equal(m.get_layer("hb").get_weights()[0], before)
    with pytest.raises(ValueError, match=r"inputs are \['a', 'b'\]"):
        m.predict({"a": xa})


def _grads(model, xs, ys):
    """The weights' gradients of one step, read from the graph executor."""
    plan = model._training_plan()
    with model.device.scope():
        xs, ys, ws = model._prepare_arrays(xs, ys, None, None, True, "test")
        outs, masks = model._forward(xs, True, plan, with_mask=True)
        loss, grads = model._loss_and_grad(plan, outs, ys, ws, grad=True, masks=masks)
        plan.graph.backward(grads)
        plan.graph.reduce_shared_gradients()
    return loss, [w.grad.copy() for w in plan.weights]


def _numeric_grads(model, xs, ys, eps=1e-2):
    grads = []
    for w in model.trainable_weights:
        base = w.numpy()
        g = np.zeros_like(base)
        for idx in np.ndindex(*base.shape):
            vals = []
            for sign in (1, -1):
                v = base.copy()
                v[idx] += sign * eps
                w.assign(v)
                vals.append(model.evaluate(xs, ys, verbose=0, batch_size=len(X), return_dict=True)["loss"])
            g[idx] = (vals[0] - vals[1]) / (2 * eps)
        w.assign(base)
        grads.append(g)
    return grads


def test_gradients_with_fan_out_shared_layer_and_two_outputs():
    inp = sinapse.Input(shape=(4,))
    shared = layers.Dense(3, activation="tanh", name="shared")
    h1 = shared(inp)
    h2 = shared(layers.Dense(4, activation="tanh", name="pre")(inp))  # the same layer on a second tensor
    o1 = layers.Dense(2, name="o1")(h1)
    o2 = layers.Dense(2, name="o2")(h2)
    o3 = layers.Dense(1, name="o3")(h1)  # h1 fans out to o1 and o3
    m = sinapse.Model(inp, [o1, o2, o3])
    m.compile("sgd", loss=["mse", "mse", "mse"], loss_weights=[1.0, 2.0, 0.5])
    x = X[:8, :4]
    ys = [
        RNG.standard_normal((8, 2)).astype(np.float32),
        RNG.standard_normal((8, 2)).astype(np.float32),
        RNG.standard_normal((8, 1)).astype(np.float32),
    ]
    assert len(m.trainable_weights) == 10  # the shared layer's weights once
    _, analytic = _grads(m, x, ys)
    numeric = _numeric_grads(m, x, ys)
    for a, n in zip(analytic, numeric):
        np.testing.assert_allclose(a, n, rtol=3e-2, atol=3e-3)


def test_frozen_layers_get_no_gradient_and_backward_stops_below_them():
    inp = sinapse.Input(shape=(6,))
    base = layers.Dense(5, activation="relu", name="base")
    head = layers.Dense(3, activation="softmax", name="head")
    m = sinapse.Model(inp, head(base(inp)))
    base.trainable = False
    m.compile("sgd", "sparse_categorical_crossentropy")
    before = base.get_weights()
    m.fit(X, Y, epochs=1, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    plan = m._training_plan()
    steps = {s.layer.name: s for s in plan.graph.steps}
    assert not steps["base"].backward and not steps["head"].need_dx


def test_nested_model_trains_its_weights_and_can_be_shared():
    enc_in = sinapse.Input(shape=(6,))
    encoder = sinapse.Model(enc_in, layers.Dense(4, activation="tanh", name="enc")(enc_in), name="encoder")
    a, b = sinapse.Input(shape=(6,), name="a"), sinapse.Input(shape=(6,), name="b")
    ea, eb = encoder(a), encoder(b)  # a siamese pair: one encoder, two calls
    out = layers.Dense(1, name="score")(ea)
    out2 = layers.Dense(1, name="score2")(eb)
    m = sinapse.Model([a, b], [out, out2])
    assert encoder in m.layers
    m.compile("sgd", loss="mse")
    w0 = encoder.get_weights()[0].copy()
    m.fit([X, X[::-1].copy()], [np.ones((48, 1), np.float32)] * 2, epochs=1, verbose=0)
    assert not np.array_equal(w0, encoder.get_weights()[0])
    x = [X[:8, :4][:, :4] if False else X[:8], X[8:16]]
    ys = [RNG.standard_normal((8, 1)).astype(np.float32) for _ in range(2)]
    _, analytic = _grads(m, x, ys)
    numeric = _numeric_grads(m, x, ys)
    for g, n in zip(analytic, numeric):
        np.testing.assert_allclose(g, n, rtol=3e-2, atol=3e-3)


def test_config_round_trip_and_clone():
    m = _two_output_model()
    config = m.get_config()
    json.dumps(config)  # JSON-serialisable
    assert config["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["features", 0, 0]
    assert config["output_layers"] == [["cls", 0, 0], ["reg", 0, 0]]
    twin = sinapse.Model.from_config(config)
    assert [lay.name for lay in twin.layers] == [lay.name for lay in m.layers]
    twin.set_weights(m.get_weights())
    for p, q in zip(m.predict(X), twin.predict(X)):
        np.testing.assert_array_equal(p, q)
    clone = models.clone_model(m)
    assert clone.count_params() == m.count_params() and clone is not m


def test_save_and_load_functional_model(tmp_path):
    m = _two_output_model()
    m.compile("adam", loss=["sparse_categorical_crossentropy", "mse"], loss_weights={"cls": 1.0, "reg": 0.25})
    yr = RNG.standard_normal((48, 1)).astype(np.float32)
    m.fit(X, [Y, yr], epochs=1, verbose=0)
    path = tmp_path / "m.sinapse"
    m.save(path)
    loaded = models.load_model(path)
    for p, q in zip(m.predict(X), loaded.predict(X)):
        np.testing.assert_array_equal(p, q)
    sinapse.utils.set_random_seed(1)
    h1 = m.fit(X, [Y, yr], epochs=1, verbose=0, shuffle=False)
    sinapse.utils.set_random_seed(1)
    h2 = loaded.fit(X, [Y, yr], epochs=1, verbose=0, shuffle=False)
    assert h1.history == h2.history  # the optimizer state came back too
    m.save_weights(tmp_path / "w.sinapse")
    fresh = sinapse.Model.from_config(m.get_config())
    fresh.load_weights(tmp_path / "w.sinapse")
    for a, b in zip(m.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


class Residualish(sinapse.Model):
    def __init__(self):
        super().__init__(name="sub")
        self.d1 = layers.Dense(8, activation="relu")
        self.d2 = layers.Dense(3, activation="softmax")

    def call(self, inputs):
        return self.d2(self.d1(inputs))


class Bad(sinapse.Model):
    def __init__(self):
        super().__init__()
        self.d = layers.Dense(3)

    def call(self, inputs):
        return self.d(inputs) * 2


def test_subclassed_model_is_traced_into_the_graph():
    m = Residualish()
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    h = m.fit(X, Y, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2 and len(m.layers) == 3  # Input + the two Dense
    twin = sinapse.Sequential(
        [layers.Input(shape=(6,)), layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")]
    )
    twin.set_weights(m.get_weights())
    np.testing.assert_array_equal(twin.predict(X), m.predict(X))
    with pytest.raises(TypeError, match=r"Bad\.call could not be traced"):
        Bad().predict(X)


def test_graph_errors_are_clear():
    a, b = sinapse.Input(shape=(3,), name="in_a"), sinapse.Input(shape=(3,), name="in_b")
    out = layers.Dense(2)(b)
    with pytest.raises(ValueError, match="graph disconnected.*in_b"):
        sinapse.Model(a, out)
    with pytest.raises(ValueError, match="must be tensors made by sinapse.Input"):
        sinapse.Model(out, layers.Dense(1)(out))
    c = layers.Dense(2, name="same")(a)
    d = layers.Dense(2, name="same")(c)
    with pytest.raises(ValueError, match="two layers are named 'same'"):
        sinapse.Model(a, d)
    with pytest.raises(TypeError, match="give `inputs` and `outputs`"):
        sinapse.Model()
    m = sinapse.Model([a, b], [layers.Dense(1)(a), out])
    with pytest.raises(ValueError, match="has 2 inputs"):
        m.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"`loss` has 3 entries but the model has 2 outputs"):
        m.compile("sgd", loss=["mse"] * 3)
    with pytest.raises(ValueError, match=r"`loss_weights` names unknown output\(s\) \['nope'\]"):
        m.compile("sgd", loss="mse", loss_weights={"nope": 1.0})
    with pytest.raises(ValueError, match=r"expects `x`\['in_b'\] of shape \(None, 3\), got shape \(None, 4\)"):
        m.predict([X[:, :3], X[:, :4]])


def test_summary_has_keras_connected_to_column():
    lines = []
    _two_output_model().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text and "features[0][0]" in text and "trunk[0][0]" in text


def test_masks_flow_along_graph_edges():
    ids = np.array([[3, 5, 0, 0], [2, 0, 0, 0], [1, 2, 3, 4]], np.int32)
    seq = sinapse.Sequential([layers.Input(shape=(4,)), layers.Embedding(6, 3, mask_zero=True), layers.LSTM(2)])
    inp = sinapse.Input(shape=(4,))
    fun = sinapse.Model(inp, layers.LSTM(2)(layers.Embedding(6, 3, mask_zero=True)(inp)))
    fun.set_weights(seq.get_weights())
    np.testing.assert_array_equal(seq.predict(ids), fun.predict(ids))


def test_sequential_accepts_a_model_as_a_layer():
    inp = sinapse.Input(shape=(6,))
    block = sinapse.Model(inp, layers.Dense(5, activation="relu")(inp))
    seq = sinapse.Sequential([layers.Input(shape=(6,)), block, layers.Dense(3, activation="softmax")])
    seq.compile("adam", "sparse_categorical_crossentropy")
    w0 = block.get_weights()[0].copy()
    seq.fit(X, Y, epochs=1, verbose=0)
    assert not np.array_equal(w0, block.get_weights()[0])
    assert seq.count_params() == 6 * 5 + 5 + 5 * 3 + 3


def _residual_model():
    inp = sinapse.Input(shape=(4,))
    h = layers.Dense(4, activation="tanh", name="h")(inp)
    res = layers.Add(name="res")([inp, h])  # inp fans out: to h and to the sum
    cat = layers.Concatenate(name="cat")([res, layers.Dense(2, name="side")(inp)])
    return sinapse.Model(inp, layers.Dense(2, name="out")(cat))


def test_gradients_through_merge_layers_with_fan_in_and_fan_out():
    m = _residual_model()
    m.compile("sgd", "mse")
    x, y = X[:8, :4], RNG.standard_normal((8, 2)).astype(np.float32)
    _, analytic = _grads(m, x, y)
    for a, n in zip(analytic, _numeric_grads(m, x, y)):
        np.testing.assert_allclose(a, n, rtol=3e-2, atol=3e-3)


def test_graph_trains_the_same_on_the_cuda_simulator():
    cpu, sim = _residual_model(), _residual_model()
    sim.set_weights(cpu.get_weights())
    cpu.compile("adam", "mse")
    sim.compile("adam", "mse", device="cuda-sim")
    y = RNG.standard_normal((48, 2)).astype(np.float32)
    hc = cpu.fit(X[:, :4], y, epochs=2, verbose=0, shuffle=False)
    hs = sim.fit(X[:, :4], y, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(hc.history["loss"], hs.history["loss"], rtol=1e-5)
    for a, b in zip(cpu.get_weights(), sim.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_multi_io_validation_split_data_and_generators():
    a_in, b_in = sinapse.Input(shape=(3,), name="a"), sinapse.Input(shape=(5,), name="b")
    merged = layers.Concatenate()([layers.Dense(4)(a_in), layers.Dense(4)(b_in)])
    m = sinapse.Model(
        [a_in, b_in], [layers.Dense(3, activation="softmax", name="c")(merged), layers.Dense(1, name="r")(merged)]
    )
    m.compile("adam", loss={"c": "sparse_categorical_crossentropy", "r": "mse"}, metrics={"c": ["accuracy"]})
    xa, xb = X[:, :3], RNG.standard_normal((48, 5)).astype(np.float32)
    yr = RNG.standard_normal((48, 1)).astype(np.float32)
    h = m.fit([xa, xb], [Y, yr], validation_split=0.25, epochs=1, verbose=0)
    assert {"val_loss", "val_c_loss", "val_r_loss", "val_c_accuracy"} <= set(h.history)
    h = m.fit({"a": xa, "b": xb}, {"c": Y, "r": yr}, validation_data=([xa, xb], [Y, yr]), epochs=1, verbose=0)
    np.testing.assert_allclose(
        h.history["val_loss"][0], m.evaluate([xa, xb], [Y, yr], verbose=0, return_dict=True)["loss"], rtol=1e-6
    )

    def batches():
        for i in range(0, 48, 16):
            yield [xa[i : i + 16], xb[i : i + 16]], [Y[i : i + 16], yr[i : i + 16]]

    h = m.fit(batches(), epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])
    logs = m.train_on_batch([xa[:8], xb[:8]], [Y[:8], yr[:8]], return_dict=True)
    assert set(logs) == {"loss", "c_loss", "r_loss", "c_accuracy"}
    assert m.metrics_names == ["loss", "c_loss", "r_loss", "c_accuracy"]


def _bn_residual_model():
    inp = sinapse.Input(shape=(6, 6, 3))
    x = layers.Conv2D(4, 3, padding="same", name="c1")(inp)
    x = layers.Activation("relu")(layers.BatchNormalization(name="bn1")(x))  # bn1's output: transient
    y = layers.BatchNormalization(name="bn2")(layers.Conv2D(4, 3, padding="same", name="c2")(x))
    x = layers.Activation("relu")(layers.Add(name="add")([x, y]))  # add's output: transient
    y = layers.BatchNormalization(name="bn3")(layers.Conv2D(4, 3, padding="same", name="c3")(x))
    x = layers.Activation("relu")(layers.Add(name="add2")([x, y]))
    return sinapse.Model(inp, layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling2D()(x)))


def test_transient_activations_share_pooled_arrays_and_change_nothing():
    pooled, plain = _bn_residual_model(), _bn_residual_model()
    plain.set_weights(pooled.get_weights())
    for m in (pooled, plain):
        m.compile("adam", "sparse_categorical_crossentropy")
    steps = {s.layer.name: s for s in pooled._graph().steps}
    assert steps["bn1"].transient and steps["add"].transient and steps["bn2"].transient
    assert not steps["c1"].transient and not steps["c2"].transient  # BatchNormalization reads its input
    for s in plain._graph().steps:
        s.transient = False
    plain._graph().releases.clear()
    x = RNG.standard_normal((16, 6, 6, 3)).astype(np.float32)
    y = RNG.integers(0, 3, 16)
    for _ in range(3):
        assert pooled.train_on_batch(x, y) == plain.train_on_batch(x, y)
    for a, b in zip(pooled.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pooled.predict(x), plain.predict(x))
    pool = pooled._graph().pool
    assert not pool.lent and sum(len(v) for v in pool.free.values()) < sum(s.transient for s in steps.values())


def test_an_identity_reader_keeps_a_transient_activation_alive():
    """Activation("linear") returns its input array itself: the BatchNormalization output it reads
    must not go back to the pool while the identity's output is still to be read (a regression:
    bnb's pooled output overwrote it before the Add)."""

    def make():
        inp = sinapse.Input(shape=(5,))
        a = layers.Activation("linear", name="lin")(layers.BatchNormalization(name="bna")(layers.Dense(4)(inp)))
        b = layers.BatchNormalization(name="bnb")(layers.Dense(4)(inp))
        return sinapse.Model(inp, layers.Dense(2)(layers.Add()([a, b])))

    pooled, plain = make(), make()
    plain.set_weights(pooled.get_weights())
    steps = {s.layer.name: s for s in pooled._graph().steps}
    assert not steps["bna"].transient and not steps["lin"].transient and steps["bnb"].transient
    for s in plain._graph().steps:
        s.transient = False
    plain._graph().releases.clear()
    x = RNG.standard_normal((8, 5)).astype(np.float32)
    np.testing.assert_array_equal(pooled.predict(x), plain.predict(x))
    for m in (pooled, plain):
        m.compile("sgd", "mse")
    y = np.zeros((8, 2), np.float32)
    assert pooled.train_on_batch(x, y) == plain.train_on_batch(x, y)


def test_a_nested_model_as_the_last_step_trains_like_its_flat_twin():
    """A model whose output comes from a nested Sequential: fit used to look for the loss
    gradient's buffer on that Sequential (it has none) and raised AttributeError."""
    from sinapse import layers as L

    inp = sinapse.Input((4,))
    head = sinapse.Sequential([L.Input((3,)), L.Dense(2, activation="softmax")])
    nested = sinapse.Model(inp, head(L.Dense(3)(inp)))
    flat_in = sinapse.Input((4,))
    flat = sinapse.Model(flat_in, L.Dense(2, activation="softmax")(L.Dense(3)(flat_in)))
    flat.set_weights(nested.get_weights())
    x, y = np.random.default_rng(0).random((8, 4), np.float32), np.arange(8) % 2
    for model in (nested, flat):
        model.compile(sinapse.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(nested.get_weights(), flat.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
