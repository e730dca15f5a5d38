"""The optimizer base class: Keras 3's behaviour around one fused kernel per parameter.

One step, ``opt.apply(params, grads)``:
  1. state is created on the first call, next to each parameter (NumPy -> CPU kernels,
     CuPy -> CUDA kernels, NumPy inside ``sinapse.cuda.simulate()`` -> simulated CUDA);
     parameters are identified by their position in the list;
  2. clipping, as Keras (only the first that is set applies): ``clipnorm`` per array,
     else ``global_clipnorm`` over all arrays, else ``clipvalue`` — folded into the update
     kernel as a gradient scale / clip, so the gradients are never copied or modified;
  3. one fused update per parameter (``sinapse.ops.<name>_update``), Keras's decoupled
     ``weight_decay`` included;
  4. ``iterations += 1``.

The learning rate is a float (settable: callbacks such as ReduceLROnPlateau assign it) or a
schedule from ``sinapse.optimizers.schedules``, called with ``iterations``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import ops
from ..devices import array_module, import_cupy, to_numpy
from ..ops._plan import MISS
from ..ops.optimizers import clip_scale
from . import schedules
from ._numbers import FLOAT32_MAX, hyper, name_str, optional_positive

_F32 = np.dtype(np.float32)

# Keras 3 arguments sinapse accepts only at their defaults (so Keras configs load).
_UNSUPPORTED_DEFAULTS = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _is_default(value, default) -> bool:
    """Keras's default, or None/False meaning "off" — by identity for those: ``0 in (None, False)``
    is True (0 == False), which let gradient_accumulation_steps=0 and loss_scale_factor=0.0 through."""
    if value is None or value is False or value is default:
        return True
    same_kind = isinstance(value, bool) == isinstance(default, bool) and not isinstance(value, str)
    return default is not None and same_kind and value == default


def _zeros_like(param, value=0.0):
    """A float32 array of param's shape filled with ``value``, on param's device."""
    return array_module(param).full(param.shape, value, dtype=np.float32)


class Optimizer:
    """Base class. Subclasses define ``_slots()`` (state names and initial values, from the
    options) and ``_step_op()``: the update op (``sinapse.ops.<name>_update``), the state
    names it takes as its state arrays, in its order, and its options as keyword arguments.
    ``_counts_steps``: the op takes ``step`` (iterations + 1)."""

    _counts_steps = False

    # ------------------------------------------------------------------ subclass interface

    def _slots(self) -> list[tuple[str, float]]:
        """The state arrays: (name, initial value) for each, from the options."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _slots")

    def _step_op(self) -> tuple[Any, tuple[str, ...], dict[str, Any]]:
        """(the update op, the state names it takes in its order, its options as keyword arguments)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _step_op")

    def __init__(
        self,
        learning_rate,
        *,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        cls = type(self).__name__
        if "lr" in kwargs:  # Keras 1/2 spelling
            warnings.warn(f"{cls}: `lr` is deprecated, use `learning_rate`.", DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        for key, default in _UNSUPPORTED_DEFAULTS.items():
            if key in kwargs and not _is_default(kwargs.pop(key), default):
                raise ValueError(f"{cls}: `{key}` is not supported by sinapse (only its default {default!r}).")
        if kwargs:
            raise TypeError(f"{cls}: unexpected argument(s) {', '.join(sorted(kwargs))}.")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"{cls}: only one of `clipnorm` and `global_clipnorm` can be set.")
        self.name = name_str(cls, name, cls.lower())
        self.weight_decay = None if weight_decay is None else hyper(cls, "weight_decay", weight_decay)
        self.clipnorm = optional_positive(cls, "clipnorm", clipnorm)
        self.clipvalue = optional_positive(cls, "clipvalue", clipvalue)
        self.global_clipnorm = optional_positive(cls, "global_clipnorm", global_clipnorm)
        self._learning_rate: float | schedules.LearningRateSchedule | None = None  # set just below
        self.learning_rate = learning_rate
        self.iterations = 0
        self._state: list[dict] | None = None  # per parameter: slot name -> array
        self._pending: dict | None = None  # set_state before the first apply
        self._plans: list = []  # per parameter: its update's ops Plan, validated once (ops/_plan.py)
        self._options: tuple | None = None  # the update op and options the plans were made for
        self._state_arrays: list = []  # per parameter: its state arrays in the op's order

    # ------------------------------------------------------------------ learning rate

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step (a schedule's value at ``iterations``)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return schedules.learning_rate_at(lr, self.iterations, type(self).__name__)
        assert lr is not None, "__init__ sets the learning rate"
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        cls = type(self).__name__
        if isinstance(value, schedules.LearningRateSchedule):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(
                f"{cls}: the learning rate is a schedule ({self._learning_rate!r}), so it cannot be "
                f"set; create the optimizer with a float learning_rate to change it during training."
            )
        self._learning_rate = hyper(cls, "learning_rate", value)

    # ------------------------------------------------------------------------- a step

    def apply(self, params: list, grads: list) -> None:
        """Update ``params`` in place from ``grads`` (same order, same shapes, float32)."""
        cls = type(self).__name__
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"{cls}.apply: got {len(params)} params and {len(grads)} grads; they pair up one to one.")
        state = self._state
        if state is None:
            state = self._build(params)
        elif len(params) != len(state):
            raise ValueError(
                f"{cls}.apply: got {len(params)} params, but the optimizer was built for "
                f"{len(state)} (params are identified by their position in the list)."
            )
        lr = self.learning_rate
        scales, clipvalue = [1.0] * len(grads), None
        if self.clipnorm:
            scales = [clip_scale(ops.global_norm([g]), self.clipnorm) for g in grads]
        elif self.global_clipnorm:
            scales = [clip_scale(ops.global_norm(grads), self.global_clipnorm)] * len(grads)
        elif self.clipvalue:
            clipvalue = self.clipvalue
        op, names, options = self._step_op()
        options = {**options, "weight_decay": self._decay, "clipvalue": clipvalue}
        if (op, options) != self._options or len(self._plans) != len(params):  # new options: new plans
            self._plans = [None] * len(params)
            self._options = (op, options)
            self._state_arrays = [[slots.get(n) for n in names] for slots in state]
        # Each parameter's update runs through its plan (ops/_plan.py): validated on the first
        # step, then only the cheap checks (the full validation costs more than a small update).
        # The step's scalars are validated once (Plan.rebind) and reused for every parameter
        # with the same grad_scale: one op, the same values.
        per_step = {"learning_rate": lr, **({"step": self.iterations + 1} if self._counts_steps else {})}
        plans, dynamic, bound_scale = self._plans, None, None
        for i, (p, g, slots, scale) in enumerate(zip(params, grads, self._state_arrays, scales)):
            per_step["grad_scale"] = scale
            plan, arrays = plans[i], [p, g, *slots]
            if plan is not None:
                if dynamic is None or scale != bound_scale:
                    dynamic, bound_scale = plan.rebind(**per_step), scale
                if plan.run_bound(arrays, dynamic) is not MISS:
                    continue
            plans[i] = op.prepare(*arrays, **options, **per_step)  # the op's errors, if any
            if plans[i].run_if_fits(arrays, per_step) is MISS:  # arrays a plan cannot take (a subclass)
                op(*arrays, **options, **per_step)
        self.iterations += 1

    def _build(self, params) -> list[dict]:
        """The state for ``params`` (zeros, or the pending set_state), kept as ``_state``."""
        slots = self._slots()
        state = [{name: _zeros_like(p, init) for name, init in slots} for p in params]
        self._state = state
        if self._pending is not None:
            pending, self._pending = self._pending, None
            try:
                self._copy_state_in(pending)
            except Exception:
                self._state = None
                raise
        return state

    @property
    def _decay(self) -> float:
        return self.weight_decay or 0.0

    # ---------------------------------------------------------------- state save/restore

    def get_state(self) -> dict:
        """All state as flat NumPy arrays: ``iterations`` (int64), ``learning_rate`` (float64,
        unless a schedule), and ``<slot>/<parameter index>`` (float32)."""
        state = {"iterations": np.array(self.iterations, np.int64)}
        if not isinstance(self._learning_rate, schedules.LearningRateSchedule):
            state["learning_rate"] = np.array(self._learning_rate, np.float64)  # exact: the config holds it too
        for i, slots in enumerate(self._state or []):
            for name, arr in slots.items():
                state[f"{name}/{i}"] = np.array(to_numpy(arr))  # a snapshot, never a view
        if self._state is None and self._pending:  # restored, not yet applied: still this optimizer's state
            state.update(
                {
                    k: np.array(v, np.float32)
                    for k, v in self._pending.items()
                    if k not in ("iterations", "learning_rate")
                }
            )
        return state

    def check_state(self, state: dict, shapes: list) -> None:
        """Raise ValueError unless ``state`` (as get_state returns it) fits parameters of ``shapes``:
        an integer ``iterations`` >= 0, a finite float ``learning_rate`` >= 0 (absent with a
        schedule), and, once a step was taken, every ``<slot>/<i>`` float32 of parameter i's shape."""
        cls = type(self).__name__
        it = np.asarray(state.get("iterations", np.float32(0)))
        if "iterations" not in state or it.shape != () or it.dtype.kind not in "iu" or int(it) < 0:
            raise ValueError(f"{cls}: `iterations` must be an integer scalar >= 0, got {state.get('iterations')!r}")
        if "learning_rate" in state:
            lr = np.asarray(state["learning_rate"])
            if (
                isinstance(self._learning_rate, schedules.LearningRateSchedule)
                or lr.shape != ()
                or lr.dtype not in (_F32, np.float64)
                or not (np.isfinite(lr) and 0 <= lr <= FLOAT32_MAX)
            ):
                raise ValueError(
                    f"{cls}: `learning_rate` must be a float scalar in [0, {FLOAT32_MAX:.4g}] (and absent when the "
                    f"learning rate is a schedule), got {lr!r}"
                )
        expected = {f"{name}/{i}": tuple(shape) for name, _ in self._slots() for i, shape in enumerate(shapes)}
        given = set(state) - {"iterations", "learning_rate"}
        if given != set(expected) and (given or int(it) > 0):
            missing, extra = sorted(set(expected) - given), sorted(given - set(expected))
            raise ValueError(
                f"{cls}: the state does not fit {len(shapes)} parameters: missing "
                f"{missing[:4] or 'nothing'}, unexpected {extra[:4] or 'nothing'}"
            )
        for key in given:
            a = np.asarray(state[key])
            if a.dtype != _F32 or a.shape != expected[key]:
                raise ValueError(f"{cls}: `{key}` is {a.dtype} {a.shape}, its parameter needs float32 {expected[key]}")

    def set_state(self, state: dict) -> None:
        """Restore what get_state returned; the next steps continue bit-identically."""
        cls = type(self).__name__
        if "iterations" not in state:
            raise ValueError(f"{cls}.set_state: the state has no `iterations` entry.")
        expected = {name for name, _ in self._slots()}
        for key in state:
            if key not in ("iterations", "learning_rate") and key.split("/")[0] not in expected:
                raise ValueError(
                    f"{cls}.set_state: unexpected entry `{key}` (this optimizer's state: "
                    f"{', '.join(sorted(expected)) or 'none'})."
                )
        if self._state is None:
            self._pending = dict(state)
        else:
            self._copy_state_in(state)
        self.iterations = int(state["iterations"])
        if "learning_rate" in state and not isinstance(self._learning_rate, schedules.LearningRateSchedule):
            self._learning_rate = hyper(cls, "learning_rate", np.asarray(state["learning_rate"]).item())

    def _copy_state_in(self, state):
        cls = type(self).__name__
        n_saved = len({key.split("/")[1] for key in state if "/" in key})
        current = self._state or []  # (set before this is called)
        if self._slots() and n_saved != len(current):
            raise ValueError(f"{cls}.set_state: the state is for {n_saved} parameters, the model has {len(current)}.")
        for i, slots in enumerate(current):
            for name, arr in slots.items():
                saved = np.asarray(state[f"{name}/{i}"])
                if saved.shape != tuple(arr.shape):
                    raise ValueError(
                        f"{cls}.set_state: `{name}/{i}` has shape {saved.shape}, the parameter {tuple(arr.shape)}."
                    )
                arr[...] = saved.astype(np.float32, copy=False) if isinstance(arr, np.ndarray) else _device_array(saved)

    # -------------------------------------------------------------------------- config

    def get_config(self) -> dict:
        lr = self._learning_rate
        return {
            "name": self.name,
            "learning_rate": schedules.serialize(lr) if isinstance(lr, schedules.LearningRateSchedule) else lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            **_UNSUPPORTED_DEFAULTS,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r}, iterations={self.iterations})"


def _device_array(saved):
    return import_cupy().asarray(saved, dtype=np.float32)
