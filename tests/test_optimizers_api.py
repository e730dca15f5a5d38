"""sinapse.optimizers (the Keras-style classes) on the CPU and the simulated CUDA kernels:
several apply() steps of every optimizer and option against the float64 reference, clipping
as Keras applies it, learning-rate schedules, config round trips, get(), state saved and
restored continuing bit-identically, and bad input."""

import math

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import optimizers, reference
from sinapse.optimizers import schedules

SHAPES = [(4, 3), (5,)]

# (class, its kwargs, reference function, the reference's options, reference state (name, init))
CASES = [
    (optimizers.SGD, dict(), "sgd", dict(learning_rate=0.01), []),
    (
        optimizers.SGD,
        dict(learning_rate=0.1, momentum=0.9, nesterov=True),
        "sgd",
        dict(learning_rate=0.1, momentum=0.9, nesterov=True),
        [("velocity", 0.0)],
    ),
    (optimizers.Adagrad, dict(learning_rate=0.1), "adagrad", dict(learning_rate=0.1), [("accumulator", 0.1)]),
    (
        optimizers.Adadelta,
        dict(learning_rate=1.0),
        "adadelta",
        dict(learning_rate=1.0, rho=0.95, epsilon=1e-7),
        [("accumulated_grad", 0.0), ("accumulated_delta", 0.0)],
    ),
    (
        optimizers.RMSprop,
        dict(momentum=0.5, centered=True),
        "rmsprop",
        dict(learning_rate=0.001, momentum=0.5, centered=True),
        [("velocity", 0.0), ("momentum_buffer", 0.0), ("average_grad", 0.0)],
    ),
    (optimizers.RMSprop, dict(learning_rate=0.01), "rmsprop", dict(learning_rate=0.01), [("velocity", 0.0)]),
    (
        optimizers.Adam,
        dict(learning_rate=0.01, amsgrad=True),
        "adam",
        dict(learning_rate=0.01, amsgrad=True),
        [("m", 0.0), ("v", 0.0), ("vhat", 0.0)],
    ),
    (
        optimizers.AdamW,
        dict(learning_rate=0.01),
        "adam",
        dict(learning_rate=0.01, weight_decay=0.004),
        [("m", 0.0), ("v", 0.0)],
    ),
]
REF_OUTPUTS = {
    "sgd": ["velocity"],
    "adagrad": ["accumulator"],
    "adadelta": ["accumulated_grad", "accumulated_delta"],
    "rmsprop": ["velocity", "momentum_buffer", "average_grad"],
    "adam": ["m", "v", "vhat"],
}
CLIPPING = [dict(), dict(clipnorm=1.0), dict(global_clipnorm=1.5), dict(clipvalue=0.5), dict(weight_decay=0.05)]


def _reference_steps(kind, ref_opts, slots, params, grads_per_step, clipping):
    """The float64 reference with Keras's clipping (clipnorm > global_clipnorm > clipvalue)."""
    ws = [p.astype(np.float64) for p in params]
    states = [{name: np.full(p.shape, init) for name, init in slots} for p in params]
    fn = getattr(reference, f"{kind}_update")
    for t, grads in enumerate(grads_per_step, start=1):
        grads = [g.astype(np.float64) for g in grads]
        if clipping.get("clipnorm"):
            grads = [reference.clip_by_norm(g, clipping["clipnorm"]) for g in grads]
        elif clipping.get("global_clipnorm"):
            grads, _ = reference.clip_by_global_norm(grads, clipping["global_clipnorm"])
        elif clipping.get("clipvalue"):
            grads = [reference.clip_by_value(g, clipping["clipvalue"]) for g in grads]
        opts = dict(ref_opts)
        if clipping.get("weight_decay"):
            opts["weight_decay"] = clipping["weight_decay"]
        for i, g in enumerate(grads):
            out = fn(ws[i], g, **states[i], **opts, **({"step": t} if kind == "adam" else {}))
            ws[i] = out[0]
            for name, value in zip(REF_OUTPUTS[kind], out[1:]):
                if name in states[i]:
                    states[i][name] = value
    return ws


