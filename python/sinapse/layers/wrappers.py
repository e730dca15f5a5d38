"""Bidirectional and TimeDistributed: Keras's layer wrappers (keras/src/layers/rnn/bidirectional.py,
keras/src/layers/rnn/time_distributed.py, Keras 3.15.1).

A wrapper owns other layers: its ``weights`` are theirs (the same ``Weight`` objects, in Keras's
order: the forward layer's, then the backward layer's), ``trainable`` and ``to_device`` reach
them, and ``get_config`` holds their configs under ``layer`` / ``backward_layer`` as Keras 3
writes them, so ``.keras`` files load both ways (models/keras_config.py and keras_files.py ask
``nested_layers()`` for the Keras attribute names: weights live in
``layers/bidirectional/forward_layer/cell/vars``, ``layers/time_distributed/layer/vars``).

Every computation is a ``sinapse.ops`` call: each direction is one sequence kernel call
(``ops.lstm`` / ``gru`` / ``simple_rnn``, the backward one with ``go_backwards=True``), the
merge is ``ops.concatenate`` or ``ops.merge``; TimeDistributed folds the time axis into the
batch axis (a reshape, no copy) and runs its layer once.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .. import devices, ops
from ..ops._checks import as_bool
from .base import Layer, deserialize, serialize
from .recurrent import _Recurrent
from .symbolic import call_symbolic, is_symbolic

# Keras's merge_mode -> the ops.merge mode ("concat" is ops.concatenate; None returns both).
_MERGE_MODES = {"concat": None, "sum": "add", "ave": "average", "mul": "multiply", None: None}


class _Wrapper(Layer):
    """What the wrappers share: the wrapped layers' weights, trainable flag, device and config."""

    def nested_layers(self) -> list[tuple[str, str, Layer]]:
        """``(Keras attribute, config key, layer)`` for each wrapped layer, in weight order."""
        raise NotImplementedError

    def _share_trainable(self, given: bool) -> None:
        """``trainable=`` given to the wrapper sets its layers' flags; otherwise the wrapper takes
        its (first) layer's, so wrapping a frozen layer keeps it frozen."""
        layers = [inner for _, _, inner in self.nested_layers()]
        if not given:
            self._trainable = layers[0].trainable
        for inner in layers:
            inner._trainable = self._trainable

    @contextlib.contextmanager
    def _building_inner(self):
        """While the wrapped layers build: if a model file hooked this layer's ``add_weight``
        (models/_state.py: weights taken from the file, sizes bounded), their weights go through
        that hook too, in weight order, and are then handed to the layer that made them."""
        hooked = self.__dict__.get("add_weight")
        inners = [inner for _, _, inner in self.nested_layers()]
        if hooked is not None:
            for inner in inners:
                inner.__dict__["add_weight"] = self._routed(hooked, inner)  # shadows the method, as the hook
        try:
            yield
        finally:
            for inner in inners:
                inner.__dict__.pop("add_weight", None)
        self._weights = [w for inner in inners for w in inner._weights]

    def _routed(self, hooked, inner):
        def add_weight(name, shape, *args, **kwargs):
            w = hooked(name, shape, *args, **kwargs)  # appended to this layer's list by the hook
            self._weights = [v for v in self._weights if v is not w]
            w.layer = inner
            inner._weights.append(w)
            return w

        return add_weight

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        # Keras 3's Layer.trainable setter sets every sub-layer's flag too.
        Layer.trainable.fset(self, value)  # type: ignore[attr-defined]
        for _, _, inner in self.nested_layers():
            inner.trainable = self._trainable

    def _move_to(self, device) -> None:
        for _, _, inner in self.nested_layers():
            inner.to_device(device)
        self._buffers.clear()
        self.device = device
        self._on_device_change()

    def get_config(self) -> dict:
        config = super().get_config()
        for _, key, inner in self.nested_layers():
            config[key] = serialize(inner)
        return config

    @classmethod
    def from_config(cls, config: dict):
        """The wrapped layers' configs (``layer``, ``backward_layer``) become layers first."""
        where = f"{cls.__name__}.from_config"
        if not isinstance(config, dict):
            raise TypeError(f"{where}: `config` must be a dict, got {config!r}")
        if "layer" not in config:
            raise TypeError(f"{where}: missing the required argument `layer`")
        config = dict(config)
        for key in ("layer", "backward_layer"):
            if config.get(key) is not None:
                config[key] = _inner(where, key, config[key])
        return super().from_config(config)


