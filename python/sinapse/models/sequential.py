"""Sequential: a stack of layers — structure, building, summary, compile, inference call.

The training loops (fit / evaluate / predict and the *_on_batch methods) are in
``training.py``; saving and loading in ``saving.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import devices
from .. import losses as losses_mod
from .. import metrics as metrics_mod
from ..layers.base import (
    InputLayer,
    Layer,
    _compatible,
    _fmt,
    _shape_tuple,
    check_name,
    deserialize,
    serialize,
    unique_name,
)
from . import saving
from ._guard import ModelGuard, guarded, share_guard
from ._state import bounded_weights
from .training import TrainingMixin

if TYPE_CHECKING:
    from ..layers.base import Weight
    from ..optimizers import Optimizer


def _get_optimizer(identifier):
    if hasattr(identifier, "apply") and hasattr(identifier, "learning_rate"):
        return identifier  # an optimizer object (any class with the optimizers' interface)
    from .. import optimizers

    return optimizers.get(identifier)


class Sequential(TrainingMixin):
    """A linear stack of layers: ``Sequential([Flatten(input_shape=(28, 28)), Dense(10, activation="softmax")])``.

    The model is built (weights created) as soon as its input shape is known: from
    ``input_shape=`` on the first layer, an ``Input(shape)`` first, ``build(input_shape)``,
    or the first batch given to fit/predict/evaluate.
    """

    _unbuilt_file: tuple[str, int]  # set by load_model on a model it leaves unbuilt (models/saving.py)

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None) -> None:
        self._guard = ModelGuard()  # one thread at a time runs the layers (models/_guard.py)
        self.name = check_name("Sequential", name) if name is not None else unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_shape: tuple | None = None
        self._version = 0  # bumped when layers change: the training plan is rebuilt
        self.built = False
        self.device = devices.get_device("cpu")
        self.optimizer = None
        self.loss: Any = None  # as given to compile (a name, a config or a Loss)
        self.compiled_loss = None
        self.compiled_metrics: list = []
        self._compile_config: dict | None = None
        self.stop_training = False
        self.history = None
        self._reset_plans()
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @guarded(changes=True, structural=True)
    def add(self, layer: Layer) -> None:
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError(f"{type(self).__name__}.add: an Input/InputLayer can only come first")
            self._input_shape = layer.shape
            return
        if not isinstance(layer, Layer):
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

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"{type(self).__name__}.get_layer: no layer named {name!r}; layers: {[l.name for l in self._layers]}"
        )

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

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[Weight]:
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Weight]:
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Weight]:
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    @guarded(changes=False)
    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self._layers for w in layer.get_weights()]

    @guarded(changes=True)
    def set_weights(self, weights: Sequence[Any]) -> None:
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(weights) != expected:
            raise ValueError(
                f"{type(self).__name__}.set_weights: expected {expected} arrays (the model's weights in layer "
                f"order), got {len(weights)}"
            )
        i = 0
        for layer in self._layers:
            k = len(layer.weights)
            layer.set_weights(weights[i : i + k])
            i += k

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self._layers)

    # ------------------------------------------------------------------ summary
    def summary(
        self,
        line_length: int = 65,
        positions: Sequence[float] | None = None,
        print_fn: Callable[[str], Any] | None = None,
    ) -> None:
        """Keras's table: layer (type), output shape, parameter count, then the totals."""
        if not self.built:
            raise ValueError(
                f"{type(self).__name__}.summary: this model has not yet been built. Build it by calling build(input_shape), "
                f"by giving the first layer input_shape=..., or by fitting it on data"
            )
        print_fn = print_fn or print
        cols = [int(line_length * p) for p in (positions or (0.45, 0.85, 1.0))]

        def row(fields):
            line = ""
            for text, end in zip(fields, cols):
                line = (line + " " + str(text))[: end - 1].ljust(end)
            return line.rstrip()

        print_fn(f'Model: "{self.name}"')
        print_fn("_" * line_length)
        print_fn(row(["Layer (type)", "Output Shape", "Param #"]))
        print_fn("=" * line_length)
        for i, layer in enumerate(self._layers):
            print_fn(row([f"{layer.name} ({type(layer).__name__})", _fmt(layer.output_shape), layer.count_params()]))
            print_fn("=" * line_length if i == len(self._layers) - 1 else "")
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        total = self.count_params()
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")
        print_fn("_" * line_length)

    # ------------------------------------------------------------------ compile
    @guarded(changes=True, structural=True)
    def compile(
        self,
        optimizer: str | dict | Optimizer = "rmsprop",
        loss: str | dict | losses_mod.Loss | None = None,
        metrics: Sequence[str | dict | metrics_mod.Metric] | None = None,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: Any = None,
        steps_per_execution: Any = None,
        jit_compile: Any = None,
        device: str | devices.Device | None = None,
        **kwargs: Any,
    ) -> None:
        """Choose the optimizer, loss, metrics and device (see sinapse.devices) for training.

        ``run_eagerly``, ``steps_per_execution`` and ``jit_compile`` are accepted and ignored
        (there is no graph to compile); ``loss_weights`` and ``weighted_metrics`` (multi-output
        models) are not supported.
        """
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.compile: unexpected keyword argument(s) {', '.join(map(repr, kwargs))}"
                + (
                    " (the learning rate is an optimizer argument: optimizer=SGD(learning_rate=0.1))"
                    if any("lr" in k or "learning" in k for k in kwargs)
                    else ""
                )
            )
        if loss_weights is not None or weighted_metrics is not None:
            raise ValueError(
                f"{type(self).__name__}.compile: loss_weights and weighted_metrics are not supported "
                f"(Sequential models have one output)"
            )
        metric_ids = metrics_mod.check_list(f"{type(self).__name__}.compile", metrics)  # before anything changes
        device = devices.get_device(device, f"{type(self).__name__}.compile")
        self.optimizer = _get_optimizer(optimizer)
        self.loss = loss
        self.compiled_loss = losses_mod.get(loss)
        self._metric_ids = metric_ids
        self.compiled_metrics = []
        self._compile_config = {
            "loss": loss if isinstance(loss, str) else losses_mod.serialize(self.compiled_loss),
            "metrics": [m if isinstance(m, str) else metrics_mod.serialize(m) for m in self._metric_ids],
        }
        self.device = device
        for layer in self._layers:
            layer.to_device(self.device)
        self._reset_plans()

    def _resolve_metrics(self) -> list:
        if not self.compiled_metrics and self._metric_ids:
            out_shape = self._layers[-1].output_shape
            self.compiled_metrics = [metrics_mod.get(m, self.compiled_loss, out_shape) for m in self._metric_ids]
        return self.compiled_metrics

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(m.name for m in self._resolve_metrics())] if self.built else ["loss"]

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

    @guarded(changes=False)
    def save(
        self,
        filepath: str | os.PathLike,
        overwrite: bool = True,
        include_optimizer: bool = True,
        save_format: str | None = None,
        key: str | bytes | None = None,
    ) -> None:
        """Architecture, weights and optimizer state in one safetensors file (see models/saving.py;
        ``key``: an HMAC key, docs/model_format.md)."""
        saving.check_save_format(f"{type(self).__name__}.save", save_format)
        saving.save_model(
            self,
            filepath,
            overwrite=overwrite,
            include_optimizer=include_optimizer,
            key=key,
            where=f"{type(self).__name__}.save",
        )

    @guarded(changes=False)
    def save_weights(self, filepath: str | os.PathLike, overwrite: bool = True, save_format: str | None = None) -> None:
        saving.check_save_format(f"{type(self).__name__}.save_weights", save_format)
        saving.save_weights(self, filepath, overwrite=overwrite, where=f"{type(self).__name__}.save_weights")

    @guarded(changes=True)
    def load_weights(self, filepath: str | os.PathLike) -> None:
        saving.load_weights(self, filepath, where=f"{type(self).__name__}.load_weights")

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self._layers)}>"
