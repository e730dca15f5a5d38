"""Learning-rate schedules (issue 11, item 12): Keras 3's CosineDecay, CosineDecayRestarts,
InverseTimeDecay and PolynomialDecay — against their formulas written out here, against values
from real Keras 3.15.1 (tests/golden/keras_masking.json, made by make_keras_masking_goldens.py),
config round trips, optimizers holding them, and argument validation."""

from __future__ import annotations

import json
import math
import pathlib
import warnings

import numpy as np
import pytest

from sinapse import optimizers
from sinapse.optimizers import schedules as S

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "keras_masking.json").read_text())["schedules"]
STEPS = list(range(0, 75)) + [99, 100, 155, 1000]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_schedules_match_keras(name):
    case = GOLDEN[name]
    schedule = S.deserialize({"class_name": case["class_name"], "config": case["config"]})
    got = [schedule(step) for step in case["steps"]]
    # Keras computes in float32: agreement to its rounding.
    np.testing.assert_allclose(got, case["values"], rtol=3e-6, atol=1e-8)


def _cos(step, n, lr, alpha, m=1.0):
    return lr * ((1 - alpha) * 0.5 * m * (1 + math.cos(math.pi * step / n)) + alpha)


def test_cosine_decay_formula():
    plain = S.CosineDecay(0.1, 20, alpha=0.1)
    warm = S.CosineDecay(0.02, 10, alpha=0.0, warmup_target=0.5, warmup_steps=4)
    for step in STEPS:
        assert plain(step) == pytest.approx(_cos(min(step, 20), 20, 0.1, 0.1), rel=1e-12)
        s = min(step, 14)
        want = 0.02 + (0.5 - 0.02) * s / 4 if s < 4 else _cos(s - 4, 10, 0.5, 0.0)
        assert warm(step) == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert plain(20) == pytest.approx(0.01) and plain(10**6) == pytest.approx(0.01)  # ends at alpha * lr
    assert warm(4) == pytest.approx(0.5)  # the warmup reaches its target, the decay starts there