def _data(rng, steps=3):
    params = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]
    return params, grads


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("clipping", CLIPPING, ids=lambda c: ",".join(c) or "plain")
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].__name__}-{','.join(c[1])}")
def test_apply_matches_reference(rng, backend, case, clipping):
    cls, kwargs, kind, ref_opts, slots = case
    params, grads = _data(rng)
    want = _reference_steps(kind, ref_opts, slots, params, grads, clipping)
    opt = cls(**{**kwargs, **clipping})
    with on(backend):
        for step_grads in grads:
            opt.apply(params, step_grads)
    assert opt.iterations == len(grads)
    for got, ref in zip(params, want):
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-6)


def test_keras_documented_rmsprop_example():
    """keras.optimizers.RMSprop's docstring: lr 0.1, var 10, loss var^2 / 2 -> 9.683772."""
    var = np.array([10.0], np.float32)
    optimizers.RMSprop(learning_rate=0.1).apply([var], [var.copy()])
    np.testing.assert_allclose(var, [9.683772], rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"])
def test_state_restore_continues_bit_identically(rng, backend, name):
    params, grads = _data(rng, steps=5)
    kwargs = {"sgd": dict(momentum=0.9), "rmsprop": dict(momentum=0.5, centered=True), "adam": dict(amsgrad=True)}.get(
        name, {}
    )
    cls = type(optimizers.get(name))
    first = cls(**kwargs)
    p_two = [p.copy() for p in params]
    with on(backend):
        for g in grads[:3]:
            first.apply(p_two, g)
        first.learning_rate = first.learning_rate / 3  # a callback changed it: restored too
        one_lr = first.learning_rate
        saved = {k: v.copy() for k, v in first.get_state().items()}
        assert saved["iterations"].dtype == np.int64 and int(saved["iterations"]) == 3
        assert all(v.dtype == np.float32 for k, v in saved.items() if k not in ("iterations", "learning_rate"))
        assert saved["learning_rate"].dtype == np.float64 and float(saved["learning_rate"]) == one_lr  # exact
        second = cls(**kwargs)
        second.set_state(saved)  # before the first apply: used when the state is built
        built = cls(**kwargs)
        p_three = [p.copy() for p in p_two]
        built.apply([p.copy() for p in params], grads[0])
        built.set_state(saved)  # after: copied into the existing state
        for g in grads[3:]:
            second.apply(p_two, g)
            built.apply(p_three, g)
    assert second.iterations == 5 and math.isclose(second.learning_rate, one_lr, rel_tol=1e-7)
    one_lr_steps = cls(**kwargs)  # the uninterrupted run, with the same learning-rate change
    p_ref = [p.copy() for p in params]
    with on(backend):
        for t, g in enumerate(grads):
            if t == 3:
                one_lr_steps.learning_rate = float(np.float32(one_lr))
            one_lr_steps.apply(p_ref, g)
    for a, b, c in zip(p_two, p_three, p_ref):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)


def test_learning_rate_is_settable_and_schedules_are_read_at_iterations():
    opt = optimizers.SGD(learning_rate=0.1)
    opt.learning_rate = 0.05
    assert opt.learning_rate == 0.05 and opt.get_config()["learning_rate"] == 0.05
    sched = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = optimizers.Adam(learning_rate=sched)
    w = np.zeros(3, np.float32)
    assert opt.learning_rate == 0.1
    opt.apply([w], [np.ones(3, np.float32)])
    opt.apply([w], [np.ones(3, np.float32)])
    assert math.isclose(opt.learning_rate, 0.05)  # 0.1 * 0.5 ** (2 / 2)
    with pytest.raises(TypeError, match=r"Adam: the learning rate is a schedule"):
        opt.learning_rate = 0.01
    assert "learning_rate" not in opt.get_state()


