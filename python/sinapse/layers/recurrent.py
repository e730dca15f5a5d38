"""SimpleRNN, LSTM and GRU: Keras's recurrent layers over ``ops.simple_rnn`` / ``ops.lstm`` / ``ops.gru``.

Inputs are batch-first (N, T, D); the whole time loop (forward and backpropagation through
time) is one op call, in C++ or CUDA. Weights are Keras's, in Keras's order and layout, so
``set_weights(keras_layer.get_weights())`` works unchanged:

==========  =====================  ======================  ==================================
layer       kernel                 recurrent_kernel        bias
==========  =====================  ======================  ==================================
SimpleRNN   (D, units)             (units, units)          (units,)
LSTM        (D, 4 units) i,f,c,o   (units, 4 units)        (4 units,)
GRU         (D, 3 units) z,r,h     (units, 3 units)        (2, 3 units) reset_after=True
                                                           (3 units,) reset_after=False
==========  =====================  ======================  ==================================

A mask from the layer below (``Embedding(mask_zero=True)``, ``Masking``) is honoured: a
masked step keeps the state and repeats the previous output (zeros before the first real
step). ``return_state=True`` works when the layer is called directly (``layer(x)`` returns
``[y, h]``, or ``[y, h, c]`` for the LSTM, and accepts ``initial_state=``); a Sequential
model, like Keras's, cannot pass several tensors on and refuses it.
"""

from __future__ import annotations

import numpy as np

from .. import constraints, devices, initializers, ops, regularizers
from ..ops._checks import MAX_EXTENT, as_bool
from ..ops.rnn import RnnCache
from . import _activity
from ._limits import size
from ._rnn_dropout import RecurrentDropout
from ._rnn_state import RecurrentState
from .base import Layer
from .symbolic import call_symbolic, is_symbolic


