"""Learning-rate schedules, Keras-style (keras.optimizers.schedules): a schedule is called
with the optimizer's step count (``iterations``, 0 on the first step) and returns the
learning rate for that step.

    ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)
        initial_learning_rate * decay_rate ** (step / decay_steps)      (floor(...) if staircase)
    StepDecay(initial_learning_rate, decay_steps, decay_rate)
        initial_learning_rate * decay_rate ** floor(step / decay_steps)   ("drop by decay_rate
        every decay_steps steps"; ExponentialDecay with staircase=True, not in Keras)
    PiecewiseConstantDecay(boundaries, values)
        values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i],
        values[-1] after boundaries[-1]

Values are computed in Python floats (Keras computes them in float32; the kernels round the
result to float32 either way).
"""

from __future__ import annotations

import math


class LearningRateSchedule:
    """Base class: subclasses define ``__call__(step) -> float`` and ``get_config()``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _positive(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{cls}: `{name}` must be a positive number, got {value!r}.")
    return value


class ExponentialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        cls = type(self).__name__
        self.initial_learning_rate = _positive(cls, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive(cls, "decay_steps", decay_steps)
        self.decay_rate = _positive(cls, "decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class StepDecay(ExponentialDecay):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, name="StepDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase=True, name=name)

    def get_config(self):
        config = super().get_config()
        del config["staircase"]
        return config


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: `values` must have one more element than `boundaries`, "
                             f"got {len(values)} values and {len(boundaries)} boundaries.")
        if boundaries != sorted(boundaries):
            raise ValueError(f"PiecewiseConstantDecay: `boundaries` must be increasing, got {boundaries}.")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, StepDecay, PiecewiseConstantDecay)}


def serialize(schedule: LearningRateSchedule) -> dict:
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    """The schedule a ``serialize`` dict (Keras's {"class_name", "config"} form) describes."""
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in _SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {config!r}; known: {', '.join(sorted(_SCHEDULES))}")
    return _SCHEDULES[name].from_config(dict(config.get("config", {})))