def _inner(where: str, arg: str, entry) -> Layer:
    """A wrapped layer from a config entry (a sinapse or Keras 3 ``{"class_name", "config"}``)."""
    if isinstance(entry, Layer):
        return entry
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise TypeError(f"{where}: `{arg}` must be a layer config {{'class_name': ..., 'config': ...}}, got {entry!r}")
    entry = {"class_name": entry["class_name"], "config": dict(entry.get("config") or {})}
    # Keras's Bidirectional writes zero_output_for_mask = return_sequences into its layers' configs:
    # it forces that value itself, as Bidirectional._merge does, so it is no argument of the layer.
    forced = entry["config"].get("zero_output_for_mask") == entry["config"].get("return_sequences", False)
    if where.startswith("Bidirectional") and forced:
        entry["config"].pop("zero_output_for_mask", None)
    layer = deserialize(entry)
    if not isinstance(layer, Layer):
        raise TypeError(f"{where}: `{arg}` must be a layer, got a {type(layer).__name__}")
    return layer


def _renamed_copy(layer: _Recurrent, name: str, **changes) -> _Recurrent:
    """A fresh copy of ``layer`` (same config, new weights) named ``name`` (Keras re-creates the
    wrapped layer from its config, so the wrapper never shares its state)."""
    entry = serialize(layer)
    entry["config"] = {**entry["config"], "name": name, **changes}
    entry["config"].pop("batch_input_shape", None)
    return deserialize(entry)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


