"""Symbolic tensors and nodes: how ``layer(tensor)`` records the graph a functional model runs.

``Input(shape)`` returns a ``KerasTensor`` (no data: a shape and where it comes from).
Calling a layer on KerasTensors builds the layer for their shapes, records a ``Node`` (the
layer, its input tensors) in ``layer._inbound_nodes`` and returns the output KerasTensor,
whose ``_history`` = (layer, node index, tensor index) points back at that node — Keras 3's
``_keras_history``. ``sinapse.Model(inputs, outputs)`` walks these links back from the
outputs (models/functional.py).
"""

from __future__ import annotations

from typing import Any

_TENSOR_COUNT = [0]


class KerasTensor:
    """A symbolic tensor: ``shape`` (batch axis first, None when unknown) and its producer."""

    __slots__ = ("shape", "name", "_history", "dtype")

    def __init__(self, shape: tuple, history: tuple, name: str | None = None) -> None:
        self.shape = tuple(shape)
        self._history = history  # (layer, node_index, tensor_index)
        self.dtype = "float32"
        if name is None:
            _TENSOR_COUNT[0] += 1
            name = f"keras_tensor_{_TENSOR_COUNT[0]}"
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def node(self) -> Node:
        layer, index, _ = self._history
        return layer._inbound_nodes[index]

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype=float32, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self.name} is a symbolic tensor (sinapse.Input or a layer's output in a functional model): "
            f"it holds no values; build a sinapse.Model(inputs, outputs) and call predict"
        )

    def _arithmetic(self, *args, **kwargs):
        raise TypeError(
            f"{self.name}: arithmetic on symbolic tensors is not recorded in sinapse graphs; "
            f"use the merge layers (sinapse.layers.Add, Subtract, Multiply, ...)"
        )

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __matmul__ = _arithmetic
    __neg__ = __pow__ = __getitem__ = _arithmetic


class Node:
    """One call of ``layer`` on ``inputs`` (KerasTensors), producing ``outputs``."""

    __slots__ = ("layer", "inputs", "outputs", "multi", "index")

    def __init__(self, layer: Any, inputs: list[KerasTensor], multi: bool) -> None:
        self.layer, self.inputs, self.multi = layer, list(inputs), multi
        self.index = len(layer._inbound_nodes)
        self.outputs: list[KerasTensor] = []
        layer._inbound_nodes.append(self)

    @property
    def is_input(self) -> bool:
        return not self.inputs


def is_symbolic(x) -> bool:
    """True for a KerasTensor or a list/tuple/dict holding one."""
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, dict):
        x = list(x.values())
    return isinstance(x, (list, tuple)) and any(isinstance(t, KerasTensor) for t in x)


def call_symbolic(layer: Any, inputs, where: str) -> KerasTensor:
    """Record ``layer(inputs)`` as a node; builds the layer for the inputs' shapes."""
    multi = isinstance(inputs, (list, tuple))
    tensors = list(inputs) if multi else [inputs]
    for i, t in enumerate(tensors):
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"{where}: every input must be a symbolic tensor (sinapse.Input or a layer's output); "
                f"input {i} is {type(t).__name__}"
            )
    wants_list = bool(getattr(layer, "multi_input", False))
    if multi and not wants_list:
        if len(tensors) != 1:
            raise ValueError(
                f"{where}: layer {layer.name!r} takes one input tensor, got a list of {len(tensors)} "
                f"(shapes {[t.shape for t in tensors]}); merge them first (Concatenate, Add, ...)"
            )
        multi, tensors = False, tensors[:1]
    if wants_list and not multi:
        raise ValueError(
            f"{where}: layer {layer.name!r} takes a list of input tensors, got one tensor of shape {tensors[0].shape}"
        )
    shapes = [t.shape[1:] for t in tensors]
    out_shape = layer.ensure_built(shapes if multi else shapes[0])
    batch = next((t.shape[0] for t in tensors if t.shape[0] is not None), None)
    node = Node(layer, tensors, multi)
    out = KerasTensor((batch, *out_shape), (layer, node.index, 0))
    node.outputs.append(out)
    return out
