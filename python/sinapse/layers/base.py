"""The Layer base class, Weight, InputLayer / Input, and the layer registry.

How to write a layer (the interface every layer, recurrent ones included, follows)
-------------------------------------------------------------------------------------
Shapes given to and returned by ``build`` / ``compute_output_shape`` leave out the batch
axis: a Dense layer on MNIST images flattened to 784 values sees ``input_shape == (784,)``.

``__init__(self, <Keras arguments>, **kwargs)``
    Store the configuration, pass ``**kwargs`` (name, trainable, input_shape, ...) to
    ``super().__init__``, which refuses unknown keyword arguments by name.
``build(self, input_shape)``
    Create every weight with ``self.add_weight(name, shape, initializer, regularizer,
    trainable, constraint)`` — as many as the layer needs (an LSTM: kernel, recurrent_kernel, bias),
    in a fixed order: that order is the order of ``get_weights``/``set_weights``, of the
    saved file and of the optimizer's parameter list. Raise ``self.error(...)`` for an
    input shape the layer cannot take.
``compute_output_shape(self, input_shape) -> tuple``
    The output shape without the batch axis.
``forward(self, x, training=False, mask=None) -> y``
    Compute the output with ``sinapse.ops`` (arithmetic belongs in kernels), into buffers
    from ``self.buffer(key, shape)``, which are allocated once per batch shape and reused
    at every step (so the output must be consumed before the next forward). Keep what the
    backward needs on ``self``. ``mask`` is the boolean (N, T) mask of the previous layer
    (or None): a layer that uses it sets ``supports_masking = True``.
``backward(self, dy, need_dx=True) -> dx or None``
    Given dL/dy (shape of the last forward's output), write each *trainable* weight's
    gradient into ``weight.grad`` (allocated by add_weight; assigning a new array there
    is fine too) when ``self.trainable`` — frozen layers skip it — add the regularizer's
    gradient with ``self.add_regularizer_gradients()``, and return dL/dx unless
    ``need_dx`` is False (the first layers of a model: nothing below needs it).
``compute_mask(self, x, mask) -> mask or None``
    The mask the next layer receives; the default passes the mask on when
    ``supports_masking`` and drops it otherwise. Embedding(mask_zero=True) and Masking
    create one here.
``get_config(self) -> dict``
    ``{**super().get_config(), <every __init__ argument>}``: JSON-serialisable values;
    ``Layer.from_config(config)`` calls ``cls(**config)``, and the class is found by its
    name, so any subclass is registered automatically for ``load_model``.

Memory (the graph executor, models/graph.py): inside its backward a layer may write dx into
``dy`` when ``dy_is_scratch()`` is True (dy is dead after the call). A layer whose backward
does not read its output sets ``backward_reads_output = False``, one that does not read its
input ``backward_reads_input = False``: an activation read by no backward is then written
into a pooled array (its ``buffer("y", ...)``) that later layers reuse. Multi-input layers
(``multi_input = True``) get and return lists (the merge layers).

A layer whose output applies softmax or sigmoid can set ``output_activation`` and keep its
pre-activation in ``self.logits`` and implement ``backward_logits(dz, need_dx)``: the model
then fuses the activation into a cross-entropy loss (the stable (p - y) gradient), as Keras
does with a softmax output layer.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from typing import Any, ClassVar

import numpy as np

from .. import devices, regularizers
from .._from_config import arguments
from ..ops._checks import as_bool
from . import _activity
from ._limits import allocate, check_alloc, size
from ._limits import shape as _shape
from .symbolic import KerasTensor, Node, call_symbolic, is_symbolic

_REGISTRY: dict[str, type[Layer]] = {}
_EXECUTOR = threading.local()  # .backward: the graph executor (models/graph.py) is running a backward


def dy_is_scratch() -> bool:
    """True while the graph executor runs a backward: the ``dy`` a layer's backward receives is
    then dead after the call (nothing reads it again), so the layer may write its dx into it
    (in place) instead of a buffer of its own — one activation-sized array less per layer. A
    direct ``layer.backward(dy)`` call never has its dy overwritten."""
    return getattr(_EXECUTOR, "backward", False)


@contextlib.contextmanager
def executor_backward():
    """What models/graph.py holds around a backward walk (see dy_is_scratch)."""
    previous = getattr(_EXECUTOR, "backward", False)
    _EXECUTOR.backward = True
    try:
        yield
    finally:
        _EXECUTOR.backward = previous


_NAME_COUNTS: dict[str, int] = {}


def _snake(name: str) -> str:
    """Keras's to_snake_case: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base: str) -> str:
    """Keras's automatic names: dense, dense_1, dense_2, ..."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _shape_tuple(shape, what: str, layer: str) -> tuple:
    """A shape without the batch axis (``what``: the argument's name, in backticks or not)."""
    return _shape(layer, what.strip("`"), shape)


def check_name(where: str, name) -> str:
    """A layer's or model's name: a non-empty printable string without "/" (Keras 3 refuses "/":
    it separates the layer and the weight in weight paths; a control character would garble
    summaries and files)."""
    if not isinstance(name, str) or not name or "/" in name or not name.isprintable():
        raise ValueError(
            f"{where}: `name` must be a non-empty string of printable characters without '/', got {name!r}"
        )
    return name


def keras1_arguments(layer: str, kwargs: dict, renames: dict) -> dict:
    """Accept Keras 1 argument names (``init``, ``border_mode``, ...) with a DeprecationWarning."""
    for old, new in renames.items():
        if old in kwargs:
            warnings.warn(
                f"{layer}: `{old}` is the Keras 1 name of `{new}`; use `{new}=`.", DeprecationWarning, stacklevel=4
            )
            if new in kwargs:
                raise TypeError(f"{layer}: got both `{old}` (Keras 1) and `{new}`")
            kwargs[new] = kwargs.pop(old)
    return kwargs


class Weight:
    """One weight of a layer: its ``value`` (an array on the model's device) and ``grad``; its
    ``regularizer`` and ``constraint`` (sinapse.constraints: applied after each optimizer update)
    or None."""

    __slots__ = ("name", "value", "grad", "trainable", "regularizer", "constraint", "layer")

    def __init__(self, name, value, trainable, regularizer, layer, constraint=None):
        self.name, self.value, self.trainable, self.regularizer, self.layer = name, value, trainable, regularizer, layer
        self.constraint = constraint
        self.grad = None

    @property
    def shape(self) -> tuple:
        return tuple(self.value.shape)

    def numpy(self) -> np.ndarray:
        """A NumPy copy of the value."""
        return np.array(devices.to_numpy(self.value), copy=True)

    def assign(self, value) -> None:
        value = np.asarray(devices.to_numpy(value), dtype=np.float32)
        if value.shape != self.shape:
            raise ValueError(
                f"{self.layer.name}: weight `{self.name}` has shape {self.shape}, "
                f"cannot assign a value of shape {value.shape}"
            )
        # A model's predict in another thread must see the old or the new value, never a mix.
        with self.layer._changing("Weight.assign"):
            self.layer.device.copy_into(self.value, np.ascontiguousarray(value))

    def __repr__(self) -> str:
        return f"<Weight {self.layer.name}/{self.name} shape={self.shape}>"


def _public_build(create_weights):
    """Keras's ``layer.build(input_shape)`` around a layer's weight-creating ``create_weights``.

    ``input_shape`` includes the batch axis, as in Keras: ``Dense(3).build((None, 4))``. The
    first call creates the weights and sets ``built``; later calls with a compatible shape do
    nothing (the weights, and any values given with set_weights, are kept); an incompatible
    shape raises ValueError, as does one without a batch axis; a non-tuple raises TypeError.
    """

    def build(self, input_shape):
        with self._changing(f"{type(self).__name__}.build"):
            _build(self, input_shape)

    def _build(self, input_shape):
        if self.__dict__.get("_building"):  # super().build(shape) inside a subclass's build
            return create_weights(self, input_shape)
        where = f"{type(self).__name__}.build"
        if (
            self.multi_input
            and isinstance(input_shape, (list, tuple))
            and input_shape
            and all(isinstance(s, (list, tuple)) for s in input_shape)
        ):  # Keras's merge_layer.build([(None, 4), (None, 4)])
            shapes = [_shape(where, f"input_shape[{i}]", s, batch=True)[1:] for i, s in enumerate(input_shape)]
            self.ensure_built(shapes)
            return
        if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__len__"):
            raise TypeError(
                f"{where}: `input_shape` must be a tuple with the batch axis first, e.g. (None, 4); got {input_shape!r}"
            )
        shape = _shape(where, "input_shape", input_shape, batch=True)
        if len(shape) < 1:
            raise ValueError(f"{where}: `input_shape` must include the batch axis, e.g. (None, 4); got {shape}")
        if self.built and self.input_shape is not None and not _compatible(self.input_shape, shape[1:]):
            raise ValueError(
                f"{where}: layer {self.name!r} is already built for inputs of shape "
                f"{_fmt(self.input_shape)}, got `input_shape`={shape}; a built layer keeps its "
                f"weights: create a new layer for another shape"
            )
        self.ensure_built(shape[1:])

    public: Any = build  # a function carrying an attribute (which a type checker does not model)
    public._create_weights = create_weights
    public.__doc__ = _public_build.__doc__
    return public


class Layer:
    """Base class of every layer (see the module docstring for how to write one)."""

    supports_masking = False
    # What the backward reads (the graph executor releases an activation no backward reads,
    # models/graph.py): its input(s) x, its own output y. Conservative defaults; layers that
    # read less say so.
    backward_reads_input = True
    backward_reads_output = True
    # The forward may return its input itself (an identity): the graph then keeps the input's
    # array alive as long as the output, so neither can be a pooled transient activation.
    output_aliases_input = False
    multi_input = False  # True: forward takes a list of inputs, backward returns a list (merge layers)
    output_activation: str | None = None  # "softmax"/"sigmoid" when the output can fuse into the loss
    _trainable_version = 0  # bumped whenever any layer's trainable flag changes (models re-plan)
    # The public build(input_shape): _public_build around a subclass's own build (set by
    # __init_subclass__) or, for Layer itself, below the class; it carries ``_create_weights``.
    build: ClassVar[Any]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # private bases (_Pooling2D) are no layers a file may name
            _REGISTRY[cls.__name__] = cls
        # A subclass's build() creates weights (no batch axis); the public build() (Keras's
        # call, with the batch axis) goes through ensure_built, so it is idempotent and sets
        # `built` for every layer, including user-defined ones.
        raw = cls.__dict__.get("build")
        if raw is not None and not hasattr(raw, "_create_weights"):
            cls.build = _public_build(raw)

    def __init__(
        self,
        *,
        name=None,
        trainable=True,
        input_shape=None,
        batch_input_shape=None,
        input_dim=None,
        batch_size=None,
        dtype=None,
        activity_regularizer=None,
        **kwargs,
    ):
        cls = type(self).__name__
        if kwargs:
            raise TypeError(f"{cls}: unexpected keyword argument(s) {', '.join(map(repr, kwargs))}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"{cls}: sinapse layers compute in float32, got dtype={dtype!r}")
        self.name = check_name(cls, name) if name is not None else unique_name(_snake(cls))
        self._trainable = as_bool(cls, "trainable", trainable)
        # A penalty on the output added to the loss (layers/_activity.py; every Keras 3 layer takes it).
        self.activity_regularizer = _activity.get(cls, activity_regularizer)
        self.built = False
        self._weights: list[Weight] = []
        self._buffers: dict = {}
        # Direct calls layer(x) from several threads run one at a time: the forward writes into
        # the reused buffers and keeps its inputs on self (a model guards its own calls).
        self._call_lock = threading.RLock()  # re-entrant: set_weights -> Weight.assign
        self.device = devices.get_device("cpu")
        self.input_shape: tuple | None = None  # set by build, without the batch axis
        self.output_shape: tuple | None = None
        self.logits = None
        self._inbound_nodes: list[Node] = []  # one per call on symbolic tensors (layers/symbolic.py)
        self._declared_input_shape = _declared_shape(cls, input_shape, batch_input_shape, input_dim, batch_size)

    # ------------------------------------------------------------------ subclass interface
    def _create_weights(self, input_shape) -> None:
        """What a subclass's build() does: create the weights for ``input_shape`` (no batch axis)."""

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape)

    def forward(self, x, training=False, mask=None):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, dy, need_dx=True):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def compute_mask(self, x, mask):
        return mask if self.supports_masking else None

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32"}
        if self._declared_input_shape is not None:
            config["batch_input_shape"] = [None, *self._declared_input_shape]
        if self.activity_regularizer is not None:  # as Keras 3's Layer.get_config
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**arguments(cls, config))

    # ------------------------------------------------------------------ helpers for subclasses
    def error(self, message: str) -> ValueError:
        """A ValueError naming this layer: ``raise self.error("...")``."""
        return ValueError(f"{type(self).__name__} layer {self.name!r}: {message}")

    def arg_error(self, message: str) -> ValueError:
        """A ValueError about a constructor argument, in the house form "Dropout: `rate` must be ..."."""
        return ValueError(f"{type(self).__name__}: {message}")

    def add_weight(self, name, shape, initializer, regularizer=None, trainable=True, constraint=None) -> Weight:
        from .. import constraints, initializers

        init = initializers.get(initializer)
        shape, where, what = tuple(int(d) for d in shape), f"{type(self).__name__}.build", f"`{name}`"
        constraint = constraints.get(constraint)
        if constraint is not None:
            try:
                constraint.check_weight(shape)
            except ValueError as exc:
                raise self.error(f"the constraint of `{name}`: {exc}") from None
        # Bounded before the initializer runs: it allocates the full array (and temporaries).
        check_alloc(where, what, shape, np.float32, self.device)
        value = allocate(where, what, shape, np.float32, self.device, lambda: np.asarray(init(shape), dtype=np.float32))
        if value.shape != shape:
            raise self.error(f"initializer for `{name}` returned shape {value.shape}, expected {shape}")
        w = Weight(
            name,
            allocate(where, what, shape, np.float32, self.device, lambda: self.device.asarray(value)),
            bool(trainable),
            regularizer,
            self,
            constraint,
        )
        if trainable:
            w.grad = allocate(
                where, f"gradient of `{name}`", shape, np.float32, self.device, lambda: self.device.zeros(shape)
            )
        self._weights.append(w)
        return w

    def add_regularizer_gradients(self) -> None:
        for w in self._weights:
            if w.regularizer is not None and w.trainable and w.grad is not None:
                w.regularizer.add_gradient(w.value, w.grad)

    def buffer(self, key: str, shape: tuple, dtype=np.float32):
        """An array of ``shape`` (float32 unless ``dtype``) on the layer's device, reused for every
        call with that shape; bounded by the device's memory before it is allocated."""
        pool = self.__dict__.get("_output_pool")
        if pool is not None and key == "y":  # a transient activation (models/graph.py: TransientPool)
            return pool.take(shape, dtype, self.device)
        k = (key, shape) if dtype is np.float32 else (key, shape, np.dtype(dtype).str)
        b = self._buffers.get(k)
        if b is None:
            if len(self._buffers) > 64:  # many batch sizes: forget the old ones
                self._buffers.clear()
            b = self._buffers[k] = allocate(
                f"{type(self).__name__} layer {self.name!r}",
                f"buffer `{key}`",
                shape,
                dtype,
                self.device,
                lambda: self.device.empty(shape, dtype),
            )
        return b

    # ------------------------------------------------------------------ used by models
    def ensure_built(self, input_shape) -> tuple:
        """Build for ``input_shape`` (once); returns the output shape. Clear error on a mismatch.

        A multi-input layer receives a list of shapes."""
        if self.multi_input:
            return self._ensure_built_multi([tuple(s) for s in input_shape])
        input_shape = tuple(input_shape)
        if self.built:
            if self.input_shape is not None and not _compatible(self.input_shape, input_shape):
                raise self.error(
                    f"was built for inputs of shape {_fmt(self.input_shape)} but receives {_fmt(input_shape)}"
                )
            return self._output_shape()
        if self._declared_input_shape is not None and not _compatible(self._declared_input_shape, input_shape):
            raise self.error(
                f"declared input_shape={_fmt(self._declared_input_shape)} but receives {_fmt(input_shape)}"
            )
        self.__dict__["_building"] = True  # a subclass's super().build(shape) runs its parent's weights code
        try:
            type(self).build._create_weights(self, input_shape)
            output_shape = tuple(self.compute_output_shape(input_shape))
        except TypeError:
            if None not in input_shape:
                raise
            # a layer whose sizes must be known (a convolution's or pooling's steps/height/width,
            # a resize's input size) did arithmetic on None: a bare TypeError, not naming the layer
            raise self.error(
                f"needs a known size on every non-batch axis of its inputs, got {_fmt(input_shape)}; give the "
                f"sizes in Input(shape=...) (None, a variable size, is not supported by this layer)"
            ) from None
        finally:
            self.__dict__["_building"] = False
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.built = True
        return self.output_shape

    def _ensure_built_multi(self, shapes: list) -> tuple:
        if self.built:
            old: list = list(self.input_shape or [])
            if len(old) != len(shapes) or not all(_compatible(a, b) for a, b in zip(old, shapes)):
                raise self.error(f"was built for inputs of shapes {old} but receives {shapes}")
            return self._output_shape()
        self.__dict__["_building"] = True
        try:
            type(self).build._create_weights(self, shapes)
        finally:
            self.__dict__["_building"] = False
        self.output_shape = tuple(self.compute_output_shape(shapes))
        self.input_shape = shapes  # type: ignore[assignment]  # a list for a multi-input layer
        self.built = True
        return self.output_shape

    def _output_shape(self) -> tuple:
        """The output shape of a built layer (set by ensure_built together with ``built``)."""
        assert self.output_shape is not None, "a built layer has an output shape"
        return self.output_shape

    def _input_shape(self) -> tuple:
        """The input shape of a built layer, without the batch axis (set by ensure_built)."""
        assert self.input_shape is not None, "a built layer has an input shape"
        return self.input_shape

    def to_device(self, device) -> None:
        """Move the weights (and forget the buffers) to ``device``."""
        device = devices.get_device(device)
        if device == self.device:
            return
        with self._changing(f"{type(self).__name__}.to_device"):
            self._move_to(device)

    def _move_to(self, device) -> None:
        for w in self._weights:
            host = devices.to_numpy(w.value)
            w.value = device.asarray(host)
            if w.grad is not None:
                w.grad = device.zeros(w.value.shape)
        self._buffers.clear()
        self.device = device
        self._on_device_change()

    def _on_device_change(self) -> None:
        """Subclasses holding device arrays outside their weights move them here."""

    def __call__(self, x, training=False):
        """Keras's ``layer(x)``: builds if needed and runs the forward on a NumPy batch; returns a copy.

        Thread-safe: concurrent calls on one layer run one at a time."""
        where = f"{type(self).__name__}.__call__"
        if is_symbolic(x):  # functional API: record a node (layers/symbolic.py)
            return call_symbolic(self, x, where)
        training = as_bool(where, "training", training)
        if self.multi_input:
            if not isinstance(x, (list, tuple)) or not x:
                raise TypeError(f"{where}: layer {self.name!r} takes a list of arrays, got {type(x).__name__}")
            xs = [self._as_input(xi, where) for xi in x]
            with self._direct_call_lock():
                self.ensure_built([tuple(xi.shape[1:]) for xi in xs])
                with self.device.scope():
                    y = self.forward(xs, training=training)
                return np.array(devices.to_numpy(y), copy=True)
        x = self._as_input(x, where)
        with self._direct_call_lock():
            self.ensure_built(tuple(x.shape[1:]))
            with self.device.scope():
                y = self.forward(x, training=training)
            return np.array(devices.to_numpy(y), copy=True)

    def _as_input(self, x, where: str):
        """``x`` as a float32 array on the layer's device; clear errors for text or ragged lists."""
        return self.device.asarray(_numeric(x, where), np.float32)

    def _direct_call_lock(self):
        """What a direct call layer(x) holds: the guard of the models holding this layer, as their
        predict does (models/_guard.py: waits for a running predict, RuntimeError at once while
        another thread fits or changes them — a fit can last minutes), else the layer's own lock."""
        return self._holding(f"{type(self).__name__}.__call__", False)

    # ------------------------------------------------------------------ Keras's public API
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = as_bool(f"{type(self).__name__}.trainable", "trainable", value)
        with self._changing(f"{type(self).__name__}.trainable"):
            self._trainable = value
            Layer._trainable_version += 1

    @contextlib.contextmanager
    def _changing(self, where: str):
        """Hold the models' guard (models/_guard.py) as their changing calls do: RuntimeError at
        once if another thread is running the model. A layer in no model takes its own lock."""
        with self._holding(where, True):
            yield

    @contextlib.contextmanager
    def _reading(self, where: str):
        """Hold the models' guard as an inference call (waits for a running predict; RuntimeError
        while another thread trains or changes the model)."""
        with self._holding(where, False):
            yield

    def _holding(self, where: str, changes: bool):
        guard = self.__dict__.get("_model_guard")
        return self._call_lock if guard is None else guard.hold(where, changes)

    @property
    def weights(self) -> list[Weight]:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list[Weight]:
        return [w for w in self._weights if w.trainable and self.trainable]

    @property
    def non_trainable_weights(self) -> list[Weight]:
        return [w for w in self._weights if not (w.trainable and self.trainable)]

    def get_weights(self) -> list[np.ndarray]:
        with self._reading(f"{type(self).__name__}.get_weights"):  # never half of a set_weights
            return [w.numpy() for w in self._weights]

    def set_weights(self, weights) -> None:
        with self._changing(f"{type(self).__name__}.set_weights"):
            self._set_weights(list(weights))

    def _set_weights(self, weights) -> None:
        if len(weights) != len(self._weights):
            raise self.error(
                f"set_weights got {len(weights)} arrays but the layer has {len(self._weights)} weights "
                f"({', '.join(f'{w.name} {w.shape}' for w in self._weights) or 'none'})"
                + ("" if self.built else "; it is not built yet (give it an input shape first)")
            )
        for w, value in zip(self._weights, weights):
            value = np.asarray(devices.to_numpy(value))
            if tuple(value.shape) != w.shape:
                raise self.error(
                    f"set_weights: weight `{w.name}` has shape {w.shape}, got an array of shape {tuple(value.shape)}"
                )
        for w, value in zip(self._weights, weights):
            w.assign(value)

    def count_params(self) -> int:
        return int(sum(int(np.prod(w.shape)) for w in self._weights))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