class Bidirectional(_Wrapper):
    """Keras's Bidirectional: a recurrent layer run forwards and backwards over the sequence,
    the two outputs merged (keras.layers.Bidirectional, Keras 3.15.1; Schuster & Paliwal 1997).

    ``layer``: a SimpleRNN, LSTM or GRU. The forward layer is a fresh copy named
    ``forward_<name>``; the backward one a copy with ``go_backwards=True`` named
    ``backward_<name>``, or ``backward_layer`` when given (it must differ from ``layer`` in
    go_backwards and agree in return_sequences / return_state). Weights: the forward layer's,
    then the backward layer's (``weights=`` sets them at build, as Keras's).

    Input (N, T, D). Output: the forward output ``y_f`` and the backward output ``y_b``
    ((N, units) each, or (N, T, units) with return_sequences, ``y_b`` then flipped back to
    forward time order) merged by ``merge_mode``: "concat" (N, ..., 2 units), "sum", "ave",
    "mul" (N, ..., units), or None: the list [y_f, y_b] — only in direct calls ``layer(x)``,
    as are ``return_state=True`` (``[y, *forward states, *backward states]``) and
    ``initial_state`` (first half to the forward layer); a model node carries one array, so a
    model refuses both with a ValueError.

    Masks (N, T): both directions skip the masked steps; with return_sequences the output of a
    masked step is 0 (Keras forces ``zero_output_for_mask`` in its wrapped layers).
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        where = "Bidirectional"
        if not isinstance(layer, _Recurrent):
            raise TypeError(
                f"{where}: `layer` must be a SimpleRNN, LSTM or GRU layer instance, got {layer!r} "
                f"({type(layer).__name__})"
            )
        if backward_layer is not None and not isinstance(backward_layer, _Recurrent):
            raise TypeError(
                f"{where}: `backward_layer` must be a SimpleRNN, LSTM or GRU layer instance or None, got "
                f"{backward_layer!r} ({type(backward_layer).__name__})"
            )
        if not (merge_mode is None or isinstance(merge_mode, str)) or merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"{where}: `merge_mode` must be one of 'sum', 'mul', 'ave', 'concat', None, got {merge_mode!r}"
            )
        self.merge_mode = merge_mode
        self.forward_layer = _renamed_copy(layer, f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _renamed_copy(layer, f"backward_{_strip(layer.name, 'backward_')}", go_backwards=True)
        self.backward_layer = backward_layer
        self._check_pair()
        if weights is not None and not isinstance(weights, (list, tuple)):
            raise TypeError(f"{where}: `weights` must be None or a list of arrays, got {type(weights).__name__}")
        self._initial_weights = list(weights) if weights else None
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self._share_trainable("trainable" in kwargs)

    def _check_pair(self) -> None:
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError(
                "Bidirectional: the forward layer and `backward_layer` must have different `go_backwards` "
                f"values, got forward_layer.go_backwards={f.go_backwards}, backward_layer.go_backwards={b.go_backwards}"
            )
        for attr in ("return_sequences", "return_state"):
            if getattr(f, attr) != getattr(b, attr):
                raise ValueError(
                    f"Bidirectional: the forward layer and `backward_layer` must have the same `{attr}`, got "
                    f"{getattr(f, attr)} (forward) and {getattr(b, attr)} (backward)"
                )

    def nested_layers(self):
        return [
            ("forward_layer", "layer", self.forward_layer),
            ("backward_layer", "backward_layer", self.backward_layer),
        ]

    # ------------------------------------------------------------------ shapes
    def build(self, input_shape):
        with self._building_inner():
            self.forward_layer.ensure_built(input_shape)
            self.backward_layer.ensure_built(input_shape)
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            if len(weights) != len(self._weights):
                raise self.error(
                    f"`weights` holds {len(weights)} arrays, the layer has {len(self._weights)} weights "
                    f"({', '.join(f'{w.name} {w.shape}' for w in self._weights)})"
                )
            n = len(self.forward_layer.weights)
            self.forward_layer._set_weights(weights[:n])
            self.backward_layer._set_weights(weights[n:])

    def compute_output_shape(self, input_shape):
        fwd = tuple(self.forward_layer.compute_output_shape(input_shape))
        bwd = tuple(self.backward_layer.compute_output_shape(input_shape))
        if self.merge_mode == "concat":
            return (*fwd[:-1], fwd[-1] + bwd[-1])
        if self.merge_mode is not None and fwd != bwd:
            raise self.error(
                f"merge_mode={self.merge_mode!r} needs both directions to have one output shape, got "
                f"{(None, *fwd)} (forward) and {(None, *bwd)} (backward); use merge_mode='concat'"
            )
        return fwd

    def compute_mask(self, x, mask):
        """Keras's: the input mask with return_sequences, else None."""
        return mask if self.return_sequences else None

    # ------------------------------------------------------------------ forward / backward
    def _merge(self, yf, yb, mask):
        """The merged output of the two directions' outputs (yb in processing order)."""
        xp = self.device.xp
        if self.return_sequences:  # Keras's ops.flip(y_rev, axis=1): back to forward time order
            rev = self.buffer("yb", tuple(yb.shape))
            xp.copyto(rev, yb[:, ::-1])
            yb = rev
        self._yf, self._yb = yf, yb
        self._mask = None
        if self.return_sequences and mask is not None:
            self._mask = xp.ascontiguousarray(mask, dtype=bool)
        if self.merge_mode is None:  # direct calls only: each output zeroed at the masked steps
            if self._mask is not None:
                for y in (yf, yb):
                    ops.merge([y], "multiply", masks=[self._mask], out=y)
            return None
        mode = _MERGE_MODES[self.merge_mode]
        if mode is None:  # concat
            shape = (*yf.shape[:-1], int(yf.shape[-1]) + int(yb.shape[-1]))
            y = ops.concatenate([yf, yb], -1, out=self.buffer("y", shape))
        elif mode == "multiply" and self._mask is not None:  # a masked step: no input marks it -> 0
            return ops.merge([yf, yb], mode, masks=[self._mask, self._mask], out=self.buffer("y", tuple(yf.shape)))
        else:
            y = ops.merge([yf, yb], mode, out=self.buffer("y", tuple(yf.shape)))
        if self._mask is not None:  # Keras's zero_output_for_mask: 0 at a masked step (in place)
            ops.merge([y], "multiply", masks=[self._mask], out=y)
        return y

    def _refuse_several_outputs(self) -> None:
        if self.merge_mode is None or self.return_state:
            what = "merge_mode=None" if self.merge_mode is None else "return_state=True"
            raise self.error(
                f"{what} gives several outputs, which a model cannot pass to its next layer (a graph node "
                f"carries one array); call the layer directly, layer(x) -> a list, or use a merge_mode "
                f"('concat', 'sum', 'ave', 'mul') and return_state=False"
            )

    def forward(self, x, training=False, mask=None):
        self._refuse_several_outputs()
        yf = self.forward_layer.forward(x, training, mask)
        yb = self.backward_layer.forward(x, training, mask)
        return self._merge(yf, yb, mask)

    def _split_dy(self, dy):
        """dL/d(forward output), dL/d(backward output in forward time order)."""
        mode = _MERGE_MODES[self.merge_mode]
        yf, yb, mask = self._yf, self._yb, self._mask
        shapes = (tuple(yf.shape), tuple(yb.shape))
        if mask is not None and mode != "multiply":  # the zeroed steps get no gradient
            dy = ops.merge_backward(dy, [dy], "multiply", masks=[mask], out=[self.buffer("dy", tuple(dy.shape))])[0]
        outs = [self.buffer("dyf", shapes[0]), self.buffer("dyr", shapes[1])]
        if mode is None:
            return ops.concatenate_backward(dy, list(shapes), -1, out=outs)
        masks = [mask, mask] if mode == "multiply" and mask is not None else None
        return ops.merge_backward(dy, [yf, yb], mode, masks=masks, out=outs)

    def _backward_pair(self, dyf, dyr, need_dx, dstates=(None, None)):
        xp = self.device.xp
        dyb = dyr
        if self.return_sequences and dyr is not None:  # back to the backward layer's processing order
            dyb = self.buffer("dyb", tuple(dyr.shape))
            xp.copyto(dyb, dyr[:, ::-1])
        dxf = self.forward_layer.backward(dyf, need_dx, dstates=dstates[0])
        dxb = self.backward_layer.backward(dyb, need_dx, dstates=dstates[1])
        if not need_dx:
            return None
        return ops.merge([dxf, dxb], "add", out=dxf)  # x feeds both directions

    def backward(self, dy, need_dx=True):
        dyf, dyr = self._split_dy(dy)
        return self._backward_pair(dyf, dyr, need_dx)

    # ------------------------------------------------------------------ direct calls
    def __call__(self, x, training=False, mask=None, initial_state=None):
        """Keras's ``layer(x)`` on a NumPy batch (N, T, D): the merged output, or a list with
        merge_mode=None ([y_f, y_b]) and return_state ([..., *forward states, *backward states]).

        ``mask`` (N, T) booleans; ``initial_state``: the forward layer's states then the backward
        layer's ([h_f, h_b], or [h_f, c_f, h_b, c_b] for LSTMs), each (N, units). Returns copies."""
        where = "Bidirectional.__call__"
        if is_symbolic(x):
            if initial_state is not None or mask is not None:
                raise TypeError(f"{where}: in a functional model, initial_state= and mask= are not supported")
            self._refuse_several_outputs()
            return call_symbolic(self, x, where)
        as_bool(where, "training", training)
        x = self.device.asarray(x)
        if x.ndim != 3:
            raise self.error(f"expects a batch of sequences (batch, time, features), got shape {tuple(x.shape)}")
        with self._direct_call_lock():
            self.ensure_built(tuple(x.shape[1:]))
            with self.device.scope():
                return self._direct(x, mask, initial_state)

    def _direct(self, x, mask, initial_state):
        f, b = self.forward_layer, self.backward_layer
        init_f = init_b = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            k = f._n_states
            if len(states) != k + b._n_states:
                raise self.error(
                    f"initial_state must hold {k + b._n_states} arrays (the forward layer's states, then the "
                    f"backward layer's), got {len(states)}"
                )
            init_f = f._states_list(states[:k], "initial_state", x.shape[0])
            init_b = b._states_list(states[k:], "initial_state", x.shape[0])
        if mask is not None:
            mask = self.device.asarray(mask, dtype=bool)
        yf, sf = f._run(x, mask, init_f)
        yb, sb = b._run(x, mask, init_b)
        y = self._merge(yf, yb, mask)
        outputs: list[Any] = [self._yf, self._yb] if y is None else [y]
        if self.return_state:
            outputs += [*sf, *sb]
        copies = [np.array(devices.to_numpy(a), copy=True) for a in outputs]
        return copies[0] if len(copies) == 1 else copies

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        return {**super().get_config(), "merge_mode": self.merge_mode}


