"""sinapse.constraints: Keras 3's MaxNorm / NonNeg / UnitNorm / MinMaxNorm against their NumPy
formulas and against golden values from real Keras 3.15.1 (tests/golden/keras_constraints.npz,
made by tests/golden/make_keras_constraint_goldens.py); get/serialize; the layers that take
constraints; the projection after every optimizer update in fit and train_on_batch; saving."""

import json
import pathlib

import numpy as np
import pytest

import sinapse
from mpi_helpers import check, run_mpi
from sinapse import callbacks, layers
from sinapse import constraints as C
from sinapse.models import Sequential, load_model
from sinapse.models.keras_config import layer_entry, layer_from_entry
from sinapse.optimizers import SGD

GOLDEN = np.load(pathlib.Path(__file__).parent / "golden" / "keras_constraints.npz")
CONFIGS = json.loads(str(GOLDEN["configs"]))
CASES = sorted(k[len("out/") :] for k in GOLDEN.files if k.startswith("out/"))
EPS = 1e-7


def _norms(w, axis):
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.sqrt(np.sum(np.square(w.astype(np.float64)), axis=axis, keepdims=True))


def formula(name, config, w):
    """Keras 3's formulas (keras/src/constraints/constraints.py), in float64."""
    w = w.astype(np.float64)
    if name == "NonNeg":
        return np.maximum(w, 0)
    axis = config.get("axis", 0)
    n = _norms(w, axis)
    if name == "UnitNorm":
        return w / (EPS + n)
    if name == "MaxNorm":
        return w * (np.clip(n, 0, config.get("max_value", 2)) / (EPS + n))
    lo, hi, rate = config.get("min_value", 0.0), config.get("max_value", 1.0), config.get("rate", 1.0)
    return w * ((rate * np.clip(n, lo, hi) + (1 - rate) * n) / (EPS + n))


def case(name):
    """The golden case's sinapse constraint (from Keras's config), Keras's config and the weight."""
    entry = CONFIGS[name]
    which = "w4" if name.endswith("_conv") else "w2"
    return C.get(entry), entry, GOLDEN[which]


@pytest.mark.parametrize("name", CASES)
def test_matches_keras_and_the_formula(name):
    constraint, entry, w = case(name)
    expected = GOLDEN[f"out/{name}"]
    got = constraint(w)
    assert got.dtype == np.float32 and got.shape == w.shape
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(got, formula(entry["class_name"], entry["config"], w), rtol=2e-6, atol=1e-7)
    # in place: the same values written into the array itself
    inplace = w.copy()
    assert constraint.apply_in_place(inplace) is None
    np.testing.assert_array_equal(inplace, got)
    np.testing.assert_array_equal(case(name)[2], w)  # __call__ left its argument unchanged


def test_golden_cases_cover_the_edges():
    w2 = GOLDEN["w2"]
    assert not w2[:, 1].any()  # an all-zero column stays zero (the epsilon), no NaN
    assert not GOLDEN["out/unit_norm"][:, 1].any()
    norms = np.linalg.norm(w2, axis=0)
    assert norms[0] < 1 < norms[2] < norms[3]  # MaxNorm(1) keeps column 0, shrinks 2 and 3
    np.testing.assert_array_equal(GOLDEN["out/max_norm_1"][:, 0], w2[:, 0] * np.float32(norms[0] / (EPS + norms[0])))
    out = np.linalg.norm(GOLDEN["out/max_norm_1"], axis=0)
    np.testing.assert_allclose(out[2:], 1.0, rtol=1e-6)


def test_configs_are_keras_configs():
    for name in CASES:
        constraint, entry, _ = case(name)
        ours = C.serialize(constraint)
        assert ours["class_name"] == entry["class_name"]
        assert ours["config"].keys() == entry["config"].keys()
        for key, value in entry["config"].items():  # (approx cannot hold a list inside a dict: pytest >= 9)
            if isinstance(value, (list, tuple)):
                assert list(ours["config"][key]) == list(value), key
            else:
                assert ours["config"][key] == pytest.approx(value), key
        assert type(C.get(ours)) is type(constraint) and C.get(ours).get_config() == constraint.get_config()


