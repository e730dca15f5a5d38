"""What a model file restores besides the architecture: weights (allocated only once their shape
is checked against the file), the optimizer's state (validated at load, not at the first step),
and every random generator training consumes (so a resumed run is bit-identical).

Tensor names: ``weights/<layer>/<weight>`` (float32), ``optimizer/<get_state key>``,
``rng/<layer>/<name>`` (a layer's ``get_rng_state()``: Dropout's Philox seed and offset, uint64)
and ``rng/shuffle`` (the model's batch-shuffling PCG64 generator, uint64[6]).
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np

from .. import devices
from ._file_format import ModelFileError

_MASK64 = 2**64 - 1
SHUFFLE = "rng/shuffle"


# ---------------------------------------------------------------------------- weights


@contextlib.contextmanager
def weights_from_file(layers, tensors: dict, path: str):
    """While active, building a layer takes each weight from the file instead of its initializer,
    after checking the shape the config asks for against the tensor's: a config that declares
    ``Dense(units=10**9)`` with a small kernel in the file is refused before anything is allocated.
    Yields the set of tensor names used."""
    from ..layers.base import Layer

    used: set[str] = set()

    def hook(i, layer):
        counter = itertools.count()

        def add_weight(name, shape, initializer=None, *args, **kwargs):
            key = f"weights/{i}/{next(counter)}"
            shape = tuple(int(d) if isinstance(d, (int, np.integer)) else d for d in shape)
            arr = tensors.get(key)
            if arr is None:
                raise ModelFileError(
                    f"{path}: layer {i} ({layer.name!r}) needs weight `{name}` of shape {shape}, "
                    f"but the file has no tensor {key}; the architecture does not match the weights"
                )
            if arr.dtype != np.float32 or tuple(arr.shape) != shape:
                raise ModelFileError(
                    f"{path}: layer {i} ({layer.name!r}): its config asks for weight `{name}` of "
                    f"shape {shape} float32, the file's tensor {key} is {tuple(arr.shape)} "
                    f"{arr.dtype}; the architecture does not match the weights (edited file?)"
                )
            used.add(key)
            return Layer.add_weight(
                layer, name, shape, lambda s, dtype=None: np.array(arr, np.float32), *args, **kwargs
            )

        return add_weight

    for i, layer in enumerate(layers):
        layer.add_weight = hook(i, layer)  # an instance attribute shadows Layer.add_weight
    try:
        yield used
    finally:
        for layer in layers:
            layer.__dict__.pop("add_weight", None)


# ---------------------------------------------------------------------------- unbuilt files

# A model file saved unbuilt holds no weights, only its config: the first build (at the first
# predict / fit / build) creates what the config says. Loaded with safe_mode=True, that build
# may create at most this many weight elements (1 GiB of float32) in all: a forged 2 kB file
# asking for Dense(units=30_000_000) is refused instead of allocating gigabytes.
UNBUILT_FILE_MAX_ELEMENTS = 2**28


@contextlib.contextmanager
def bounded_weights(layers, limit: int, path: str):
    """While active, building ``layers`` raises ModelFileError (naming ``path``) before allocating
    a weight that takes the total past ``limit`` elements; layers left half-built are reset."""
    from ..layers.base import Layer

    total = [sum(int(np.prod(w.shape, dtype=object)) for layer in layers for w in layer.weights)]

    def hook(layer):
        def add_weight(name, shape, *args, **kwargs):
            n = int(np.prod([int(d) for d in shape], dtype=object))
            total[0] += n
            if total[0] > limit:
                raise ModelFileError(
                    f"{path}: was saved unbuilt (no weights); building it would create more than {limit:,} weight "
                    f"elements (layer {layer.name!r} asks for `{name}` of shape {tuple(shape)}), the bound for such "
                    f"files loaded with safe_mode=True. If you trust the file, load it with safe_mode=False"
                )
            return Layer.add_weight(layer, name, shape, *args, **kwargs)

        return add_weight

    for layer in layers:
        layer.add_weight = hook(layer)  # an instance attribute shadows Layer.add_weight
    try:
        yield
    except BaseException:
        for layer in layers:
            if not layer.built:
                layer._weights.clear()  # the weights of the refused build
        raise
    finally:
        for layer in layers:
            layer.__dict__.pop("add_weight", None)


# ---------------------------------------------------------------------------- optimizer


def optimizer_tensors(optimizer) -> dict:
    return {f"optimizer/{k}": np.asarray(devices.to_numpy(v)) for k, v in optimizer.get_state().items()}


def restore_optimizer(model, tensors: dict, path: str) -> None:
    """Validate the saved state against the model's trainable weights now, then hand it over."""
    state = {k[len("optimizer/") :]: v for k, v in tensors.items() if k.startswith("optimizer/")}
    if not state:
        return
    opt = model.optimizer
    try:
        opt.check_state(state, [w.shape for w in model.trainable_weights])
        opt.set_state(state)
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{path}: its optimizer state does not fit the model ({exc})") from None