Layer.build = _public_build(Layer._create_weights)


def _numeric(x, where: str):
    """x as an array of numbers (host or device): TypeError for text/objects, ValueError for ragged lists."""
    if hasattr(x, "__cuda_array_interface__"):
        return x
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except ValueError as exc:
            raise ValueError(
                f"{where}: `x` must be a rectangular array of numbers (every row the same length), "
                f"got a ragged {type(x).__name__}: {exc}"
            ) from None
    if x.dtype.kind not in "fiub":
        raise TypeError(
            f"{where}: `x` must hold numbers, got an array of dtype {x.dtype}; convert it, e.g. x.astype('float32')"
        )
    return x


def _declared_shape(where, input_shape, batch_input_shape, input_dim, batch_size) -> tuple | None:
    """The input shape (no batch axis) a layer's keyword arguments declare, each argument checked."""
    if batch_size is not None:
        size(where, "batch_size", batch_size)
    if input_dim is not None:
        return (size(where, "input_dim", input_dim),)
    if batch_input_shape is not None:
        return _shape(where, "batch_input_shape", batch_input_shape, batch=True)[1:]
    return None if input_shape is None else _shape(where, "input_shape", input_shape)


def _compatible(expected, got) -> bool:
    return len(expected) == len(got) and all(e is None or g is None or e == g for e, g in zip(expected, got))