def test_schedules():
    exp = schedules.ExponentialDecay(1.0, 10, 0.5, staircase=False)
    stair = schedules.ExponentialDecay(1.0, 10, 0.5, staircase=True)
    step = schedules.StepDecay(1.0, 10, 0.5)
    piece = schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
    assert math.isclose(exp(5), 0.5**0.5) and stair(19) == 0.5 and stair(20) == 0.25
    assert [step(s) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    assert [piece(s) for s in (0, 5, 6, 10, 11)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    for s in (exp, stair, step, piece):
        again = schedules.deserialize(schedules.serialize(s))
        assert type(again) is type(s) and again.get_config() == s.get_config()
    with pytest.raises(ValueError, match=r"PiecewiseConstantDecay: `values` must have one more element"):
        schedules.PiecewiseConstantDecay([5], [1.0])
    with pytest.raises(ValueError, match=r"ExponentialDecay: `decay_steps` must be a positive number"):
        schedules.ExponentialDecay(0.1, 0, 0.5)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("sgd", optimizers.SGD),
        ("Adam", optimizers.Adam),
        ("adamw", optimizers.AdamW),
        ("RMSprop", optimizers.RMSprop),
        ("adagrad", optimizers.Adagrad),
        ("adadelta", optimizers.Adadelta),
    ],
)
def test_get_and_config_round_trip(name, cls):
    opt = optimizers.get(name)
    assert type(opt) is cls and optimizers.get(opt) is opt
    defaults = {"SGD": 0.01}.get(cls.__name__, 0.001)
    assert opt.learning_rate == defaults
    custom = cls(learning_rate=schedules.StepDecay(0.1, 100, 0.5), clipnorm=2.0)
    again = optimizers.get(optimizers.serialize(custom))
    assert type(again) is cls and again.get_config() == custom.get_config()
    assert cls.from_config(custom.get_config()).get_config() == custom.get_config()


def test_defaults_match_keras():
    assert optimizers.Adam().get_config()["epsilon"] == 1e-7
    assert optimizers.Adadelta().get_config()["rho"] == 0.95
    assert optimizers.Adagrad().get_config()["initial_accumulator_value"] == 0.1
    assert optimizers.RMSprop().get_config()["rho"] == 0.9
    assert optimizers.AdamW().get_config()["weight_decay"] == 0.004
    assert optimizers.SGD().get_config()["name"] == "SGD"


def test_keras2_lr_spelling_warns():
    with pytest.warns(DeprecationWarning, match=r"SGD: `lr` is deprecated, use `learning_rate`"):
        opt = optimizers.SGD(lr=0.5)
    assert opt.learning_rate == 0.5


def test_bad_input():
    w = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"Adam: `learning_rate` must be a finite number >= 0"):
        optimizers.Adam(learning_rate=-0.1)
    with pytest.raises(ValueError, match=r"SGD: only one of `clipnorm` and `global_clipnorm`"):
        optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match=r"Adam: `use_ema` is not supported"):
        optimizers.Adam(use_ema=True)
    with pytest.raises(TypeError, match=r"Adam: unexpected argument\(s\) decay"):
        optimizers.Adam(decay=0.1)
    with pytest.raises(ValueError, match=r"SGD: `momentum` must be a number in \[0, 1\], got -0.5"):
        optimizers.SGD(momentum=-0.5)
    with pytest.raises(ValueError, match=r"AdamW: `weight_decay` must be a float"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match=r"unknown optimizer 'nadam'"):
        optimizers.get("nadam")
    with pytest.raises(ValueError, match=r"could not interpret optimizer identifier 3"):
        optimizers.get(3)
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match=r"adam_update: `grad` must have shape \(4,\)"):
        opt.apply([w], [np.zeros(5, np.float32)])
    with pytest.raises(TypeError, match=r"adam_update: `grad` must be float32"):
        opt.apply([w], [np.zeros(4)])
    with pytest.raises(ValueError, match=r"Adam.apply: got 1 params and 2 grads"):
        opt.apply([w], [w, w])
    opt.apply([w], [np.ones(4, np.float32)])
    with pytest.raises(TypeError, match=r"adam_update: `grad` must be float32"):  # also after the first step
        opt.apply([w], [np.zeros(4)])
    with pytest.raises(ValueError, match=r"Adam.apply: got 2 params, but the optimizer was built for 1"):
        opt.apply([w, w.copy()], [w, w])
    with pytest.raises(ValueError, match=r"Adam.set_state: `momentum/0` has shape \(3,\)"):
        opt.set_state(
            {"iterations": np.array(1), "momentum/0": np.zeros(3, np.float32), "velocity/0": np.zeros(4, np.float32)}
        )
    with pytest.raises(ValueError, match=r"Adam.set_state: unexpected entry `accumulator/0`"):
        opt.set_state({"iterations": np.array(1), "accumulator/0": np.zeros(4, np.float32)})