def test_keras_defaults_and_names():
    assert C.MaxNorm().get_config() == {"max_value": 2.0, "axis": 0}
    assert C.UnitNorm().get_config() == {"axis": 0}
    assert C.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert C.NonNeg().get_config() == {}
    for names, cls in (
        (("max_norm", "MaxNorm"), C.MaxNorm),
        (("non_neg", "NonNeg"), C.NonNeg),
        (("unit_norm", "UnitNorm"), C.UnitNorm),
        (("min_max_norm", "MinMaxNorm"), C.MinMaxNorm),
        (("constraint", "Constraint"), C.Constraint),
    ):
        for n in names:
            assert type(C.get(n)) is cls
    assert C.max_norm is C.MaxNorm and C.non_neg is C.NonNeg and C.min_max_norm is C.MinMaxNorm
    assert C.get(None) is None
    m = C.MaxNorm(3, axis=[0, 1, 2])
    assert C.get(m) is m and type(C.get(C.UnitNorm)) is C.UnitNorm
    assert m.get_config() == {"max_value": 3.0, "axis": [0, 1, 2]}
    assert C.MaxNorm(axis=(0, 1)).get_config()["axis"] == [0, 1]  # as JSON keeps it
    assert repr(C.UnitNorm(1)) == "UnitNorm(axis=1)"