class _Recurrent(RecurrentDropout, RecurrentState, Layer):
    """What SimpleRNN, LSTM and GRU share: arguments, weights, masks, states, forward/backward."""

    supports_masking = True
    _gates = 1  # blocks of `units` columns in the kernels
    _n_states = 1  # h (and c for the LSTM)
    _activations: tuple = ("tanh",)  # what the kernels implement

    def __init__(
        self,
        units,
        activation,
        recurrent_activation,
        use_bias,
        kernel_initializer,
        recurrent_initializer,
        bias_initializer,
        kernel_regularizer,
        recurrent_regularizer,
        bias_regularizer,
        activity_regularizer,
        kernel_constraint,
        recurrent_constraint,
        bias_constraint,
        dropout,
        recurrent_dropout,
        return_sequences,
        return_state,
        go_backwards,
        stateful,
        unroll,
        time_major,
        **kwargs,
    ):
        # `implementation` (1 or 2: how Keras splits its matrix products) only decides how many
        # input dropout masks the LSTM/GRU draw (_rnn_dropout.py); zero_output_for_mask=False
        # is the default rule. `seed`: the dropout masks' Philox key (Keras's `seed`).
        implementation = kwargs.pop("implementation", 2)
        zero_output_for_mask = kwargs.pop("zero_output_for_mask", False)
        seed = kwargs.pop("seed", None)
        super().__init__(**kwargs)
        if implementation not in (1, 2):
            raise self.arg_error(f"`implementation` must be 1 or 2, got {implementation!r}")
        if zero_output_for_mask:
            raise NotImplementedError(
                f"{type(self).__name__}: `zero_output_for_mask` must be False (True is not "
                f"supported); a masked step repeats the previous output (Keras's default)"
            )
        cls = type(self).__name__
        # The kernels are (D, gates * units): bound units so that product stays a valid extent.
        self.units = size(cls, "units", units, hi=MAX_EXTENT // self._gates)
        for arg, value in (
            ("use_bias", use_bias),
            ("return_sequences", return_sequences),
            ("return_state", return_state),
            ("go_backwards", go_backwards),
            ("stateful", stateful),
            ("unroll", unroll),
            ("time_major", time_major),
        ):
            as_bool(cls, arg, value)
        self.activity_regularizer = _activity.get(cls, activity_regularizer)
        self.activation = self._check_choice("activation", activation, self._activations)
        self.recurrent_activation = (
            None
            if recurrent_activation is None
            else self._check_choice("recurrent_activation", recurrent_activation, ("sigmoid",))
        )
        self._init_dropout(dropout, recurrent_dropout, seed, implementation)
        self._init_state(stateful, kwargs)
        if time_major:
            raise self.arg_error(
                "`time_major` must be False (True is not supported): sequences are batch-first (N, T, D)"
            )
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.for_argument(type(self).__name__, "kernel_constraint", kernel_constraint)
        self.recurrent_constraint = constraints.for_argument(
            type(self).__name__, "recurrent_constraint", recurrent_constraint
        )
        self.bias_constraint = constraints.for_argument(type(self).__name__, "bias_constraint", bias_constraint)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.unroll = bool(unroll)  # accepted for Keras compatibility: the loop runs in C++ either way
        self._cache: RnnCache | None = None  # the forward's, for backward
        self.initial_state_grads: list | None = None

    def _check_choice(self, arg, value, allowed):
        key = value.lower() if isinstance(value, str) else value
        if key not in allowed:
            raise self.arg_error(
                f"`{arg}` must be {' or '.join(map(repr, allowed))} (what the "
                f"{type(self).__name__} kernels implement), got {value!r}"
            )
        return key

    # ------------------------------------------------------------------ weights
    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise self.error(
                f"expects sequences of shape (batch, time, features) with a known number of features, "
                f"got inputs of shape {(None, *input_shape)}"
            )
        gh = self._gates * self.units
        self.kernel = self.add_weight(
            "kernel",
            (input_shape[-1], gh),
            self.kernel_initializer,
            self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (self.units, gh),
            self.recurrent_initializer,
            self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = (
            self.add_weight(
                "bias",
                self._bias_shape(),
                self._bias_initializer(),
                self.bias_regularizer,
                constraint=self.bias_constraint,
            )
            if self.use_bias
            else None
        )
        self._build_dropout()

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def compute_mask(self, x, mask):
        return mask if self.return_sequences else None

    # ------------------------------------------------------------------ the op calls (per cell)
    def _op(self, x, bias, states, options):
        """Run the sequence op: returns ``(y, [final states], cache)``."""
        raise NotImplementedError

    def _op_backward(self, cache, dy, dstates):
        """Run the matching backward: returns ``(dx, dkernel, drecurrent_kernel, dbias, [dinitial states])``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ forward / backward
    def _run(self, x, mask, initial_state, training=False):
        xp = self.device.xp
        if mask is not None:
            mask = xp.ascontiguousarray(mask, dtype=bool)
            if mask.shape != tuple(x.shape[:2]):
                raise self.error(
                    f"the mask has shape {tuple(mask.shape)} but the inputs have shape "
                    f"{tuple(x.shape)}: it must be (batch, time) = {tuple(x.shape[:2])}"
                )
        options = {"mask": mask, "go_backwards": self.go_backwards, "return_sequences": self.return_sequences}
        if training and any(self._dropout_active()):  # Keras's per-sequence masks, training only
            options["dropout_mask"], options["recurrent_dropout_mask"] = self._dropout_masks(xp, *x.shape[::2])
        carried = self.stateful and initial_state is None
        if carried:  # stateful=True: continue from the previous call's final states (row by row)
            initial_state = self._carried_states(len(x))
        y, states, self._cache = self._op(
            xp.ascontiguousarray(x), None if self.bias is None else self.bias.value, initial_state, options
        )
        if self.stateful:
            if not carried:
                self._carried_states(len(x))
            self._keep_states(states)
        return y, states

    def forward(self, x, training=False, mask=None):
        if self.return_state:
            raise self.error(
                "return_state=True gives several outputs ([y, h] or [y, h, c]), which a Sequential "
                "model cannot pass to its next layer (Keras's Sequential cannot either); call the layer "
                "directly, layer(x) -> [y, *states], or use return_state=False"
            )
        return self._run(x, mask, None, training)[0]

    def backward(self, dy, need_dx=True, dstates=None):
        """As every layer's; ``dstates`` (direct calls with return_state): gradients of the final
        states, [dh] or [dh, dc]. The initial states' gradients land in ``initial_state_grads``."""
        cache = self._cache
        if cache is None:
            raise self.error("backward called before forward")
        xp = self.device.xp
        if dstates is not None:
            dstates = self._states_list(dstates, "dstates", int(cache.shape[0]))
        if dy is not None:
            dy = xp.ascontiguousarray(dy, dtype=np.float32)
        dx, dk, drk, db, dinit = self._op_backward(cache, dy, dstates)
        self.initial_state_grads = dinit
        if self.trainable:
            self.kernel.grad, self.recurrent_kernel.grad = dk, drk
            if self.bias is not None:
                self.bias.grad = db
            self.add_regularizer_gradients()
        return dx if need_dx else None

    def _states_list(self, states, what, n):
        """A list of ``_n_states`` float32 (n, units) arrays on the layer's device."""
        if not isinstance(states, (list, tuple)):
            states = [states]
        if len(states) != self._n_states:
            names = "[h, c]" if self._n_states == 2 else "[h]"
            raise self.error(f"{what} must hold {self._n_states} array(s) {names}, got {len(states)}")
        out = []
        for s in states:
            s = self.device.xp.ascontiguousarray(self.device.asarray(s))
            if tuple(s.shape) != (n, self.units):
                raise self.error(
                    f"{what}: each state must have shape (batch, units) = {(n, self.units)}, got {tuple(s.shape)}"
                )
            out.append(s)
        return out

    def __call__(self, x, training=False, mask=None, initial_state=None):
        """Keras's ``layer(x)`` on a NumPy batch: y, or ``[y, *final states]`` with return_state.

        ``mask`` (N, T) booleans, ``initial_state`` [h0] / [h0, c0] (each (N, units)); returns copies.
        ``training=True`` applies ``dropout`` / ``recurrent_dropout`` (fresh masks each call).
        On a symbolic tensor (functional API) it records a node; ``initial_state`` and
        ``return_state`` are not supported there (a graph node has one output), a TypeError.
        """
        if is_symbolic(x):
            if initial_state is not None or mask is not None or self.return_state:
                raise TypeError(
                    f"{type(self).__name__} layer {self.name!r}: in a functional model, initial_state=, mask= and "
                    f"return_state=True are not supported (a graph node has one input and one output)"
                )
            return call_symbolic(self, x, f"{type(self).__name__}.__call__")
        x = self.device.asarray(x)
        if x.ndim != 3:
            raise self.error(f"expects a batch of sequences (batch, time, features), got shape {tuple(x.shape)}")
        with self._direct_call_lock():  # one direct call at a time (Layer.__call__)
            self.ensure_built(tuple(x.shape[1:]))
            with self.device.scope():
                if initial_state is not None:
                    initial_state = self._states_list(initial_state, "initial_state", x.shape[0])
                if mask is not None:
                    mask = self.device.asarray(mask, dtype=bool)
                y, states = self._run(x, mask, initial_state, training)
            outputs = [np.array(devices.to_numpy(a), copy=True) for a in (y, *states)]
        return outputs if self.return_state else outputs[0]

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = {**super().get_config(), "units": self.units, "activation": self.activation}
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = self.recurrent_activation
        return {
            **config,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
        }


def _initial(states, i):
    return None if states is None else states[i]


class SimpleRNN(_Recurrent):
    """Keras's SimpleRNN: ``h_t = activation(x_t kernel + h_{t-1} recurrent_kernel + bias)``; tanh or relu."""

    _activations = ("tanh", "relu")

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        time_major=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            units,
            activation,
            None,
            use_bias,
            kernel_initializer,
            recurrent_initializer,
            bias_initializer,
            kernel_regularizer,
            recurrent_regularizer,
            bias_regularizer,
            activity_regularizer,
            kernel_constraint,
            recurrent_constraint,
            bias_constraint,
            dropout,
            recurrent_dropout,
            return_sequences,
            return_state,
            go_backwards,
            stateful,
            unroll,
            time_major,
            seed=seed,
            **kwargs,
        )

    def _op(self, x, bias, states, options):
        y, h, cache = ops.simple_rnn(
            x,
            self.kernel.value,
            self.recurrent_kernel.value,
            bias,
            activation=self.activation,
            h0=_initial(states, 0),
            **options,
        )
        return y, [h], cache

    def _op_backward(self, cache, dy, dstates):
        dx, dk, drk, db, dh0 = ops.simple_rnn_backward(dy, cache, dh_T=_initial(dstates, 0))
        return dx, dk, drk, db, [dh0]


class LSTM(_Recurrent):
    """Keras's LSTM (gates i, f, c, o; sigmoid gates, tanh activations).

    ``unit_forget_bias=True`` (Keras's default) starts the forget-gate block of the bias at 1.
    """

    _gates, _n_states = 4, 2

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        time_major=False,
        unroll=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            units,
            activation,
            recurrent_activation,
            use_bias,
            kernel_initializer,
            recurrent_initializer,
            bias_initializer,
            kernel_regularizer,
            recurrent_regularizer,
            bias_regularizer,
            activity_regularizer,
            kernel_constraint,
            recurrent_constraint,
            bias_constraint,
            dropout,
            recurrent_dropout,
            return_sequences,
            return_state,
            go_backwards,
            stateful,
            unroll,
            time_major,
            seed=seed,
            **kwargs,
        )
        self.unit_forget_bias = as_bool("LSTM", "unit_forget_bias", unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, h = self.bias_initializer, self.units

        def forget_gate_ones(shape, dtype="float32"):  # Keras: [init(h), ones(h), init(2h)]
            return np.concatenate([init((h,)), np.ones((h,), np.float32), init((2 * h,))]).astype(dtype)

        return forget_gate_ones

    def _op(self, x, bias, states, options):
        y, h, c, cache = ops.lstm(
            x,
            self.kernel.value,
            self.recurrent_kernel.value,
            bias,
            h0=_initial(states, 0),
            c0=_initial(states, 1),
            **options,
        )
        return y, [h, c], cache

    def _op_backward(self, cache, dy, dstates):
        dx, dk, drk, db, dh0, dc0 = ops.lstm_backward(dy, cache, dh_T=_initial(dstates, 0), dc_T=_initial(dstates, 1))
        return dx, dk, drk, db, [dh0, dc0]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Keras's GRU (gates z, r, h). ``reset_after=True`` (Keras 2's default, cuDNN- and
    PyTorch-compatible) has a (2, 3 units) bias: the input bias, then the recurrent one."""

    _gates = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        time_major=False,
        reset_after=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            units,
            activation,
            recurrent_activation,
            use_bias,
            kernel_initializer,
            recurrent_initializer,
            bias_initializer,
            kernel_regularizer,
            recurrent_regularizer,
            bias_regularizer,
            activity_regularizer,
            kernel_constraint,
            recurrent_constraint,
            bias_constraint,
            dropout,
            recurrent_dropout,
            return_sequences,
            return_state,
            go_backwards,
            stateful,
            unroll,
            time_major,
            seed=seed,
            **kwargs,
        )
        self.reset_after = as_bool("GRU", "reset_after", reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _op(self, x, bias, states, options):
        y, h, cache = ops.gru(
            x,
            self.kernel.value,
            self.recurrent_kernel.value,
            bias,
            reset_after=self.reset_after,
            h0=_initial(states, 0),
            **options,
        )
        return y, [h], cache

    def _op_backward(self, cache, dy, dstates):
        dx, dk, drk, db, dh0 = ops.gru_backward(dy, cache, dh_T=_initial(dstates, 0))
        return dx, dk, drk, db, [dh0]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}