def test_cupy_parameters_train_on_the_gpu(rng):
    """On a GPU: CuPy parameters get CuPy state, the CUDA kernels, the same result as the CPU."""
    import sinapse

    if not sinapse.cuda.is_available():
        pytest.skip(f"no usable CUDA here: {sinapse.cuda.why_unavailable()}")
    import cupy

    params, grads = _data(rng)
    cpu_params = [p.copy() for p in params]
    gpu_params = [cupy.asarray(p) for p in params]
    cpu_opt, gpu_opt = optimizers.Adam(clipnorm=1.0), optimizers.Adam(clipnorm=1.0)
    for step_grads in grads:
        cpu_opt.apply(cpu_params, step_grads)
        gpu_opt.apply(gpu_params, [cupy.asarray(g) for g in step_grads])
    assert all(isinstance(v, np.ndarray) for v in gpu_opt.get_state().values())
    for got, want in zip(gpu_params, cpu_params):
        np.testing.assert_allclose(cupy.asnumpy(got), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.CosineDecay(0.01, 6, alpha=0.1, warmup_target=0.02, warmup_steps=2),
        schedules.CosineDecayRestarts(0.01, 2, t_mul=1.5, m_mul=0.5),
        schedules.InverseTimeDecay(0.01, 2, 0.5, staircase=True),
        schedules.PolynomialDecay(0.01, 3, end_learning_rate=0.001, power=2.0, cycle=True),
    ],
    ids=lambda s: type(s).__name__,
)
def test_model_file_keeps_the_new_schedules_and_resumes_identically(schedule, tmp_path):
    # Issue 11 item 12: a model saved mid-training with a schedule resumes on the same learning rates.
    from sinapse import layers, models

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)).astype(np.float32), rng.integers(0, 2, 8)
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizers.SGD(learning_rate=schedule, momentum=0.5), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    model.save(tmp_path / "m.sinapse")
    again = models.load_model(tmp_path / "m.sinapse")
    assert type(again.optimizer._learning_rate) is type(schedule)
    assert again.optimizer._learning_rate.get_config() == schedule.get_config()
    assert again.optimizer.learning_rate == schedule(4)
    for m in (model, again):
        m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- flags and Keras-only options (issue 11)
@pytest.mark.parametrize(
    "make,name",
    [
        (lambda v: optimizers.SGD(momentum=0.9, nesterov=v), "nesterov"),
        (lambda v: optimizers.Adam(amsgrad=v), "amsgrad"),
        (lambda v: optimizers.AdamW(amsgrad=v), "amsgrad"),
        (lambda v: optimizers.RMSprop(centered=v), "centered"),
    ],
)
@pytest.mark.parametrize("value", ["no", "yes", 0, 1, None])
def test_optimizer_flags_are_true_or_false_only(make, name, value):
    with pytest.raises(TypeError, match=rf"^\w+: `{name}` must be True or False, got {value!r}"):
        make(value)


def test_nesterov_false_is_plain_momentum():
    assert optimizers.SGD(momentum=0.9, nesterov=False).nesterov is False
    assert optimizers.SGD(momentum=0.9, nesterov=np.bool_(True)).nesterov is True