def _fmt(shape) -> str:
    return str((None, *shape))


class InputLayer(Layer):
    """The input of a model: its shape without the batch axis. ``Input(shape)`` makes one."""

    def __init__(
        self,
        input_shape=None,
        batch_size=None,
        name=None,
        batch_input_shape=None,
        shape=None,
        batch_shape=None,
        sparse=False,
        ragged=False,
        **kwargs,
    ):
        if sparse or ragged:
            raise ValueError("InputLayer: sparse and ragged inputs are not supported (sinapse arrays are dense)")
        if batch_shape is not None:  # Keras 3's config key
            batch_input_shape = batch_shape
        if shape is not None:
            input_shape = _shape("InputLayer", "shape", shape)
        if input_shape is None and batch_input_shape is None:
            raise ValueError("InputLayer: give input_shape (or shape), e.g. InputLayer(input_shape=(28, 28))")
        super().__init__(
            name=name, input_shape=input_shape, batch_input_shape=batch_input_shape, batch_size=batch_size, **kwargs
        )
        if batch_size is None and batch_input_shape is not None:
            batch_size = batch_input_shape[0]
        self._batch_size = None if batch_size is None else int(batch_size)
        self.built = True
        self.input_shape = self.output_shape = self.shape
        node = Node(self, [], False)  # Keras: an InputLayer owns the node its output tensor comes from
        self.output = KerasTensor((self._batch_size, *self.shape), (self, 0, 0), name=self.name)
        node.outputs.append(self.output)

    def get_config(self) -> dict:
        return {"batch_shape": [self._batch_size, *self.shape], "dtype": "float32", "sparse": False, "name": self.name}

    @property
    def shape(self) -> tuple:
        shape = self._declared_input_shape
        assert shape is not None, "InputLayer.__init__ requires a shape"
        return shape

    def forward(self, x, training=False, mask=None):
        return x

    def backward(self, dy, need_dx=True):
        return dy


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, **kwargs) -> KerasTensor:
    """``keras.Input(shape=(28, 28, 1))``: a symbolic tensor of shape (batch_size, 28, 28, 1) (batch_size None
    unless given), the start of a functional model (``sinapse.Model(inputs, outputs)``) or the first
    entry of a Sequential. Raises ValueError for a bad shape or a dtype other than float32."""
    if dtype not in (None, "float32", np.float32):
        raise ValueError(f"Input: sinapse models compute in float32, got dtype={dtype!r}")
    # Checked here so that errors name Input's own arguments (`shape`, not InputLayer's `input_shape`).
    if shape is not None:
        _shape("Input", "shape", shape)
    if batch_shape is not None:
        _shape("Input", "batch_shape", batch_shape, batch=True)
    if batch_size is not None:
        size("Input", "batch_size", batch_size)
    if shape is None and batch_shape is None:
        raise ValueError("Input: give `shape` (without the batch axis), e.g. Input(shape=(28, 28, 1))")
    layer = InputLayer(input_shape=shape, batch_input_shape=batch_shape, batch_size=batch_size, name=name, **kwargs)
    return layer.output


def get_layer_class(name: str) -> type[Layer]:
    """The public layer class called ``name`` (built in, or a user's Layer subclass)."""
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown layer class {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return cls


def serialize(layer: Layer) -> dict:
    """{"class_name", "config"} of a layer, or of a model used as a layer (a functional model's
    class name is Keras 3's "Functional")."""
    from ..models.functional import Model

    if isinstance(layer, Model):
        from ..models.sequential import Sequential

        name = "Sequential" if isinstance(layer, Sequential) else "Functional"
        return {"class_name": name, "config": layer.get_config()}
    if not isinstance(layer, Layer):
        raise TypeError(f"serialize: `layer` must be a Layer, got {layer!r} ({type(layer).__name__})")
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict) -> Any:
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"deserialize: `config` must be a dict {{'class_name': ..., 'config': {{...}}}}, got {config!r}"
        )
    if config["class_name"] in ("Functional", "Model", "Sequential"):  # a model used as a layer
        from ..models import Model, Sequential

        cls = Sequential if config["class_name"] == "Sequential" else Model
        return cls.from_config(config.get("config", {}))
    return get_layer_class(config["class_name"]).from_config(config.get("config", {}))
