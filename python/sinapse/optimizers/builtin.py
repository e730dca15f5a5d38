"""The Keras optimizers: SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW — Keras 3's argument
names, defaults and formulas (each rule is written out in sinapse.ops.optimizers and
docs/kernels/optimizers.md), each step one fused kernel per parameter."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..ops._checks import as_bool
from ._numbers import hyper
from .optimizer import Optimizer

# Keras allows epsilon = 0; sinapse refuses it where a denominator starts at 0 (an accumulator
# or moment initialised to 0): a zero gradient there makes the update 0/0 and the weight NaN.
_ZERO_EPSILON = " (epsilon = 0 divides 0 by 0 where a gradient is 0, turning weights into NaN)"


def _fraction(cls, name, value, *, hi_open=False):
    """momentum and rho in [0, 1] (as Keras: rho = 1 freezes the average, harmless with epsilon > 0);
    beta_1, beta_2 in [0, 1) (1 makes Adam's bias correction 1 - beta**t zero: 0/0)."""
    return hyper(cls, name, value, 0.0, 1.0, hi_open=hi_open)


def _epsilon(cls, value, *, zero_ok=False):
    return hyper(cls, "epsilon", value, lo_open=not zero_ok, why="" if zero_ok else _ZERO_EPSILON)


class SGD(Optimizer):
    """Gradient descent, with momentum and Nesterov momentum (keras.optimizers.SGD)."""

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="SGD",
        **kwargs,
    ):
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.momentum = _fraction("SGD", "momentum", momentum)
        self.nesterov = as_bool("SGD", "nesterov", nesterov)

    def _slots(self):
        return [("momentum", 0.0)] if self.momentum != 0 else []

    def _step_op(self):
        return ops.sgd_update, ("momentum",), {"momentum": self.momentum, "nesterov": self.nesterov}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Adagrad (keras.optimizers.Adagrad): accumulators start at initial_accumulator_value."""

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adagrad",
        **kwargs,
    ):
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.initial_accumulator_value = hyper("Adagrad", "initial_accumulator_value", initial_accumulator_value)
        # the accumulator only grows from its start: with a start > 0 (in float32) no denominator is 0
        self.epsilon = _epsilon("Adagrad", epsilon, zero_ok=np.float32(self.initial_accumulator_value) > 0)

    def _slots(self):
        return [("accumulator", self.initial_accumulator_value)]

    def _step_op(self):
        return ops.adagrad_update, ("accumulator",), {"epsilon": self.epsilon}

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """Adadelta (keras.optimizers.Adadelta): rho 0.95, epsilon 1e-7, learning_rate 0.001."""

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.95,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adadelta",
        **kwargs,
    ):
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.rho = _fraction("Adadelta", "rho", rho)
        self.epsilon = _epsilon("Adadelta", epsilon)

    def _slots(self):
        return [("accumulated_grad", 0.0), ("accumulated_delta_var", 0.0)]

    def _step_op(self):
        return (
            ops.adadelta_update,
            ("accumulated_grad", "accumulated_delta_var"),
            {"rho": self.rho, "epsilon": self.epsilon},
        )

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop (keras.optimizers.RMSprop), with plain momentum and the centered variant."""

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="rmsprop",
        **kwargs,
    ):
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.rho = _fraction("RMSprop", "rho", rho)
        self.momentum = _fraction("RMSprop", "momentum", momentum)
        self.epsilon = _epsilon("RMSprop", epsilon)
        self.centered = as_bool("RMSprop", "centered", centered)

    def _slots(self):
        return (
            [("velocity", 0.0)]
            + ([("momentum", 0.0)] if self.momentum > 0 else [])
            + ([("average_gradient", 0.0)] if self.centered else [])
        )

    def _step_op(self):
        options = {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}
        return ops.rmsprop_update, ("velocity", "momentum", "average_gradient"), options

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adam(Optimizer):
    """Adam (keras.optimizers.Adam), with the AMSGrad variant; epsilon is Keras's "epsilon hat"."""

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adam",
        **kwargs,
    ):
        super().__init__(
            learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        cls = type(self).__name__
        self.beta_1 = _fraction(cls, "beta_1", beta_1, hi_open=True)
        self.beta_2 = _fraction(cls, "beta_2", beta_2, hi_open=True)
        self.epsilon = _epsilon(cls, epsilon)
        self.amsgrad = as_bool(type(self).__name__, "amsgrad", amsgrad)

    def _slots(self):
        return [("momentum", 0.0), ("velocity", 0.0)] + ([("velocity_hat", 0.0)] if self.amsgrad else [])

    _counts_steps = True  # the bias correction's t

    def _step_op(self):
        options = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad}
        return ops.adam_update, ("momentum", "velocity", "velocity_hat"), options

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (keras.optimizers.AdamW): weight_decay defaults to 0.004."""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adamw",
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("AdamW: `weight_decay` must be a float, got None.")
        super().__init__(
            learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