@pytest.mark.parametrize(
    "key,value",
    [
        ("gradient_accumulation_steps", 0),
        ("loss_scale_factor", 0.0),
        ("ema_overwrite_frequency", 0),
        ("use_ema", 0),
        ("use_ema", True),
        ("ema_momentum", 0.5),
        ("ema_momentum", "0.99"),
        ("use_ema", "False"),
    ],
)
def test_keras_only_options_accept_only_their_default(key, value):
    with pytest.raises(ValueError, match=rf"Adam: `{key}` is not supported by sinapse"):
        optimizers.Adam(**{key: value})


@pytest.mark.parametrize(
    "key,value",
    [
        ("gradient_accumulation_steps", None),
        ("loss_scale_factor", None),
        ("use_ema", False),
        ("ema_momentum", 0.99),
        ("ema_overwrite_frequency", None),
    ],
)
def test_keras_only_options_at_their_default_load(key, value):
    optimizers.Adam(**{key: value})


# ------------------------------------------------- hyper-parameters checked at construction (issue 11)

F32_MAX = float(np.finfo(np.float32).max)
NOT_NUMBERS = [True, "0.1", [0.1]]  # bool and str are not numbers (TypeError)
NOT_FINITE = [math.nan, math.inf, 1e39, 10**400]  # 1e39 becomes inf in the float32 kernels; 10**400 overflows float
NON_NEGATIVE = NOT_FINITE + [-1e-3]
POSITIVE = NON_NEGATIVE + [0.0, 1e-50]  # 1e-50 is 0 in float32
FRACTION_CLOSED = NOT_FINITE + [-0.1, 1.5]  # [0, 1]
FRACTION_OPEN = FRACTION_CLOSED + [1.0]  # [0, 1)
COMMON = {
    "learning_rate": NON_NEGATIVE + [None],
    "weight_decay": NON_NEGATIVE,
    "clipnorm": POSITIVE,
    "clipvalue": POSITIVE,
    "global_clipnorm": POSITIVE,
}
# Every optimizer class and each of its float hyper-parameters: the bad values it must refuse.
HYPER = {
    optimizers.SGD: {"momentum": FRACTION_CLOSED},
    optimizers.Adagrad: {"initial_accumulator_value": NON_NEGATIVE, "epsilon": NON_NEGATIVE},
    optimizers.Adadelta: {"rho": FRACTION_CLOSED, "epsilon": POSITIVE},
    optimizers.RMSprop: {"rho": FRACTION_CLOSED, "momentum": FRACTION_CLOSED, "epsilon": POSITIVE},
    optimizers.Adam: {"beta_1": FRACTION_OPEN, "beta_2": FRACTION_OPEN, "epsilon": POSITIVE},
    optimizers.AdamW: {"beta_1": FRACTION_OPEN, "beta_2": FRACTION_OPEN, "epsilon": POSITIVE},
}


def _optimizer_classes():
    return [
        getattr(optimizers, n)
        for n in optimizers.__all__
        if isinstance(getattr(optimizers, n), type)
        and issubclass(getattr(optimizers, n), optimizers.Optimizer)
        and getattr(optimizers, n) is not optimizers.Optimizer
    ]


def test_every_optimizer_and_float_argument_has_bad_value_cases():
    """A new optimizer, or a new float argument of one, fails here until HYPER lists its bad values."""
    import inspect

    assert set(_optimizer_classes()) == set(HYPER)
    for cls, table in HYPER.items():
        floats = {
            name
            for name, p in inspect.signature(cls).parameters.items()
            if isinstance(p.default, float) and not isinstance(p.default, bool)
        }
        assert floats <= set(table) | set(COMMON), (cls.__name__, floats - set(table) - set(COMMON))