class TimeDistributed(_Wrapper):
    """Keras's TimeDistributed: one layer applied to every time step (keras.layers.TimeDistributed).

    Input (N, T, ...): the time axis is folded into the batch axis — a reshape to (N*T, ...), no
    copy — the wrapped layer runs once on it, and its output (N*T, ...) is reshaped to
    (N, T, ...). Its weights are the wrapped layer's. A mask (N, T, ...) goes to the wrapped
    layer as (N*T, ...) and passes through unchanged (Keras passes each step's slice).
    Raises ValueError for inputs of fewer than 3 dimensions (batch axis included).
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise TypeError(
                f"TimeDistributed: `layer` must be a Layer instance, got {layer!r} ({type(layer).__name__})"
            )
        if layer.multi_input:
            raise ValueError(f"TimeDistributed: `layer` must take one input, got the multi-input layer {layer.name!r}")
        self.layer = layer
        self._share_trainable("trainable" in kwargs)

    def nested_layers(self):
        return [("layer", "layer", self.layer)]

    @property
    def output_aliases_input(self) -> bool:  # type: ignore[override]
        return self.layer.output_aliases_input  # the reshaped output is then a view of the input

    def _child_shape(self, input_shape) -> tuple:
        if len(input_shape) < 2:
            raise self.error(
                f"expects inputs with at least 3 dimensions (batch, time, ...), got inputs of shape {(None, *input_shape)}"
            )
        return tuple(input_shape[1:])

    def build(self, input_shape):
        with self._building_inner():
            self.layer.ensure_built(self._child_shape(input_shape))

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (input_shape[0], *child)

    def forward(self, x, training=False, mask=None):
        n, t = int(x.shape[0]), int(x.shape[1])
        x = self.device.xp.ascontiguousarray(x)
        inner_mask = None
        if mask is not None:
            if tuple(mask.shape[:2]) != (n, t):
                raise self.error(
                    f"the mask has shape {tuple(mask.shape)}, its first two dimensions must be the inputs' "
                    f"(batch, time) = {(n, t)}"
                )
            inner_mask = self.device.xp.ascontiguousarray(mask).reshape(n * t, *mask.shape[2:])
        y = self.layer.forward(x.reshape(n * t, *x.shape[2:]), training, inner_mask)
        self._nt = (n, t)
        return y.reshape(n, t, *y.shape[1:])

    def backward(self, dy, need_dx=True):
        n, t = self._nt
        dy = self.device.xp.ascontiguousarray(dy)
        dx = self.layer.backward(dy.reshape(n * t, *dy.shape[2:]), need_dx)
        return None if dx is None else dx.reshape(n, t, *dx.shape[1:])
