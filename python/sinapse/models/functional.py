"""sinapse.Model: the Keras functional API (and subclassed models, traced into the same graph).

    inputs = sinapse.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
    model = sinapse.Model(inputs, outputs)

``Model(inputs, outputs)`` walks the nodes recorded by ``layer(tensor)`` calls
(layers/symbolic.py) back from the outputs, exactly as Keras 3's ``map_graph`` does (so
``model.layers`` has Keras's order: by depth from the inputs, ties in the order the walk met
them), and compiles them into a ``Graph`` (models/graph.py), the one executor every model
trains on. The training loops are ``TrainingMixin`` (models/training.py); the config is
Keras 3's functional format (``layers`` with ``inbound_nodes``, ``input_layers``,
``output_layers``), so a Keras ``config.json`` reads back too.

A Model is also used as a layer (``model(tensor)`` inside another model): its forward and
backward run its own graph; nested models have one output.
"""

from __future__ import annotations

from typing import Any

from .. import devices
from ..layers.base import InputLayer, Layer, _fmt
from ..layers.symbolic import KerasTensor, call_symbolic, is_symbolic
from ..ops._checks import as_bool
from . import _graph_build
from ._guard import guarded, share_guard
from .graph import Graph
from .model_base import ModelBase


class Model(ModelBase):
    """``Model(inputs, outputs, name=None)``: a graph of layers (Keras's functional API).

    ``inputs`` / ``outputs``: a KerasTensor, a list or a dict of them (``sinapse.Input``,
    layers' outputs). A subclass that defines ``call(self, inputs)`` and calls
    ``super().__init__()`` without inputs is *traced*: on its first build, ``call`` runs once
    on symbolic inputs and the layers it calls become the graph (``call`` may only compose
    layers and merge layers: Python arithmetic or NumPy on the tensors raises TypeError
    naming the model).

    Raises ValueError for a disconnected graph (an output that does not depend on the
    inputs only), duplicate layer names, or inputs that are not ``sinapse.Input`` tensors.
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, **kwargs: Any) -> None:
        trainable = kwargs.pop("trainable", True)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {', '.join(map(repr, kwargs))}")
        self._init_state(name, "functional" if type(self) is Model else _snake_name(type(self).__name__))
        self._trainable = as_bool(type(self).__name__, "trainable", trainable)
        if inputs is None and outputs is None:
            if type(self).call is Model.call:
                raise TypeError(
                    "Model: give `inputs` and `outputs` (symbolic tensors: sinapse.Input and layers' outputs), "
                    "or subclass Model and define call(self, inputs)"
                )
            self._traced = False  # a subclassed model: traced on its first build
            return
        if inputs is None or outputs is None:
            raise TypeError("Model: give both `inputs` and `outputs`")
        self._set_graph(inputs, outputs)

    # ------------------------------------------------------------------ the graph
    def _set_graph(self, inputs, outputs) -> None:
        where = f"{type(self).__name__}"
        self._inputs_struct, in_list, in_names = _flatten("inputs", inputs, where)
        self._outputs_struct, out_list, out_names = _flatten("outputs", outputs, where)
        for i, t in enumerate(in_list):
            if not isinstance(t._history[0], InputLayer):
                raise ValueError(
                    f"{where}: `inputs` must be tensors made by sinapse.Input; input {i} ({t.name}) is the "
                    f"output of layer {t._history[0].name!r}"
                )
        nodes, layers = _graph_build.map_graph(in_list, out_list, where)
        self._input_tensors, self._output_tensors = in_list, out_list
        self._nodes, self._graph_layers = nodes, layers
        self.input_names = in_names or [t._history[0].name for t in in_list]
        self.output_names = out_names or [t._history[0].name for t in out_list]
        for layer in layers:
            share_guard(self, layer)
        self._version += 1
        self.built = True
        self._traced = True

    def _ensure_traced(self, shapes, where: str) -> None:
        """Trace a subclassed model's ``call`` on Inputs of ``shapes`` (no batch axis)."""
        if getattr(self, "_traced", True):
            return
        from ..layers.base import Input

        inputs = [Input(shape=s) for s in shapes]
        arg = inputs[0] if len(inputs) == 1 else inputs
        try:
            outputs = self.call(arg)
        except TypeError as exc:
            raise TypeError(
                f"{where}: {type(self).__name__}.call could not be traced into a graph: {exc}. A subclassed "
                f"model's call may only call layers (and merge layers) on its inputs"
            ) from None
        if not is_symbolic(outputs):
            raise TypeError(
                f"{where}: {type(self).__name__}.call must return the outputs of layers (symbolic tensors), "
                f"got {type(outputs).__name__}"
            )
        self._set_graph(arg, outputs)

    def call(self, inputs, training=None, mask=None):
        """A subclass's forward pass, written with layers; traced once (see the class docstring)."""
        raise NotImplementedError

    def _graph(self) -> Graph:
        key = (self._version, Layer._trainable_version, self.device.name)
        if self._graph_key != key:
            self._compiled_graph = _graph_build.compile_graph(self)
            self._graph_key = key
        return self._compiled_graph

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list:
        return list(getattr(self, "_graph_layers", []))

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._input_tensors)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._output_tensors)

    @property
    def input(self):
        return _structure(self._inputs_struct, self._input_tensors, self.input_names)

    @property
    def output(self):
        return _structure(self._outputs_struct, self._output_tensors, self.output_names)

    # ------------------------------------------------------------------ training hooks (models/training.py)
    def _n_inputs(self) -> int:
        return len(self._input_tensors) if getattr(self, "_traced", True) else 1  # (untraced: one until traced)

    def _input_names(self) -> list[str]:
        return list(self.input_names) if getattr(self, "_traced", True) else ["input"]

    def _input_readers(self) -> list:
        """Per input, the first layer that reads it (its dtype rule: Embedding takes ids)."""
        if getattr(self, "_traced", True) is False:
            return [None]
        readers = []
        for t in self._input_tensors:
            readers.append(next((n.layer for n in self._nodes if any(x is t for x in n.inputs)), None))
        return readers

    def _check_input_shapes(self, shapes, where) -> None:
        if not getattr(self, "_traced", True):
            self._ensure_traced([tuple(s) for s in shapes], where)
        expected = self._input_shapes()
        for i, (e, g) in enumerate(zip(expected, shapes)):
            if len(e) != len(g) or any(a is not None and a != b for a, b in zip(e, g)):
                label = f"`x`[{self.input_names[i]!r}]" if len(expected) > 1 else "`x`"
                raise ValueError(f"{where}: the model expects {label} of shape {_fmt(e)}, got shape {_fmt(tuple(g))}")

    def _connections(self) -> dict | None:
        """Layer id -> its nodes' inputs as "name[node][tensor]" strings (Keras's Connected to)."""
        node_ids = {id(n) for n in self._nodes}
        out: dict = {}
        for layer in self.layers:
            links = []
            for n in layer._inbound_nodes:
                if id(n) in node_ids:
                    links.extend(f"{t._history[0].name}[{t._history[1]}][{t._history[2]}]" for t in n.inputs)
            out[id(layer)] = links
        return out

    def _input_shapes(self) -> list[tuple]:
        return [t.shape[1:] for t in self._input_tensors]

    def _output_shapes(self) -> list[tuple]:
        return [t.shape[1:] for t in self._output_tensors]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._output_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @guarded(changes=True, structural=True)
    def build(self, input_shape=None) -> None:
        """A functional model is built at construction; a subclassed one traces ``call`` here
        (``input_shape`` with the batch axis, or a list of them)."""
        if getattr(self, "_traced", True):
            return
        if input_shape is None:
            raise ValueError(f"{type(self).__name__}.build: give `input_shape`, e.g. (None, 28, 28, 1)")
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        self._ensure_traced([tuple(s)[1:] for s in shapes], f"{type(self).__name__}.build")

    # ------------------------------------------------------------------ the model as a layer
    multi_input = property(lambda self: len(getattr(self, "_input_tensors", ())) > 1)

    def __call__(self, x: Any, training: bool = False) -> Any:
        """On symbolic tensors: this model used as a layer of another model. On arrays: the
        forward pass on one batch (as predict_on_batch; ``training=True`` runs it in training mode)."""
        if is_symbolic(x):
            self._ensure_traced([t.shape[1:] for t in (x if isinstance(x, (list, tuple)) else [x])], "Model.__call__")
            n_out = len(getattr(self, "_output_tensors", [None]))
            if n_out != 1:
                raise ValueError(
                    f"{type(self).__name__}.__call__: a model used as a layer must have one output; "
                    f"{self.name!r} has {n_out}"
                )
            return call_symbolic(self, x, f"{type(self).__name__}.__call__")
        return super().__call__(x, training)

    def ensure_built(self, input_shape) -> tuple:
        shapes = input_shape if self.multi_input else [input_shape]
        expected = self._input_shapes()
        if len(shapes) != len(expected) or any(
            len(a) != len(b) or any(x is not None and y is not None and x != y for x, y in zip(a, b))
            for a, b in zip(expected, shapes)
        ):
            raise ValueError(
                f"Model {self.name!r}: expects inputs of shape {[_fmt(s) for s in expected]}, "
                f"receives {[_fmt(tuple(s)) for s in shapes]}"
            )
        return self._output_shapes()[0]

    def forward(self, x, training=False, mask=None):
        xs = x if self.multi_input else [x]
        masks = mask if self.multi_input else (None if mask is None else [mask])
        outs, out_masks = self._graph().forward(xs, training, masks)
        self._last_mask = None if out_masks is None else out_masks[0]
        return outs[0]

    def backward(self, dy, need_dx=True):
        graph = self._graph()
        dxs = graph.backward([dy], need_input_grads=need_dx)
        graph.reduce_shared_gradients()
        if not need_dx:
            return None
        return dxs if self.multi_input else dxs[0]

    def compute_mask(self, x, mask):
        return getattr(self, "_last_mask", None)

    def to_device(self, device) -> None:
        device = devices.get_device(device)
        for layer in self.layers:
            layer.to_device(device)
        self.device = device

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Keras: freezing a model freezes each of its layers (and unfreezing unfreezes them)."""
        value = as_bool(f"{type(self).__name__}.trainable", "trainable", value)
        self._trainable = value
        for layer in self.layers:
            layer.trainable = value
        Layer._trainable_version += 1

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """Keras 3's functional config: every layer with its ``inbound_nodes``, the input and
        output layers as [layer name, node index, tensor index]."""
        return _graph_build.functional_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Model:
        inputs, outputs, name = _graph_build.graph_from_config(config, f"{cls.__name__}.from_config")
        return cls(inputs, outputs, name=name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} layers={len(self.layers)}>"


def _snake_name(name: str) -> str:
    from ..layers.base import _snake

    return _snake(name)


def _flatten(what: str, value, where: str):
    """(structure, [KerasTensor], names or None) for a tensor, a list/tuple or a dict of tensors."""
    if isinstance(value, KerasTensor):
        return "single", [value], None
    if isinstance(value, dict):
        items = list(value.items())
        tensors, names = [v for _, v in items], [str(k) for k, _ in items]
        struct = "dict"
    elif isinstance(value, (list, tuple)):
        tensors, names, struct = list(value), None, "list"
    else:
        raise TypeError(
            f"{where}: `{what}` must be a symbolic tensor, a list or a dict of them, got {type(value).__name__}"
        )
    if not tensors:
        raise ValueError(f"{where}: `{what}` is empty")
    for i, t in enumerate(tensors):
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"{where}: `{what}`[{names[i] if names else i}] must be a symbolic tensor (sinapse.Input or a "
                f"layer's output), got {type(t).__name__}"
            )
    return struct, tensors, names


def _structure(struct, items, names):
    if struct == "single":
        return items[0]
    if struct == "dict":
        return dict(zip(names, items))
    return list(items)


__all__ = ["Model"]