def test_cosine_decay_restarts_formula():
    sgdr = S.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1)
    # periods [0, 10), [10, 30), [30, 70), [70, 150): restart values 1, 0.5, 0.25, 0.125 (times (1 - alpha)) + alpha
    starts, lengths = [0, 10, 30, 70], [10, 20, 40, 80]
    for i, (start, length) in enumerate(zip(starts, lengths)):
        for k in (0, 1, length // 2, length - 1):
            assert sgdr(start + k) == pytest.approx(_cos(k, length, 1.0, 0.1, 0.5**i), rel=1e-12)
    flat = S.CosineDecayRestarts(0.3, 7, t_mul=1.0, m_mul=0.9)
    for step in STEPS:
        assert flat(step) == pytest.approx(_cos(step % 7, 7, 0.3, 0.0, 0.9 ** (step // 7)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("t_mul", [1.5, 2.0, 3.0, 10.0])
def test_cosine_decay_restarts_exact_restart_steps(t_mul):
    # At each restart the rate is back at m_mul ** i times the start (floor(log) alone can miss by one period).
    sgdr = S.CosineDecayRestarts(1.0, 4, t_mul=t_mul, m_mul=0.5)
    start = 0.0
    for i in range(8):
        if start == int(start):
            assert sgdr(int(start)) == pytest.approx(0.5**i, rel=1e-9)
        start += 4 * t_mul**i


def test_inverse_time_and_polynomial_formulas():
    inv = S.InverseTimeDecay(0.1, 10, 0.5)
    stair = S.InverseTimeDecay(0.1, 10, 0.5, staircase=True)
    poly = S.PolynomialDecay(0.1, 20, end_learning_rate=0.01, power=2.0)
    cyc = S.PolynomialDecay(0.1, 10, end_learning_rate=0.001, power=0.5, cycle=True)
    for step in STEPS:
        assert inv(step) == pytest.approx(0.1 / (1 + 0.5 * step / 10), rel=1e-12)
        assert stair(step) == pytest.approx(0.1 / (1 + 0.5 * (step // 10)), rel=1e-12)
        assert poly(step) == pytest.approx(0.09 * (1 - min(step, 20) / 20) ** 2 + 0.01, rel=1e-12)
        d = 10 * max(1, math.ceil(step / 10))
        assert cyc(step) == pytest.approx(0.099 * (1 - step / d) ** 0.5 + 0.001, rel=1e-12)
    assert cyc(10) == pytest.approx(0.001) and cyc(11) > cyc(9)  # the end of a cycle, then a restart


@pytest.mark.parametrize(
    "schedule",
    [
        S.CosineDecay(0.1, 100, alpha=0.05, warmup_target=0.3, warmup_steps=10),
        S.CosineDecayRestarts(0.1, 50, t_mul=1.5, m_mul=0.8, alpha=0.01),
        S.InverseTimeDecay(0.1, 10, 0.5, staircase=True),
        S.PolynomialDecay(0.1, 100, end_learning_rate=0.001, power=2.0, cycle=True),
    ],
    ids=lambda s: type(s).__name__,
)
def test_optimizers_take_and_serialize_new_schedules(schedule):
    opt = optimizers.Adam(learning_rate=schedule)
    params, grads = [np.ones(4, np.float32)], [np.full(4, 0.5, np.float32)]
    for _ in range(3):
        opt.apply(params, grads)
    assert opt.learning_rate == pytest.approx(schedule(3))
    config = json.loads(json.dumps(optimizers.serialize(opt)))  # plain JSON, as in a model file
    again = optimizers.deserialize(config)
    assert type(again._learning_rate) is type(schedule)
    assert again._learning_rate.get_config() == schedule.get_config()
    assert [again._learning_rate(s) for s in STEPS] == [schedule(s) for s in STEPS]
    assert S.deserialize(S.serialize(schedule)).get_config() == schedule.get_config()


def test_keras_default_names_and_configs():
    assert S.CosineDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1,
        "decay_steps": 10,
        "alpha": 0.0,
        "name": "CosineDecay",
        "warmup_target": None,
        "warmup_steps": 0,
    }
    assert S.CosineDecayRestarts(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1,
        "first_decay_steps": 10,
        "t_mul": 2.0,
        "m_mul": 1.0,
        "alpha": 0.0,
        "name": "SGDRDecay",
    }
    assert S.PolynomialDecay(0.1, 10).get_config()["end_learning_rate"] == 0.0001
    assert S.InverseTimeDecay(0.1, 10, 1.0).name == "InverseTimeDecay"
    for case in GOLDEN.values():  # Keras's own configs load unchanged
        assert (
            S.deserialize({"class_name": case["class_name"], "config": case["config"]}).get_config() == case["config"]
        )


@pytest.mark.parametrize(
    "cls, args, kwargs, arg, error",
    [
        ("CosineDecay", (0.1, 0), {}, "decay_steps", ValueError),
        ("CosineDecay", (0.1, 10), {"alpha": 1.5}, "alpha", ValueError),
        ("CosineDecay", (-0.1, 10), {}, "initial_learning_rate", ValueError),
        ("CosineDecay", (0.1, 10), {"warmup_target": float("nan"), "warmup_steps": 3}, "warmup_target", ValueError),
        ("CosineDecay", (0.1, 10), {"warmup_target": 0.2, "warmup_steps": -1}, "warmup_steps", ValueError),
        ("CosineDecay", ("0.1", 10), {}, "initial_learning_rate", TypeError),
        ("CosineDecayRestarts", (0.1, -5), {}, "first_decay_steps", ValueError),
        ("CosineDecayRestarts", (0.1, 5), {"t_mul": 0.0}, "t_mul", ValueError),
        ("CosineDecayRestarts", (0.1, 5), {"m_mul": -1.0}, "m_mul", ValueError),
        ("CosineDecayRestarts", (0.1, 5), {"alpha": None}, "alpha", TypeError),
        ("InverseTimeDecay", (0.1, 0, 0.5), {}, "decay_steps", ValueError),
        ("InverseTimeDecay", (0.1, 10, -0.5), {}, "decay_rate", ValueError),
        ("InverseTimeDecay", (0.1, 10, 0.5), {"staircase": "yes"}, "staircase", TypeError),
        ("PolynomialDecay", (0.1, 10), {"power": -1.0}, "power", ValueError),
        ("PolynomialDecay", (0.1, 10), {"end_learning_rate": float("inf")}, "end_learning_rate", ValueError),
        ("PolynomialDecay", (0.1, 10), {"cycle": 2}, "cycle", TypeError),
        ("PolynomialDecay", (0.1, True), {}, "decay_steps", TypeError),
    ],
)
def test_bad_arguments_name_the_class_and_argument(cls, args, kwargs, arg, error):
    with pytest.raises(error) as info:
        getattr(S, cls)(*args, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{cls}: `{arg}`") and "got" in message


def test_warmup_steps_without_target_warns_as_keras_ignores_it():
    with pytest.warns(UserWarning, match=r"CosineDecay: `warmup_steps`=5 is ignored without `warmup_target`"):
        sched = S.CosineDecay(0.1, 10, warmup_steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sched(0) == pytest.approx(0.1)  # decays from the start, as Keras does


# ---------------------------------------------------------------------------- overflow and invalid values (issue 11)


@pytest.mark.parametrize(
    "schedule, step",
    [
        (S.ExponentialDecay(0.1, 1, 1e10), 100),
        (S.ExponentialDecay(1e-3, decay_steps=1, decay_rate=1e200), 2),
        (S.StepDecay(0.1, 1, 1e300), 5),
        (S.ExponentialDecay(0.1, 1, 1e10, staircase=True), 10**6),
        (S.CosineDecayRestarts(1.0, 1, t_mul=1.0, m_mul=1e300), 5),
    ],
)
def test_overflow_gives_inf_as_keras(schedule, step):
    """Keras's float maths overflows to inf; Python's float ** would raise OverflowError."""
    assert schedule(step) == math.inf


def test_huge_steps_never_raise():
    for schedule in (
        S.ExponentialDecay(0.1, 1, 0.5),
        S.InverseTimeDecay(0.1, 1, 1e300),
        S.PolynomialDecay(0.1, 3),
        S.PolynomialDecay(0.1, 3, cycle=True, power=1e300),
        S.CosineDecay(0.1, 7, warmup_target=0.2, warmup_steps=3),
        S.CosineDecayRestarts(0.1, 2, t_mul=1e10, m_mul=1e-300),
    ):
        value = schedule(10**15)
        assert math.isfinite(value) and value >= 0, (schedule, value)


def _keras_sgdr(step, lr, first, t_mul, m_mul=1.0, alpha=0.0):
    """Keras 3's CosineDecayRestarts.__call__, transcribed (float64)."""
    completed = step / first
    i = math.floor(math.log(1 - completed * (1 - t_mul)) / math.log(t_mul))
    sum_r = (1 - t_mul**i) / (1 - t_mul)
    completed = (completed - sum_r) / t_mul**i
    m_fac = m_mul**i
    return lr * ((1 - alpha) * m_fac * 0.5 * (1 + math.cos(math.pi * completed)) + alpha)


@pytest.mark.parametrize("t_mul", [0.5, 0.8, 0.25])
def test_cosine_decay_restarts_shrinking_periods_as_keras(t_mul):
    sgdr = S.CosineDecayRestarts(1.0, 20, t_mul=t_mul, m_mul=0.9, alpha=0.05)
    end = 20 / (1 - t_mul)  # the shrinking periods add up to this many steps
    steps = [s for s in range(int(end)) if s < end - 1e-9]
    restarts = [(1 - t_mul**k) / (1 - t_mul) for k in range(80)]
    for s in steps:
        if any(abs(s / 20 - r) < 1e-9 for r in restarts):
            continue  # Keras's floor(log) can land one period off exactly at a restart (see the exact-restart test)
        assert sgdr(s) == pytest.approx(_keras_sgdr(s, 1.0, 20, t_mul, 0.9, 0.05), rel=1e-9, abs=1e-12), s
    assert math.isnan(sgdr(int(math.ceil(end)) + 1))  # Keras's log of a negative number


@pytest.mark.parametrize(
    "schedule, step, shown",
    [
        (S.ExponentialDecay(1e-3, decay_steps=1, decay_rate=1e200), 1, r"1e\+197"),  # beyond float32: inf to the kernel
        (S.ExponentialDecay(1e-300, decay_steps=1, decay_rate=1e308), 2, "inf"),  # 1e-300, 1e8, inf
        (S.CosineDecayRestarts(0.1, 1, t_mul=0.5), 2, "nan"),  # the periods 1 + 0.5 + ... end at step 2
    ],
)
def test_optimizer_refuses_an_invalid_scheduled_rate_naming_the_schedule(schedule, step, shown):
    from sinapse import layers
    from sinapse.models import Sequential

    model = Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizers.SGD(schedule), "mse")
    x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
    with pytest.raises(
        ValueError,
        match=rf"^SGD: learning_rate from {type(schedule).__name__} at step {step} is "
        rf"{shown}; it must be a finite number >= 0",
    ):
        model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    assert model.optimizer.iterations == step


class _Returns(S.LearningRateSchedule):
    def __init__(self, value):
        self.value = value

    def __call__(self, step):
        return self.value

    def get_config(self):
        return {}


@pytest.mark.parametrize(
    "value, error, shown",
    [("x", TypeError, "'x'"), (None, TypeError, "None"), (-1.0, ValueError, "-1.0"), (True, TypeError, "True")],
)
def test_optimizer_refuses_a_custom_schedule_returning_a_non_rate(value, error, shown):
    opt = optimizers.SGD(_Returns(value))
    with pytest.raises(error, match=rf"^SGD: learning_rate from _Returns at step 0 is {shown}"):
        opt.learning_rate


# ------------------------------------------- steps and arguments beyond float's range (issue 11)

# One instance of every built-in schedule (a new schedule fails the completeness test until listed).
EVERY = {
    "ExponentialDecay": S.ExponentialDecay(0.1, 0.5, 0.5, staircase=True),
    "StepDecay": S.StepDecay(0.1, 3, 0.5),
    "PiecewiseConstantDecay": S.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1]),
    "InverseTimeDecay": S.InverseTimeDecay(0.1, 0.5, 0.0, staircase=True),
    "PolynomialDecay": S.PolynomialDecay(0.1, 0.5, cycle=True),
    "CosineDecay": S.CosineDecay(0.1, 10, warmup_target=1.0, warmup_steps=5),
    "CosineDecayRestarts": S.CosineDecayRestarts(0.1, 10, t_mul=2.0),
}
MORE = [
    S.PolynomialDecay(0.1, 10, cycle=True),
    S.PolynomialDecay(0.1, 10),
    S.ExponentialDecay(0.1, 10, 0.9),
    S.InverseTimeDecay(0.1, 10, 0.5),
    S.CosineDecay(0.1, 10),
    S.CosineDecayRestarts(0.1, 0.5, t_mul=1.0),
    S.CosineDecayRestarts(0.1, 1, t_mul=1e30),
    S.CosineDecayRestarts(0.1, 1, t_mul=1 + 1e-12),
]
ALL = list(EVERY.values()) + MORE


def test_every_schedule_is_covered():
    assert set(EVERY) == set(S._SCHEDULES)


@pytest.mark.parametrize("schedule", ALL, ids=repr)
@pytest.mark.parametrize("step", [10**400, -1, -1e-9, math.nan, math.inf, -math.inf])
def test_a_step_that_is_not_a_float_count_is_a_clear_error(schedule, step):
    with pytest.raises(ValueError, match=rf"^{type(schedule).__name__}: `step` must be a finite number"):
        schedule(step)


@pytest.mark.parametrize("schedule", ALL, ids=repr)
@pytest.mark.parametrize("step", ["3", True, None, [1]])
def test_a_step_that_is_not_a_number_is_a_type_error(schedule, step):
    with pytest.raises(TypeError, match=rf"^{type(schedule).__name__}: `step` must be a real number"):
        schedule(step)


@pytest.mark.parametrize("schedule", ALL, ids=repr)
@pytest.mark.parametrize("step", [1e300, 1e308, 1.7e308, 2**1000, np.int64(2**62), np.float32(3e38)])
def test_huge_finite_steps_give_keras_float_values_not_overflow_errors(schedule, step):
    value = schedule(step)  # float maths as Keras: a number (NaN where Keras's formula is NaN), never an exception
    assert isinstance(value, float) and (math.isnan(value) or 0 <= value <= 1.0)
    if not isinstance(schedule, S.CosineDecayRestarts):  # its restarts are defined for every finite fraction
        assert math.isfinite(value)


def test_the_reported_overflows_are_clear_errors():
    for schedule in (S.CosineDecayRestarts(0.1, 10, t_mul=2.0), S.PolynomialDecay(0.1, 10, cycle=True)):
        with pytest.raises(ValueError, match=r"`step` must be a finite number, got 1000.*beyond a float's range"):
            schedule(10**400)


def test_inverse_time_without_decay_stays_at_its_rate_for_any_step():
    assert S.InverseTimeDecay(0.1, 1e-300, 0.0)(1e308) == 0.1  # not 0 * inf = NaN


@pytest.mark.parametrize(
    "name, args",
    [
        ("ExponentialDecay", (10**400, 10, 0.5)),
        ("ExponentialDecay", (1e39, 10, 0.5)),
        ("ExponentialDecay", (0.1, 10**400, 0.5)),
        ("InverseTimeDecay", (0.1, 10, 10**400)),
        ("PolynomialDecay", (0.1, 10, 1e39)),
        ("CosineDecay", (0.1, 10, 0.0, "c", 1e39)),
        ("CosineDecayRestarts", (0.1, 10, 10**400)),
        ("PiecewiseConstantDecay", ([5], [0.1, 1e39])),
        ("PiecewiseConstantDecay", ([10**400], [0.1, 0.2])),
    ],
)
def test_arguments_beyond_float_or_float32_range_are_refused(name, args):
    with pytest.raises(ValueError, match=rf"^{name}: `\w+(\[\d\])?` must be"):
        getattr(S, name)(*args)


@pytest.mark.parametrize(
    "boundaries, values, bad",
    [
        ([math.nan], [1.0, 0.5], r"`boundaries\[0\]` must be finite"),
        ([math.inf], [1.0, 0.5], r"`boundaries\[0\]`"),
        ([5, 5], [1.0, 0.5, 0.1], "`boundaries` must be strictly increasing"),
        ([5, 3], [1.0, 0.5, 0.1], "`boundaries` must be strictly increasing"),
        ([1, math.nan, 3], [1.0, 0.5, 0.1, 0.0], r"`boundaries\[1\]`"),
        ([5], [1.0, -0.5], r"`values\[1\]` must be"),
        ([5], [1.0, math.nan], r"`values\[1\]` must be finite"),
        (["5"], [1.0, 0.5], r"`boundaries\[0\]` must be a real number"),
        ([5], [True, 0.5], r"`values\[0\]` must be a real number"),
        (5, [1.0], "`boundaries` must be a list of numbers"),
        ([5], "ab", "`values` must be a list of numbers"),
    ],
)
def test_piecewise_constant_boundaries_and_values_are_checked(boundaries, values, bad):
    with pytest.raises((TypeError, ValueError), match=rf"^PiecewiseConstantDecay: {bad}"):
        S.PiecewiseConstantDecay(boundaries, values)


@pytest.mark.parametrize("name", sorted(EVERY))
@pytest.mark.parametrize("bad", [5, b"x", ["a"]])
def test_schedule_name_must_be_a_str(name, bad):
    config = {**EVERY[name].get_config(), "name": bad}
    with pytest.raises(TypeError, match=rf"^{name}: `name` must be a str, got"):
        getattr(S, name).from_config(config)