def _bad_cases():
    for cls, table in HYPER.items():
        for arg, values in {**COMMON, **table}.items():
            for value in values:
                if not (cls is optimizers.Adagrad and arg == "epsilon" and value in (0.0, 1e-50)):
                    yield cls, arg, value
            for value in NOT_NUMBERS:
                yield cls, arg, value


@pytest.mark.parametrize(
    "cls, arg, value", list(_bad_cases()), ids=lambda v: v.__name__ if isinstance(v, type) else str(v)[:12]
)
def test_bad_hyper_parameters_are_refused_at_construction(cls, arg, value):
    error = TypeError if value is None or isinstance(value, (bool, str, list)) else ValueError
    with pytest.raises(error, match=rf"^{cls.__name__}: `{arg}` must be .*, got "):
        cls(**{arg: value})


@pytest.mark.parametrize("cls", list(HYPER), ids=lambda c: c.__name__)
@pytest.mark.parametrize("value", [1e39, 10**400, -1.0, math.nan, "0.1", True])
def test_learning_rate_setter_checks_like_the_constructor(cls, value):
    opt = cls()
    with pytest.raises((TypeError, ValueError), match=rf"^{cls.__name__}: `learning_rate` must be"):
        opt.learning_rate = value
    assert opt.learning_rate == cls().learning_rate  # unchanged


def test_edge_values_inside_the_ranges_are_accepted():
    assert optimizers.SGD(learning_rate=F32_MAX, momentum=1).momentum == 1.0
    assert optimizers.SGD(learning_rate=np.float32(0.5), momentum=np.float64(0.0)).learning_rate == 0.5
    assert optimizers.RMSprop(rho=0.0, momentum=1.0, epsilon=1e-45).rho == 0.0
    assert optimizers.Adam(beta_1=0, beta_2=np.float32(0.5), clipnorm=1e-30).beta_1 == 0.0
    # Adagrad's accumulator starts above 0 by default and only grows: epsilon = 0 cannot divide 0 by 0
    assert optimizers.Adagrad(epsilon=0.0).epsilon == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: optimizers.Adadelta(rho=1.0, epsilon=0.0),
        lambda: optimizers.Adadelta(epsilon=0.0),
        lambda: optimizers.RMSprop(epsilon=0.0),
        lambda: optimizers.Adam(epsilon=0.0),
        lambda: optimizers.AdamW(epsilon=1e-50),
        lambda: optimizers.Adagrad(initial_accumulator_value=0.0, epsilon=0.0),
    ],
)
def test_epsilon_that_would_divide_zero_by_zero_is_refused(make):
    with pytest.raises(ValueError, match=r"`(epsilon|rho)` must be .* got .*"):
        make()


@pytest.mark.parametrize("cls", [optimizers.Adadelta, optimizers.RMSprop, optimizers.Adam, optimizers.Adagrad])
def test_smallest_accepted_epsilon_keeps_zero_gradients_finite(cls):
    kwargs = dict(initial_accumulator_value=0.0) if cls is optimizers.Adagrad else {}
    opt = cls(epsilon=float(np.finfo(np.float32).smallest_subnormal), **kwargs)
    w = np.ones(3, np.float32)
    opt.apply([w], [np.zeros(3, np.float32)])
    np.testing.assert_array_equal(w, np.ones(3, np.float32))


def test_restored_learning_rate_is_checked():
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match=r"^SGD: `learning_rate` must be a float scalar in \[0, 3.403e\+38\]"):
        opt.check_state({"iterations": np.array(0, np.int64), "learning_rate": np.array(1e39)}, [])
    with pytest.raises(ValueError, match=r"^SGD: `learning_rate` must be a finite number >= 0"):
        opt.set_state({"iterations": np.array(0, np.int64), "learning_rate": np.array(1e39)})


@pytest.mark.parametrize("cls", list(HYPER), ids=lambda c: c.__name__)
def test_optimizer_name_must_be_a_str(cls):
    with pytest.raises(TypeError, match=rf"^{cls.__name__}: `name` must be a str, got 5 \(int\)"):
        cls(name=5)