# ---------------------------------------------------------------------------- random generators


def _generator_array(gen: np.random.Generator) -> np.ndarray:
    st = gen.bit_generator.state
    if st.get("bit_generator") != "PCG64":
        raise ValueError(f"the shuffling generator is {st.get('bit_generator')}, sinapse saves PCG64 only")
    s, inc = st["state"]["state"], st["state"]["inc"]
    return np.array([s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, st["has_uint32"], st["uinteger"]], np.uint64)


def _generator_from(arr, path: str) -> np.random.Generator:
    if arr.dtype != np.uint64 or arr.shape != (6,):
        raise ModelFileError(f"{path}: {SHUFFLE} must be uint64 of shape (6,), got {arr.dtype} {arr.shape}")
    s_hi, s_lo, i_hi, i_lo, has, extra = (int(v) for v in arr)
    if has > 1 or extra > 0xFFFFFFFF or not i_lo & 1:
        raise ModelFileError(
            f"{path}: {SHUFFLE} is not a PCG64 state (has_uint32={has}, uinteger={extra}, "
            f"increment odd: {bool(i_lo & 1)})"
        )
    bits = np.random.PCG64(0)
    bits.state = {
        "bit_generator": "PCG64",
        "state": {"state": s_hi << 64 | s_lo, "inc": i_hi << 64 | i_lo},
        "has_uint32": has,
        "uinteger": extra,
    }
    return np.random.Generator(bits)


def rng_tensors(model) -> dict:
    """Every random state training consumes: each layer's get_rng_state() and the shuffling generator."""
    tensors = {}
    for i, layer in enumerate(model.layers):
        if layer.built and hasattr(layer, "get_rng_state"):
            tensors.update({f"rng/{i}/{k}": v for k, v in layer.get_rng_state().items()})
    gen = getattr(model, "_shuffle_rng", None)
    if gen is not None:
        tensors[SHUFFLE] = _generator_array(gen)
    return tensors


def restore_rng(model, tensors: dict, path: str) -> None:
    per_layer: dict[int, dict] = {}
    for key, value in tensors.items():
        if not key.startswith("rng/") or key == SHUFFLE:
            continue
        parts = key.split("/")
        if (
            len(parts) != 3
            or not parts[1].isdigit()
            or int(parts[1]) >= len(model.layers)
            or not hasattr(model.layers[int(parts[1])], "set_rng_state")
        ):
            raise ModelFileError(f"{path}: unexpected tensor {key} (no layer of the model has that random state)")
        per_layer.setdefault(int(parts[1]), {})[parts[2]] = value
    for i, state in per_layer.items():
        try:
            model.layers[i].set_rng_state(state)
        except (ValueError, TypeError) as exc:
            raise ModelFileError(
                f"{path}: the random state of layer {i} ({model.layers[i].name!r}) is invalid ({exc})"
            ) from None
    if SHUFFLE in tensors:
        restored = _generator_from(tensors[SHUFFLE], path)
        gen = getattr(model, "_shuffle_rng", None)
        if gen is None:
            model._shuffle_rng = restored
        else:  # in place: a fit already running (BackupAndRestore) holds this generator
            gen.bit_generator.state = restored.bit_generator.state
