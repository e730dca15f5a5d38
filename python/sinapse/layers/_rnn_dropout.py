"""Keras's ``dropout`` / ``recurrent_dropout`` for SimpleRNN, LSTM and GRU: the masks.

Keras 3 (layers/rnn/dropout_rnn_cell.py) draws one mask per sequence, shape (batch,
features) for the inputs and (batch, units) for the state, in training only, and reuses it at
every step. How many: SimpleRNN one of each; LSTM and GRU one input mask shared by the gates
(implementation=2), or one per gate block of each kind (4 or 3) when ``implementation=1``,
which ``recurrent_dropout > 0`` forces (keras/src/layers/rnn/lstm.py, gru.py). The masks
are the multipliers themselves (0 or 1 / (1 - rate), ``ops.dropout`` on ones), handed to the
sequence ops, which apply them inside the time loop (docs/kernels/rnn.md).

The random stream is the Dropout layer's (layers/core.py): a Philox key (``seed``, else drawn
from ``sinapse.utils.global_rng()`` at build) and a counter offset that each training call
advances, both the layer's ``get_rng_state()`` so checkpoints resume the same masks. Mask
element i of the global batch uses lane i % 4 of Philox block offset + i // 4; a distributed
rank (``current_shard``) draws only its rows' blocks, so N processes drop what one would.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops, utils
from ..distributed.strategy import current_shard
from ._limits import size

_MAX_SEED = 2**63 - 1  # as Dropout's: seeds are uint64 < 2**63
_MAX_OFFSET = 2**63


def _rate(cls: str, arg: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{cls}: `{arg}` must be a number in [0, 1], got {value!r}")
    return min(1.0, max(0.0, float(value)))  # Keras clips it the same way


class RecurrentDropout:
    """Mixin of the recurrent layers: ``dropout``, ``recurrent_dropout``, ``seed`` and the masks."""

    _gates: int
    units: int

    def _init_dropout(self, dropout, recurrent_dropout, seed, implementation) -> None:
        cls = type(self).__name__
        self.dropout = _rate(cls, "dropout", dropout)
        self.recurrent_dropout = _rate(cls, "recurrent_dropout", recurrent_dropout)
        self.seed = None if seed is None else size(cls, "seed", seed, lo=0, hi=_MAX_SEED)
        # Keras: recurrent dropout forces implementation=1, whose cells mask each gate block apart.
        self.implementation = 1 if self.recurrent_dropout else implementation
        self._philox_seed: int | None = None
        self._offset = 0

    def _dropout_active(self) -> tuple[bool, bool]:
        """Whether each mask applies in training (Keras: ``0 < rate < 1``)."""
        return 0 < self.dropout < 1, 0 < self.recurrent_dropout < 1

    def _build_dropout(self) -> None:
        if any(self._dropout_active()):  # no draw from the global generator otherwise
            self._philox_seed = self.seed if self.seed is not None else int(utils.global_rng().integers(0, 2**63))
            self._offset = 0

    def _dropout_masks(self, xp, n: int, d: int) -> tuple:
        """(dropout_mask, recurrent_dropout_mask) for a training call on n sequences of d
        features: (n, d) or (n, gates, d), and (n, gates, units); None for an inactive one."""
        use_in, use_rec = self._dropout_active()
        gates = self._gates
        in_blocks = gates if self.implementation == 1 and gates > 1 else 1
        dm = self._draw(xp, n, in_blocks * d, self.dropout) if use_in else None
        rdm = self._draw(xp, n, gates * self.units, self.recurrent_dropout) if use_rec else None
        if dm is not None and in_blocks > 1:
            dm = dm.reshape(n, in_blocks, d)
        return dm, (None if rdm is None else rdm.reshape(n, gates, self.units))

    def _draw(self, xp, n: int, cols: int, rate: float):
        """An (n, cols) mask from the next Philox blocks (this rank's rows of the global batch)."""
        first, total = 0, n * cols
        shard = current_shard()
        if shard is not None and n:
            first, total = shard.start * cols, shard.total * cols
        offset, lane = self._offset + first // 4, first % 4
        step = math.ceil(total / 4)
        if self._offset + step > _MAX_OFFSET:  # wrapping would repeat earlier masks
            raise ValueError(
                f"{type(self).__name__}: the dropout Philox counter offset {self._offset} + {step} passes "
                f"{_MAX_OFFSET} (2**63): restore a smaller offset with set_rng_state, or rebuild the layer"
            )
        self._offset += step
        ones = xp.zeros((n * cols + lane,), np.float32)  # a first element on lane `lane` of its block
        ones[lane:] = 1
        ops.dropout(ones, rate, self._philox_seed, offset, out=ones)
        return ones[lane:].reshape(n, cols)

    def get_rng_state(self) -> dict:
        """{"seed", "offset"} of the dropout masks (uint64 scalars); {} without dropout."""
        if self._philox_seed is None:
            return {}
        return {"seed": np.array(self._philox_seed, np.uint64), "offset": np.array(self._offset, np.uint64)}

    def set_rng_state(self, state: dict) -> None:
        """Restore ``get_rng_state()`` (after build); ValueError for other names, dtypes or shapes."""
        cls = type(self).__name__
        if set(state) != {"seed", "offset"}:
            raise ValueError(f"{cls}: set_rng_state needs exactly 'seed' and 'offset', got {sorted(state)}")
        for key, value in state.items():
            value = np.asarray(value)
            if value.dtype != np.uint64 or value.shape != ():
                raise ValueError(
                    f"{cls}: set_rng_state: {key!r} must be a uint64 scalar, got {value.dtype} {value.shape}"
                )
        if int(state["seed"]) > _MAX_SEED or int(state["offset"]) > _MAX_OFFSET:
            raise ValueError(f"{cls}: set_rng_state: seed must be < 2**63 and offset <= 2**63, got {state}")
        self._philox_seed, self._offset = int(state["seed"]), int(state["offset"])