def test_get_serialize_round_trips_through_json():
    for c in (C.MaxNorm(1.5, axis=[0, 1]), C.NonNeg(), C.UnitNorm(axis=None), C.MinMaxNorm(0.5, 2.0, 0.3, -1)):
        text = json.dumps(C.serialize(c))
        back = C.get(json.loads(text))
        assert type(back) is type(c) and back.get_config() == c.get_config()
        assert type(C.deserialize(json.loads(text))) is type(c)
        assert type(c).from_config(c.get_config()).get_config() == c.get_config()
    assert C.serialize(None) is None
    # Keras 2's {"class_name", "config"} and Keras 3's with module / registered_name
    assert C.get({"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}).max_value == 2.0
    assert type(C.get(CONFIGS["dense"]["bias_constraint"])) is C.NonNeg


def test_axis_none_is_the_whole_weight():
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = C.UnitNorm(axis=None)(w)
    np.testing.assert_allclose(np.linalg.norm(out), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out, formula("UnitNorm", {"axis": None}, w), rtol=2e-6)


def test_custom_constraints_subclass_or_callable():
    class Clip(C.Constraint):  # Keras's way: override __call__ and return the projection
        def __call__(self, w):
            return np.clip(w, -0.1, 0.1)

    w = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    c = C.get(Clip())
    c.apply_in_place(w)
    assert w.max() == np.float32(0.1) and w.min() == np.float32(-0.1)
    f = C.get(lambda w: w * 0.5)
    w = np.ones((2, 2), np.float32)
    f.apply_in_place(w)
    np.testing.assert_array_equal(w, 0.5)
    with pytest.raises(ValueError, match="cannot save a plain callable"):
        C.serialize(f)
    with pytest.raises(ValueError, match=r"returned shape \(3,\) for a weight of shape \(2, 2\)"):
        C.get(lambda w: np.zeros(3)).apply_in_place(w)
    ident = np.arange(4, dtype=np.float32)
    C.Constraint().apply_in_place(ident)  # the base class is the identity, as Keras's
    np.testing.assert_array_equal(ident, np.arange(4))


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda: C.MaxNorm(max_value="2"), TypeError, r"^MaxNorm: `max_value` must be a real number"),
        (lambda: C.MaxNorm(max_value=-1), ValueError, r"^MaxNorm: `max_value` must be >= 0"),
        (lambda: C.MaxNorm(max_value=float("nan")), ValueError, r"^MaxNorm: `max_value` must be a finite"),
        (lambda: C.MaxNorm(axis="0"), TypeError, r"^MaxNorm: `axis` must be an int"),
        (lambda: C.MaxNorm(axis=True), TypeError, r"^MaxNorm: `axis` must be an int"),
        (lambda: C.UnitNorm(axis=[]), TypeError, r"^UnitNorm: `axis` must be an int"),
        (lambda: C.UnitNorm(axis=[0, 0.5]), TypeError, r"^UnitNorm: `axis` must be an int"),
        (lambda: C.UnitNorm(axis=[1, 1]), ValueError, r"^UnitNorm: `axis` must not repeat"),
        (lambda: C.MinMaxNorm(min_value=-0.1), ValueError, r"^MinMaxNorm: `min_value` must be >= 0"),
        (lambda: C.MinMaxNorm(2.0, 1.0), ValueError, r"^MinMaxNorm: `min_value` must be <= `max_value`"),
        (lambda: C.MinMaxNorm(rate=1.5), ValueError, r"^MinMaxNorm: `rate` must be in \[0.0, 1.0\]"),
        (lambda: C.MinMaxNorm(rate=None), TypeError, r"^MinMaxNorm: `rate` must be a real number"),
        (lambda: C.get("maxnorm"), ValueError, r"^constraints.get: unknown constraint 'maxnorm'"),
        (lambda: C.get(3), TypeError, r"^constraints.get: cannot interpret 3"),
        (lambda: C.get({"class_name": "Clip"}), ValueError, r"^constraints.deserialize: unknown .*'Clip'"),
        (
            lambda: C.get({"class_name": "MaxNorm", "config": {}, "registered_name": "my>MaxNorm"}),
            ValueError,
            r"unknown constraint class_name 'MaxNorm' \(registered_name 'my>MaxNorm'\)",
        ),
        (
            lambda: C.get({"class_name": "MaxNorm", "config": {"max_val": 1}}),
            TypeError,
            r"^MaxNorm.from_config: unknown argument `max_val`",
        ),
        (lambda: layers.Dense(2, kernel_constraint="nope"), ValueError, r"^Dense: `kernel_constraint`: .*'nope'"),
    ],
)
def test_bad_arguments_name_the_class_and_argument(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_an_axis_that_does_not_fit_fails_at_build():
    layer = layers.Dense(3, kernel_constraint=C.MaxNorm(axis=2), name="dense_axis")
    with pytest.raises(ValueError, match=r"dense_axis.*`kernel`: MaxNorm: `axis`=2 does not fit .* \(4, 3\)"):
        layer.build((None, 4))
    with pytest.raises(ValueError, match=r"UnitNorm: `axis`=\[0, -2\] does not fit"):
        C.UnitNorm(axis=[0, -2]).apply_in_place(np.ones((2, 2), np.float32))


LAYERS = [
    (lambda c: layers.Dense(3, kernel_constraint=c, bias_constraint=c), ("kernel_constraint", "bias_constraint")),
    (lambda c: layers.Conv2D(2, 3, kernel_constraint=c, bias_constraint=c), ("kernel_constraint", "bias_constraint")),
    (lambda c: layers.Embedding(7, 3, embeddings_constraint=c), ("embeddings_constraint",)),
    (
        lambda c: layers.BatchNormalization(beta_constraint=c, gamma_constraint=c),
        ("beta_constraint", "gamma_constraint"),
    ),
    (
        lambda c: layers.LSTM(2, kernel_constraint=c, recurrent_constraint=c, bias_constraint=c),
        ("kernel_constraint", "recurrent_constraint", "bias_constraint"),
    ),
    (lambda c: layers.GRU(2, recurrent_constraint=c), ("recurrent_constraint",)),
    (lambda c: layers.SimpleRNN(2, kernel_constraint=c), ("kernel_constraint",)),
]


@pytest.mark.parametrize("make, keys", LAYERS)
def test_layers_keep_serialize_and_restore_their_constraints(make, keys):
    layer = make("non_neg")
    config = layer.get_config()
    for key in keys:
        assert config[key] == {"class_name": "NonNeg", "config": {}}
    back = type(layer).from_config(json.loads(json.dumps(config)))
    for key in keys:
        assert type(getattr(back, key)) is C.NonNeg
    # Keras 3's form (the .keras config.json) and back
    entry = layer_entry(layer, "test")
    for key in keys:
        assert entry["config"][key] == {
            "module": "keras.constraints",
            "class_name": "NonNeg",
            "config": {},
            "registered_name": None,
        }
    again = layer_from_entry(entry, "test")
    assert all(type(getattr(again, key)) is C.NonNeg for key in keys)
    assert make(None).get_config()[keys[0]] is None


def test_keras1_spellings():
    with pytest.warns(DeprecationWarning) as record:
        dense = layers.Dense(2, W_constraint="max_norm", b_constraint="non_neg")
    assert sorted(str(r.message).split(";")[0] for r in record) == [
        "Dense: `W_constraint` is the Keras 1 name of `kernel_constraint`",
        "Dense: `b_constraint` is the Keras 1 name of `bias_constraint`",
    ]
    assert type(dense.kernel_constraint) is C.MaxNorm and type(dense.bias_constraint) is C.NonNeg
    with pytest.warns(DeprecationWarning, match="`W_constraint`"):
        conv = layers.Convolution2D(2, kernel_size=3, W_constraint=C.MaxNorm(2, axis=[0, 1, 2]))
    assert conv.kernel_constraint.get_config() == {"max_value": 2.0, "axis": [0, 1, 2]}


def test_layers_put_the_constraint_on_their_weights():
    lstm = layers.LSTM(2, kernel_constraint="max_norm", recurrent_constraint=C.UnitNorm())
    lstm.build((None, 4, 3))
    assert type(lstm.kernel.constraint) is C.MaxNorm and type(lstm.recurrent_kernel.constraint) is C.UnitNorm
    assert lstm.bias.constraint is None
    bn = layers.BatchNormalization(gamma_constraint="non_neg")
    bn.build((None, 3))
    assert type(bn.gamma.constraint) is C.NonNeg and bn.beta.constraint is None and bn.moving_mean.constraint is None


class _Norms(callbacks.Callback):
    """Records the largest kernel column norm after every training batch."""

    def __init__(self):
        super().__init__()
        self.norms = []

    def on_train_batch_end(self, batch, logs=None):
        kernel = self.model.layers[0].kernel.numpy()
        self.norms.append(float(np.linalg.norm(kernel, axis=0).max()))


def _max_norm_model(device="cpu"):
    sinapse.utils.set_random_seed(3)
    model = Sequential([layers.Input((6,)), layers.Dense(4, kernel_constraint=C.MaxNorm(1.0)), layers.Dense(1)])
    model.compile(SGD(0.05), "mse", device=device)
    return model


def _regression(n=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x @ rng.standard_normal((6, 1)) * 4).astype(np.float32)  # large targets: big weights wanted
    return x, y


def test_fit_keeps_every_kernel_column_norm_within_max_norm():
    x, y = _regression()
    model = _max_norm_model()
    record = _Norms()
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[record])
    assert len(record.norms) == 24
    assert max(record.norms) <= 1.0 + 1e-6
    assert max(record.norms) > 0.99  # the constraint was active (the data wants larger weights)
    assert np.linalg.norm(model.layers[0].kernel.numpy(), axis=0).max() <= 1.0 + 1e-6
    # without the constraint the same training leaves the ball
    sinapse.utils.set_random_seed(3)
    free = Sequential([layers.Input((6,)), layers.Dense(4), layers.Dense(1)])
    free.compile(SGD(0.05), "mse")
    free.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.linalg.norm(free.layers[0].kernel.numpy(), axis=0).max() > 1.0


