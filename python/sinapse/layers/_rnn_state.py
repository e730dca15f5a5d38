"""``stateful=True`` for SimpleRNN, LSTM and GRU, as Keras 3 (keras/src/layers/rnn/rnn.py).

A stateful layer keeps the final states of each call and starts the next call from them, row by
row: sample i of batch k+1 continues sample i of batch k (so batches must keep one size and
their order: ``fit(..., shuffle=False)`` with a ``batch_size`` that divides the data). Every
call updates the states, in training and inference alike (Keras 3 assigns them in ``call``
whatever ``training`` is), and an explicit ``initial_state=`` in a direct call is used instead
(the states are then updated from that call's result, as Keras). ``reset_states()`` (Keras's
alias of ``reset_state()``) sets them to zeros.

The batch size is the one declared on the layer (``batch_size=`` / ``batch_input_shape=``), else
the first batch's; a batch of another size is refused, as Keras refuses it. The states are not
weights: Keras 3 creates them outside its variable tracking (``no_automatic_dependency_tracking``),
so they are not in ``get_weights()`` or in saved files; a loaded model starts from zeros.
"""

from __future__ import annotations

from typing import Any

from ..distributed.strategy import current_shard
from ._limits import size


class RecurrentState:
    """Mixin of the recurrent layers: the states a ``stateful=True`` layer carries across calls."""

    units: int
    _n_states: int
    name: str
    device: Any  # the Layer's

    def _init_state(self, stateful: bool, kwargs: dict) -> None:
        self.stateful = bool(stateful)
        batch_shape = kwargs.get("batch_input_shape") or kwargs.get("batch_shape")
        declared = kwargs.get("batch_size", batch_shape[0] if batch_shape else None)
        cls = type(self).__name__
        self._state_batch = None if declared is None else size(cls, "batch_size", declared)
        self.states: list | None = None  # the carried (batch, units) states: [h] or [h, c]

    def reset_states(self) -> None:
        """Zero the carried states (``stateful=True``); Keras's ``reset_state`` alias."""
        if self.states is not None:
            for s in self.states:
                s[...] = 0

    def reset_state(self) -> None:
        """Keras 3's name of :meth:`reset_states`."""
        self.reset_states()

    def _carried_states(self, n: int) -> list:
        """The states this call starts from (created as zeros on the first call)."""
        if current_shard() is not None:  # each rank would carry only its rows' states
            raise NotImplementedError(
                f"{type(self).__name__} layer {self.name!r}: stateful=True is not supported in distributed "
                f"training (each process would keep only its own rows' states); train it in one process"
            )
        want = n if self._state_batch is None else self._state_batch
        if n != want or (self.states is not None and len(self.states[0]) != n):
            have = want if self.states is None else len(self.states[0])
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: stateful=True needs every batch to have the "
                f"same size (row i continues row i of the previous batch): expected batch size {have}, got {n}. "
                f"Give fit/evaluate/predict batch_size={have} with a sample count it divides (and shuffle=False)"
            )
        if self.states is None:
            self.states = [self.device.zeros((n, self.units)) for _ in range(self._n_states)]
        else:  # on the layer's device (a no-op unless the layer moved)
            self.states = [self.device.asarray(s) for s in self.states]
        return self.states

    def _keep_states(self, final: list) -> None:
        for kept, new in zip(self.states or [], final):
            kept[...] = new
