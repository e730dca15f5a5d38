"""What every model shares (Sequential and functional): state, weights, summary, compile, files.

The structure (which layers, how they connect) is the subclass's: ``Model`` (models/functional.py)
for graphs, ``Sequential`` (models/sequential.py) for stacks. Both run on one executor
(models/graph.py) through the training loops of ``TrainingMixin`` (models/training.py), with evaluate / predict
(models/_evaluation.py) and the *_on_batch methods (models/_on_batch.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import devices
from .. import losses as losses_mod
from .. import metrics as metrics_mod
from ..distributed import strategy as distribute_mod
from ..layers.base import _fmt, check_name, unique_name
from . import saving
from ._evaluation import EvaluationMixin
from ._guard import ModelGuard, guarded
from ._on_batch import OnBatchMixin
from .training import TrainingMixin

if TYPE_CHECKING:
    from ..layers.base import Weight
    from ..optimizers import Optimizer


def _get_optimizer(identifier):
    if hasattr(identifier, "apply") and hasattr(identifier, "learning_rate"):
        return identifier  # an optimizer object (any class with the optimizers' interface)
    from .. import optimizers

    return optimizers.get(identifier)


class ModelBase(EvaluationMixin, OnBatchMixin, TrainingMixin):
    """State, weights, summary, compile and files of a model (see the module docstring)."""

    _inbound_nodes: list

    if TYPE_CHECKING:

        @property
        def layers(self) -> list: ...

        def build(self, input_shape=None) -> None: ...

    def _init_state(self, name: str | None, default_name: str) -> None:
        self._guard = ModelGuard()  # one thread at a time runs the layers (models/_guard.py)
        self.name = check_name(type(self).__name__, name) if name is not None else unique_name(default_name)
        self._version = 0  # bumped when the structure changes: the graph and the training plan are rebuilt
        self._graph_key: tuple | None = None
        self._inbound_nodes = []  # calls of this model as a layer of another (layers/symbolic.py)
        self.built = False
        self.device = devices.get_device("cpu")
        self.optimizer = None
        self.loss: Any = None  # as given to compile (a name, a config, a Loss, a list or a dict)
        self.compiled_loss = None  # the first output's Loss (the only one of a single-output model)
        self.compiled_losses: list = []  # one Loss (or None: no loss) per output
        self.loss_weights: list[float] = []
        self.compiled_metrics: list = []
        self._metric_ids: list = []
        self._compile_config: dict | None = None
        self._distribute: distribute_mod.DataParallel | None = None  # set by compile
        self.stop_training = False
        self.history = None
        self._reset_plans()

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[Weight]:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Weight]:
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Weight]:
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    @guarded(changes=False)
    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.get_weights()]

    def reset_states(self) -> None:
        """Zero the carried states of every ``stateful=True`` recurrent layer (Keras 2's
        ``Model.reset_states``; Keras 3 has the layers' ``reset_state()`` only)."""
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    @guarded(changes=True)
    def set_weights(self, weights: Sequence[Any]) -> None:
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(
                f"{type(self).__name__}.set_weights: expected {expected} arrays (the model's weights in layer "
                f"order), got {len(weights)}"
            )
        i = 0
        for layer in self.layers:
            k = len(layer.weights)
            layer.set_weights(weights[i : i + k])
            i += k

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def get_layer(self, name: str | None = None, index: int | None = None):
        """The layer called ``name`` (or at ``index`` in ``model.layers``); ValueError if none."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"{type(self).__name__}.get_layer: `index`={index} but the model has {len(layers)} layers"
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"{type(self).__name__}.get_layer: no layer named {name!r}; layers: {[lay.name for lay in layers]}"
        )

    # ------------------------------------------------------------------ summary
    def summary(
        self,
        line_length: int | None = None,
        positions: Sequence[float] | None = None,
        print_fn: Callable[[str], Any] | None = None,
    ) -> None:
        """Keras's table: layer (type), output shape, parameter count (and, for a graph, the
        "Connected to" column: each node's input layers as name[node][tensor]), then the totals."""
        if not self.built:
            raise ValueError(
                f"{type(self).__name__}.summary: this model has not yet been built. Build it by calling "
                f"build(input_shape), by giving the first layer input_shape=..., or by fitting it on data"
            )
        print_fn = print_fn or print
        connected = self._connections()
        line_length = line_length or (98 if connected is not None else 65)
        fracs = positions or ((0.33, 0.55, 0.67, 1.0) if connected is not None else (0.45, 0.85, 1.0))
        cols = [int(line_length * p) for p in fracs]

        def row(fields):
            line = ""
            for text, end in zip(fields, cols):
                line = (line + " " + str(text))[: end - 1].ljust(end)
            return line.rstrip()

        print_fn(f'Model: "{self.name}"')
        print_fn("_" * line_length)
        head = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected is not None else [])
        print_fn(row(head))
        print_fn("=" * line_length)
        layers = self.layers
        for i, layer in enumerate(layers):
            fields = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer), layer.count_params()]
            links = connected.get(id(layer), []) if connected is not None else []
            print_fn(row(fields + ([links[0] if links else "-"] if connected is not None else [])))
            for extra in links[1:]:
                print_fn(row(["", "", "", extra]))
            print_fn("=" * line_length if i == len(layers) - 1 else "")
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        total = self.count_params()
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")
        print_fn("_" * line_length)

    def _connections(self) -> dict | None:
        """Layer id -> ["name[node][tensor]", ...] for a graph; None for a Sequential (no such column)."""
        return None

    # ------------------------------------------------------------------ compile
    @guarded(changes=True, structural=True)
    def compile(
        self,
        optimizer: str | dict | Optimizer = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: Any = None,
        steps_per_execution: Any = None,
        jit_compile: Any = None,
        device: str | devices.Device | None = None,
        distribute: Any = None,
        **kwargs: Any,
    ) -> None:
        """Choose the optimizer, loss(es), metrics and device (see sinapse.devices) for training.

        ``distribute``: None (one process), "mpi" / "nccl" / "auto", or a
        ``sinapse.distributed.DataParallel``: data-parallel training over the processes an MPI
        launcher started (``mpirun -np 2 python train.py``; docs/distributed.md). Not saved
        with the model: a checkpoint resumes on any number of processes.

        With several outputs, ``loss``, ``loss_weights`` and ``metrics`` may be lists (in output
        order) or dicts keyed by output name (``model.output_names``); one loss or one flat list
        of metrics applies to every output. The total loss is ``sum(loss_weights[k] * loss_k)``
        (Keras). ``run_eagerly``, ``steps_per_execution`` and ``jit_compile`` are accepted and
        ignored; ``weighted_metrics`` is not supported.
        """
        where = f"{type(self).__name__}.compile"
        if kwargs:
            raise TypeError(
                f"{where}: unexpected keyword argument(s) {', '.join(map(repr, kwargs))}"
                + (
                    " (the learning rate is an optimizer argument: optimizer=SGD(learning_rate=0.1))"
                    if any("lr" in k or "learning" in k for k in kwargs)
                    else ""
                )
            )
        if weighted_metrics is not None:
            raise ValueError(f"{where}: weighted_metrics is not supported")
        names = self._compile_output_names()
        saved = len(names) == 1 and isinstance(loss, dict) and "class_name" in loss and names != ["class_name"]
        loss_list = [loss] if saved else _per_output(where, "loss", loss, names)  # saved: a serialized Loss
        weight_list = _per_output(where, "loss_weights", loss_weights, names, default=1.0)
        weight_list = [1.0 if w is None else _weight(where, w) for w in weight_list]
        per_output = isinstance(metrics, dict) or (
            isinstance(metrics, (list, tuple)) and len(names) > 1 and any(isinstance(m, (list, tuple)) for m in metrics)
        )
        if per_output:  # one entry per output: a name or a list of names each
            metric_lists = _per_output(where, "metrics", metrics, names)
            metric_lists = [m if m is None or isinstance(m, (list, tuple)) else [m] for m in metric_lists]
        else:
            metric_lists = [metrics] * len(names)
        metric_ids = [metrics_mod.check_list(where, m) for m in metric_lists]
        device = devices.get_device(device, where)
        self._distribute = distribute_mod.get(distribute, where)
        self.optimizer = _get_optimizer(optimizer)
        self.loss = loss
        self.compiled_losses = [None if lo is None else losses_mod.get(lo) for lo in loss_list]
        self.compiled_loss = self.compiled_losses[0]
        self.loss_weights = weight_list
        self._metric_ids = metric_ids[0] if len(names) == 1 else metric_ids
        self._metric_ids_per_output = metric_ids
        self.compiled_metrics = []
        self._compile_config = {
            "loss": loss if isinstance(loss, str) else self._loss_config(loss),
            "metrics": [m if isinstance(m, str) else metrics_mod.serialize(m) for m in metric_ids[0]]
            if len(names) == 1
            else metrics,
        }
        if loss_weights is not None:
            self._compile_config["loss_weights"] = loss_weights
        self.device = device
        for layer in self.layers:
            layer.to_device(self.device)
        self._reset_plans()

    def _loss_config(self, loss):
        if len(self.compiled_losses) == 1:
            return None if self.compiled_loss is None else losses_mod.serialize(self.compiled_loss)
        if isinstance(loss, dict):
            return {
                k: v if isinstance(v, str) or v is None else losses_mod.serialize(losses_mod.get(v))
                for k, v in loss.items()
            }
        return [None if lo is None else losses_mod.serialize(lo) for lo in self.compiled_losses]

    def _compile_output_names(self) -> list[str]:
        return list(getattr(self, "output_names", None) or ["output"])

    # ------------------------------------------------------------------ files
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
        ``key``: an HMAC key, docs/model_format.md); a path ending in ``.keras`` writes Keras 3's
        zip format instead (models/keras_files.py)."""
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
        """The weights as a sinapse file, or as a Keras file for a path ending in ``.weights.h5``
        (Keras 3) or ``.h5`` (Keras 2's HDF5 layout)."""
        saving.check_save_format(f"{type(self).__name__}.save_weights", save_format)
        saving.save_weights(self, filepath, overwrite=overwrite, where=f"{type(self).__name__}.save_weights")

    @guarded(changes=True)
    def load_weights(self, filepath: str | os.PathLike, by_name: bool = False, skip_mismatch: bool = False) -> None:
        """Weights from a sinapse file or a Keras file (``.weights.h5``, ``.keras``, ``.h5``; ``by_name``
        and ``skip_mismatch`` as Keras's, for ``.h5`` files)."""
        saving.load_weights(
            self,
            filepath,
            where=f"{type(self).__name__}.load_weights",
            by_name=by_name,
            skip_mismatch=skip_mismatch,
        )


def _shape_text(layer) -> str:
    shape = layer.output_shape
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt(s) for s in shape)
    if hasattr(layer, "_output_tensors"):  # a model: its shape already has the batch axis
        return str(shape)
    return _fmt(shape)


def _weight(where, w) -> float:
    if isinstance(w, bool) or not isinstance(w, (int, float, np.floating, np.integer)) or not np.isfinite(w):
        raise TypeError(f"{where}: each of `loss_weights` must be a finite number, got {w!r}")
    return float(w)


def _per_output(where: str, what: str, value, names: list[str], default=None) -> list:
    """One entry per output from a single value (every output), a list (output order) or a dict
    (output names; a missing output gets ``default``). ValueError for a list of another length or
    an unknown name."""
    n = len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"{where}: `{what}` names unknown output(s) {unknown}; the outputs are {names}")
        return [value.get(k, default) for k in names]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{where}: `{what}` has {len(value)} entries but the model has {n} outputs ({names})")
        return list(value)
    return [default if value is None else value] * n