def test_one_train_step_matches_keras():
    """Keras 3.15.1: Dense(3, kernel_constraint=MaxNorm(0.5), bias_constraint=NonNeg()), one
    SGD(0.5) train_on_batch on the MSE: the constraints run after the update."""
    model = Sequential(
        [layers.Input((5,)), layers.Dense(3, kernel_constraint=C.MaxNorm(0.5), bias_constraint=C.NonNeg())]
    )
    model.compile(SGD(0.5), "mse")
    model.set_weights([GOLDEN["step/kernel0"], GOLDEN["step/bias0"]])
    model.train_on_batch(GOLDEN["step/x"], GOLDEN["step/y"])
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, GOLDEN["step/kernel"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, GOLDEN["step/bias"], rtol=1e-5, atol=1e-6)
    assert (bias == 0).any() and (bias > 0).any()  # NonNeg clipped some, kept others


def test_frozen_weights_are_not_projected():
    model = _max_norm_model()
    big = np.full((6, 4), 3.0, np.float32)
    model.layers[0].kernel.assign(big)
    model.layers[0].trainable = False
    model.compile(SGD(0.05), "mse")
    x, y = _regression(16)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), big)  # Keras: only trainable variables


@pytest.mark.parametrize("ext", ["", ".keras", ".h5"])
def test_saved_and_loaded_model_keeps_its_constraints(tmp_path, ext):
    x, y = _regression(32)
    model = _max_norm_model()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / f"model{ext}"
    model.save(path)
    loaded = load_model(path)
    c = loaded.layers[0].kernel_constraint
    assert type(c) is C.MaxNorm and c.get_config() == {"max_value": 1.0, "axis": 0}
    assert loaded.layers[0].kernel.constraint is c and loaded.layers[0].bias.constraint is None
    if loaded.optimizer is None:
        loaded.compile(SGD(0.05), "mse")
    record = _Norms()
    loaded.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[record])
    assert max(record.norms) <= 1.0 + 1e-6


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="sinapse built without the CUDA simulator")
def test_cuda_sim_device_applies_constraints_like_the_cpu():
    x, y = _regression(32)
    results = []
    for device in ("cpu", "cuda-sim"):
        model = _max_norm_model(device)
        record = _Norms()
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[record])
        assert max(record.norms) <= 1.0 + 1e-6
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_data_parallel_ranks_apply_the_same_constraint(tmp_path):
    """mpirun -np 2 (tests/mpi_workers/constraints.py): every rank holds the same projected kernel,
    the one a single process computes from the same global batches."""
    out = tmp_path / "kernel"
    check(run_mpi("constraints", 2, out, timeout=180))
    ranks = [np.load(f"{out}.{r}.npy") for r in range(2)]
    np.testing.assert_array_equal(ranks[0], ranks[1])
    assert np.linalg.norm(ranks[0], axis=0).max() <= 1.0 + 1e-6
    x, y = _regression()
    model = _max_norm_model()
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(ranks[0], model.layers[0].kernel.numpy(), rtol=1e-5, atol=1e-6)
