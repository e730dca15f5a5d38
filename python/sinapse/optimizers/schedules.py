"""Learning-rate schedules, Keras-style (keras.optimizers.schedules): a schedule is called
with the optimizer's step count (``iterations``, 0 on the first step) and returns the
learning rate for that step. Formulas from Keras 3's
keras/src/optimizers/schedules/learning_rate_schedule.py (``step`` = the step count):

    ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)
        initial_learning_rate * decay_rate ** (step / decay_steps)      (floor(...) if staircase)
    StepDecay(initial_learning_rate, decay_steps, decay_rate)
        initial_learning_rate * decay_rate ** floor(step / decay_steps)   ("drop by decay_rate
        every decay_steps steps"; ExponentialDecay with staircase=True, not in Keras)
    PiecewiseConstantDecay(boundaries, values)
        values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i],
        values[-1] after boundaries[-1]
    InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)
        initial_learning_rate / (1 + decay_rate * step / decay_steps)     (floor(step / decay_steps)
        if staircase)
    PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate=1e-4, power=1.0, cycle=False)
        (initial_learning_rate - end_learning_rate) * (1 - s / d) ** power + end_learning_rate, with
        s = min(step, decay_steps), d = decay_steps; with cycle, s = step and
        d = decay_steps * max(1, ceil(step / decay_steps))
    CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0)
        cos(s, d, lr) = lr * ((1 - alpha) * 0.5 * (1 + cos(pi * s / d)) + alpha).
        Without warmup_target: cos(min(step, decay_steps), decay_steps, initial_learning_rate).
        With it, s = min(step, decay_steps + warmup_steps): while s < warmup_steps the linear
        warmup initial_learning_rate + (warmup_target - initial_learning_rate) * s / warmup_steps,
        then cos(s - warmup_steps, decay_steps, warmup_target).
    CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0)
        f = step / first_decay_steps; period i = floor(f) if t_mul == 1, else the i with
        (1 - t_mul**i) / (1 - t_mul) <= f < (1 - t_mul**(i+1)) / (1 - t_mul) (Keras:
        floor(log(1 - f (1 - t_mul)) / log(t_mul))); f' = (f - (1 - t_mul**i) / (1 - t_mul)) / t_mul**i
        (f - i if t_mul == 1); lr = initial_learning_rate * ((1 - alpha) * 0.5 * m_mul**i *
        (1 + cos(pi f')) + alpha).

Values are computed in Python floats (Keras computes them in float32; the kernels round the
result to float32 either way); a value too large for a float is inf, as in Keras (never an
OverflowError), and the optimizer refuses a learning rate that is not a finite number >= 0 with
an error naming the schedule and the step (``learning_rate_at``). CosineDecayRestarts with
t_mul < 1 follows Keras's formula: its periods shrink and add up to first_decay_steps / (1 - t_mul)
steps, after which the value is NaN (the optimizer then stops with that error). Arguments are validated when the schedule is made (ValueError
or TypeError naming the argument), where Keras checks only the decay steps.. ``step`` must be a finite
number >= 0 (an int beyond float's range, NaN or a negative step: an error naming the schedule and
``step``); where step / decay_steps overflows, the float maths goes on as Keras's (inf, then the
formula's value; NaN for CosineDecayRestarts).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..ops._checks import FLOAT32_MAX, as_bool, as_float
from ._numbers import name_str


def _pow(base: float, exponent: float) -> float:
    """base ** exponent, inf where it overflows (Python's float ** raises OverflowError; Keras's
    float32 maths gives inf)."""
    try:
        return base**exponent
    except OverflowError:
        return math.inf


def learning_rate_at(schedule, step: int, owner: str) -> float:
    """``schedule(step)`` as a float, checked: the optimizer ``owner`` ("SGD") refuses a value that
    is not a finite number >= 0 with an error naming the schedule, rather than training on it."""
    lr = schedule(step)
    name = type(schedule).__name__
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, (numbers.Real, np.integer, np.floating)):
        raise TypeError(
            f"{owner}: learning_rate from {name} at step {step} is {lr!r} ({type(lr).__name__}); "
            f"a schedule must return a number"
        )
    value = float(lr)
    if not (math.isfinite(value) and 0 <= value <= FLOAT32_MAX):  # the kernels take float32
        raise ValueError(
            f"{owner}: learning_rate from {name} at step {step} is {value}; it must be a finite "
            f"number >= 0 that fits float32 (<= {FLOAT32_MAX:.4g}). Check the schedule's arguments: {schedule!r}"
        )
    return value


class LearningRateSchedule:
    """Base class: subclasses define ``__call__(step) -> float`` and ``get_config()``. The built-in
    schedules define ``_value(step)`` instead, so every one gets ``step`` checked and as a float
    (an int step beyond float's range would raise a bare OverflowError in their maths)."""

    def __call__(self, step) -> float:
        return self._value(_step(type(self).__name__, step))

    def _value(self, step: float) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _step(cls, step) -> float:
    """A step count: a finite number >= 0, as a float (Keras computes in floats too)."""
    what = "a finite number >= 0 (the optimizer's iterations)"
    return as_float(cls, "step", step, lo=0, finite=True, float32=False, what=what)


def _floor(x: float) -> float:
    """floor(x), inf for inf (math.floor(inf) raises OverflowError; Keras's float floor gives inf)."""
    return math.floor(x) if math.isfinite(x) else x


def _ceil(x: float) -> float:
    return math.ceil(x) if math.isfinite(x) else x


def _number(cls, name, value, *, what="", **bounds):
    """A finite real number ("must be finite" otherwise), then within ``bounds`` (as_float's; "must
    be ``what``" otherwise), kept as given: NumPy scalars become Python numbers for the JSON config."""
    as_float(cls, name, value, finite=True, float32=False, what="finite")
    if bounds:
        as_float(cls, name, value, float32=False, what=what, **bounds)
    return value.item() if hasattr(value, "item") else value


def _positive(cls, name, value):
    return _number(cls, name, value, lo=0, lo_open=True, what="a positive number")


def _non_negative(cls, name, value):
    return _number(cls, name, value, lo=0, what="a number >= 0")


def _rate(cls, name, value, positive=False):
    """A learning rate (initial, end, warmup target, a piecewise value): >= 0 (> 0 if ``positive``)
    and within float32's range, the kernels' precision."""
    what = f"{'a positive number' if positive else 'a number >= 0'} (at most {FLOAT32_MAX:.4g}, float32's range)"
    return _number(cls, name, value, lo=0, lo_open=positive, hi=FLOAT32_MAX, what=what)


def _numbers_list(cls, name, value) -> list:
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{cls}: `{name}` must be a list of numbers, got {value!r} ({type(value).__name__}).")
    return list(value)


def _fraction(cls, name, value):
    return _number(cls, name, value, lo=0, hi=1, what="a number in [0, 1] (a fraction of the learning rate)")


def _progress(schedule, step):
    """step / decay_steps, floored with ``staircase`` (ExponentialDecay, InverseTimeDecay)."""
    p = step / schedule.decay_steps
    return _floor(p) if schedule.staircase else p


class ExponentialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        cls = type(self).__name__
        self.initial_learning_rate = _rate(cls, "initial_learning_rate", initial_learning_rate, positive=True)
        self.decay_steps = _positive(cls, "decay_steps", decay_steps)
        self.decay_rate = _positive(cls, "decay_rate", decay_rate)
        self.staircase = as_bool(cls, "staircase", staircase)
        self.name = name_str(cls, name, cls)

    def _value(self, step):
        return self.initial_learning_rate * _pow(self.decay_rate, _progress(self, step))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class StepDecay(ExponentialDecay):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, name="StepDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase=True, name=name)

    def get_config(self):
        config = super().get_config()
        del config["staircase"]
        return config


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        cls = type(self).__name__
        boundaries, values = _numbers_list(cls, "boundaries", boundaries), _numbers_list(cls, "values", values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"PiecewiseConstantDecay: `values` must have one more element than `boundaries`, "
                f"got {len(values)} values and {len(boundaries)} boundaries."
            )
        # Keras documents "strictly increasing"; a NaN would pass a sorted() check (every comparison is False)
        boundaries = [_number(cls, f"boundaries[{i}]", b) for i, b in enumerate(boundaries)]
        if any(b1 >= b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: `boundaries` must be strictly increasing, got {boundaries}.")
        self.values = [_rate(cls, f"values[{i}]", v) for i, v in enumerate(values)]
        self.boundaries, self.name = boundaries, name_str(cls, name, cls)

    def _value(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * p), p = step / decay_steps (floored if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        cls = type(self).__name__
        self.initial_learning_rate = _rate(cls, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive(cls, "decay_steps", decay_steps)
        self.decay_rate = _non_negative(cls, "decay_rate", decay_rate)
        self.staircase = as_bool(cls, "staircase", staircase)
        self.name = name_str(cls, name, cls)

    def _value(self, step):
        if not self.decay_rate:  # no decay: not 0 * inf = NaN when step / decay_steps overflows
            return self.initial_learning_rate
        return self.initial_learning_rate / (1.0 + self.decay_rate * _progress(self, step))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PolynomialDecay(LearningRateSchedule):
    """From initial_learning_rate to end_learning_rate in decay_steps along (1 - p) ** power."""

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        cls = type(self).__name__
        self.initial_learning_rate = _rate(cls, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive(cls, "decay_steps", decay_steps)
        self.end_learning_rate = _rate(cls, "end_learning_rate", end_learning_rate)
        self.power = _non_negative(cls, "power", power)  # a negative power would blow up at the end
        self.cycle = as_bool(cls, "cycle", cycle)
        self.name = name_str(cls, name, cls)

    def _value(self, step):
        decay_steps = self.decay_steps
        if self.cycle:  # restart at the next multiple of decay_steps above step (Keras: 1 at step 0)
            decay_steps *= 1 if step == 0 else _ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        return (self.initial_learning_rate - self.end_learning_rate) * _pow(
            1.0 - step / decay_steps, self.power
        ) + self.end_learning_rate

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


def _cosine(step, decay_steps, learning_rate, alpha, m_fac=1.0):
    """learning_rate * ((1 - alpha) * 0.5 * m_fac * (1 + cos(pi * step / decay_steps)) + alpha)."""
    return learning_rate * ((1.0 - alpha) * 0.5 * m_fac * (1.0 + math.cos(math.pi * step / decay_steps)) + alpha)


class CosineDecay(LearningRateSchedule):
    """An optional linear warmup to warmup_target, then a cosine decay to alpha times its start."""

    def __init__(
        self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None, warmup_steps=0
    ):
        cls = type(self).__name__
        self.initial_learning_rate = _rate(cls, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive(cls, "decay_steps", decay_steps)
        self.alpha = _fraction(cls, "alpha", alpha)
        self.name = name_str(cls, name, cls)
        self.warmup_target = None if warmup_target is None else _rate(cls, "warmup_target", warmup_target)
        self.warmup_steps = _non_negative(cls, "warmup_steps", warmup_steps)
        if self.warmup_target is None and self.warmup_steps:
            warnings.warn(
                f"{cls}: `warmup_steps`={warmup_steps} is ignored without `warmup_target` (as in Keras); "
                f"set warmup_target to warm up.",
                UserWarning,
                stacklevel=2,
            )

    def _value(self, step):
        if self.warmup_target is None:
            return _cosine(min(step, self.decay_steps), self.decay_steps, self.initial_learning_rate, self.alpha)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (step / self.warmup_steps) + self.initial_learning_rate
        return _cosine(step - self.warmup_steps, self.decay_steps, self.warmup_target, self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decays over periods t_mul times longer each, restarting at m_mul ** i times the start."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        cls = type(self).__name__
        self.initial_learning_rate = _rate(cls, "initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = _positive(cls, "first_decay_steps", first_decay_steps)
        # t_mul < 1 is accepted as in Keras: shrinking periods that end after first_decay_steps / (1 - t_mul)
        # steps, where the value becomes NaN (Keras's formula; the optimizer then refuses it, naming this schedule)
        self.t_mul = _positive(cls, "t_mul", t_mul)
        self.m_mul = _non_negative(cls, "m_mul", m_mul)
        self.alpha = _fraction(cls, "alpha", alpha)
        self.name = name_str(cls, name, cls)

    def _period(self, fraction):
        """(i, fraction of period i done) for ``fraction`` = step / first_decay_steps."""
        t = self.t_mul
        if not math.isfinite(fraction):  # step / first_decay_steps overflowed: Keras's float maths gives NaN
            return None, math.nan
        if t == 1.0:
            i = math.floor(fraction)
            return i, fraction - i
        start = lambda k: (1.0 - _pow(t, k)) / (1.0 - t)  # noqa: E731 - steps (in first periods) before period k
        inner = 1.0 - fraction * (1.0 - t)
        if inner <= 0:  # t_mul < 1 and every (shrinking) period is over: Keras's log gives NaN
            return None, math.nan
        # inner overflows for a large t_mul and step: log(f (t - 1)) is its log to float precision there
        log_inner = math.log(inner) if math.isfinite(inner) else math.log(fraction) + math.log(t - 1.0)
        i = math.floor(log_inner / math.log(t))
        # Keras's floor(log) can land one period off at an exact restart (log rounding): step to the period
        # whose [start(i), start(i + 1)) holds fraction.
        while i > 0 and start(i) > fraction:
            i -= 1
        while start(i + 1) <= fraction:
            i += 1
        return i, (fraction - start(i)) / _pow(t, i)

    def _value(self, step):
        i, fraction = self._period(step / self.first_decay_steps)
        if i is None:
            return math.nan
        return _cosine(fraction, 1.0, self.initial_learning_rate, self.alpha, _pow(self.m_mul, i))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_SCHEDULES = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        StepDecay,
        PiecewiseConstantDecay,
        InverseTimeDecay,
        PolynomialDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict:
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    """The schedule a ``serialize`` dict (Keras's {"class_name", "config"} form) describes."""
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in _SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {config!r}; known: {', '.join(sorted(_SCHEDULES))}")
    return _SCHEDULES[name].from_config(dict(config.get("config", {})))
