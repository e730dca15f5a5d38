"""Sequential: a stack of layers — structure and building. It is a ``Model`` whose graph is a
chain (slot i -> layer i -> slot i + 1), run by the same executor (models/graph.py).

Weights, summary, compile and files are models/model_base.py's; the training loops
(fit / evaluate / predict and the *_on_batch methods) models/training.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..layers.base import (
    InputLayer,
    Layer,
    _compatible,
    _fmt,
    _shape_tuple,
    deserialize,
    serialize,
)
from ..layers.symbolic import KerasTensor
from . import _graph_build
from ._guard import guarded, share_guard
from ._state import bounded_weights
from .functional import Model
from .graph import Graph


class Sequential(Model):
    """A linear stack of layers: ``Sequential([Flatten(input_shape=(28, 28)), Dense(10, activation="softmax")])``.

    The model is built (weights created) as soon as its input shape is known: from
    ``input_shape=`` on the first layer, an ``Input(shape)`` first, ``build(input_shape)``,
    or the first batch given to fit/predict/evaluate.
    """

    _unbuilt_file: tuple[str, int]  # set by load_model on a model it leaves unbuilt (models/saving.py)

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None, trainable: bool = True) -> None:
        self._init_state(name, "sequential")
        self._trainable = bool(trainable)
        self._layers: list[Layer] = []
        self._input_shape: tuple | None = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @guarded(changes=True, structural=True)
    def add(self, layer: Layer) -> None:
        if isinstance(layer, KerasTensor) and isinstance(layer._history[0], InputLayer):
            layer = layer._history[0]  # Sequential([Input(shape), ...])
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError(f"{type(self).__name__}.add: an Input/InputLayer can only come first")
            self._input_shape = layer.shape
            return
        if not isinstance(layer, (Layer, Model)):
            raise TypeError(
                f"{type(self).__name__}.add: expects a sinapse layer, got {layer!r} ({type(layer).__name__})"
            )
        if any(existing is layer for existing in self._layers):
            raise ValueError(f"{type(self).__name__}.add: layer {layer.name!r} is already in this model")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(
                f"{type(self).__name__}.add: the model already has a layer named {layer.name!r}; "
                f"layer names must be unique"
            )
        if not self._layers and self._input_shape is None:
            if layer._declared_input_shape is not None:
                self._input_shape = layer._declared_input_shape
            elif layer.built and layer.input_shape is not None:
                self._input_shape = layer.input_shape  # a layer taken from another model
        self._layers.append(layer)
        share_guard(self, layer)
        self._version += 1
        if self._input_shape is not None:
            self._build_layers()

    @guarded(changes=True, structural=True)
    def pop(self) -> Layer:
        if not self._layers:
            raise ValueError(f"{type(self).__name__}.pop: the model has no layers")
        layer = self._layers.pop()
        self._version += 1
        return layer

    @guarded(changes=True, structural=True)
    def build(self, input_shape: tuple | None = None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (Keras passes (None, ...) : both accepted).

        Idempotent: building again with a compatible shape keeps the weights (and their
        values); an incompatible shape raises ValueError, as does a shape that is not a tuple
        of non-negative ints.
        """
        if input_shape is not None:
            where = f"{type(self).__name__}.build"
            if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__len__"):
                raise TypeError(
                    f"{where}: `input_shape` must be a tuple such as (None, 28, 28, 1), got {input_shape!r}"
                )
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            shape = _shape_tuple(shape, "`input_shape`", where)
            if self.built and self._input_shape is not None and not _compatible(self._input_shape, shape):
                raise ValueError(
                    f"{where}: the model is already built for inputs of shape {_fmt(self._input_shape)}, "
                    f"got `input_shape`={tuple(input_shape)}; its layers keep their weights: build a new "
                    f"model (clone_model) for another shape"
                )
            if not self.built or self._input_shape is None:
                self._input_shape = shape
        if self._input_shape is None:
            raise ValueError(
                f"{type(self).__name__}.build: the input shape is unknown; give the first layer input_shape=..., "
                f"start with Input(shape), call build(input_shape), or fit/predict on data"
            )
        self._build_layers()

    def _build_layers(self) -> None:
        bound = self.__dict__.get("_unbuilt_file")  # (path, limit): loaded unbuilt (models/_state.py)
        if bound is None:
            return self._build_each()
        with bounded_weights(self._layers, bound[1], bound[0]):
            self._build_each()
        if self.built:
            del self._unbuilt_file

    def _build_each(self) -> None:
        shape = self._input_shape
        for layer in self._layers:
            if layer.device != self.device:
                layer.to_device(self.device)
            shape = layer.ensure_built(shape)
        self.built = bool(self._layers)

    def _ensure_input_shape(self, sample_shape, where=None) -> None:
        """Build for samples of ``sample_shape`` (no batch axis), or raise ValueError starting with ``where``."""
        sample_shape = tuple(sample_shape)
        where = where or f"{type(self).__name__}.build"
        if self._input_shape is None:
            self._input_shape = sample_shape
        elif len(sample_shape) != len(self._input_shape) or any(
            e is not None and e != g for e, g in zip(self._input_shape, sample_shape)
        ):
            raise ValueError(
                f"{where}: the model expects inputs of shape {_fmt(self._input_shape)}, got `x` of "
                f"shape {_fmt(sample_shape)}"
            )
        if not self.built or any(not layer.built for layer in self._layers):
            self._build_layers()
        if not self._layers:
            raise ValueError(f"{where}: the model has no layers")

    @property
    def input_shape(self) -> tuple | None:
        return None if self._input_shape is None else (None, *self._input_shape)

    @property
    def output_shape(self) -> tuple:
        if not self.built:
            raise AttributeError(
                f"{type(self).__name__}.output_shape: the model is not built yet, so it has no output shape"
            )
        return (None, *self._last_output_shape())

    # ------------------------------------------------------------------ the graph and the training hooks
    def _graph(self) -> Graph:
        key = (self._version, Layer._trainable_version, self.device.name)
        if self._graph_key != key:
            self._compiled_graph = _graph_build.chain_graph(self._layers, self.device)
            self._graph_key = key
        return self._compiled_graph

    def _n_inputs(self) -> int:
        return 1

    def _input_names(self) -> list[str]:
        return ["input"]

    def _input_readers(self) -> list:
        first = next((layer for layer in self._layers if not isinstance(layer, InputLayer)), None)
        return [first]

    def _check_input_shapes(self, shapes, where) -> None:
        if not self.built or tuple(shapes[0]) != self._input_shape:
            self._ensure_input_shape(shapes[0], where)

    def _output_shapes(self) -> list[tuple]:
        return [self._last_output_shape()]

    def _last_output_shape(self) -> tuple:
        shape = self._layers[-1].output_shape
        assert shape is not None, "the model is built"
        return shape if not isinstance(self._layers[-1], Model) else tuple(shape[1:])

    @property
    def output_names(self) -> list[str]:
        return [self._layers[-1].name] if self._layers else ["output"]

    # -------------------------------------------------------------- used as a layer of another model
    def ensure_built(self, input_shape) -> tuple:
        self._ensure_input_shape(tuple(input_shape), f"{type(self).__name__} {self.name!r}")
        return self._last_output_shape()

    @property
    def multi_input(self) -> bool:  # type: ignore[override]
        return False

    def _connections(self) -> dict | None:
        return None  # a stack: Keras's summary has no "Connected to" column

    # ------------------------------------------------------------------ config and copies
    def get_config(self) -> dict:
        return {
            "name": self.name,
            "layers": [serialize(layer) for layer in self._layers],
            "build_input_shape": None if self._input_shape is None else list(self._input_shape),
        }

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        where = f"{cls.__name__}.from_config"
        if not isinstance(config, dict):
            raise TypeError(
                f"{where}: `config` must be a dict such as model.get_config() returns "
                f"({{'name': ..., 'layers': [...], 'build_input_shape': ...}}), got {config!r}"[:300]
            )
        layer_configs = config.get("layers", [])
        if not isinstance(layer_configs, (list, tuple)):
            raise TypeError(f"{where}: `config['layers']` must be a list of layer configs, got {layer_configs!r}"[:300])
        model = cls(name=config.get("name"))
        shape = config.get("build_input_shape")
        if shape is not None:
            model._input_shape = _shape_tuple(shape, "`config['build_input_shape']`", where)
        for layer_config in layer_configs:
            model.add(deserialize(layer_config))
        return model

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self._layers)}>"
