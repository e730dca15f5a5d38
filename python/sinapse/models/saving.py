"""model.save / load_model / save_weights / load_weights (the format: docs/model_format.md).

A model file is safetensors whose metadata holds ``format`` ("sinapse.model" or
"sinapse.weights"), ``format_version`` ("2"), ``sinapse_version``, ``config`` (the
architecture, JSON), ``compile`` (optimizer, loss, metrics, JSON; model files) and
``checksum`` (SHA-256 over all metadata and all tensors). Tensors: ``weights/<layer>/<i>``,
``optimizer/<key>`` and ``rng/...`` (models/_state.py). Writes are atomic
(models/_file_format.py).

Loading is ordered so that a file can neither allocate more than its own size nor load as
something other than what was saved: the file type and sizes are checked before reading,
the checksum before parsing the config, every config field before a layer is built, and
each weight's shape (from the config) against the file's tensor before it is allocated.
Every failure is a ``ModelFileError`` (a ValueError) naming the file and what is wrong.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from ..ops._checks import as_bool
from ._file_format import (
    FORMAT_MODEL,
    FORMAT_VERSION,
    FORMAT_WEIGHTS,
    MAX_NDIM,
    ModelFileError,
    parse_json,
    read_file,
    write_file,
)
from ._state import (
    UNBUILT_FILE_MAX_ELEMENTS,
    optimizer_tensors,
    restore_optimizer,
    restore_rng,
    rng_tensors,
    weights_from_file,
)

if TYPE_CHECKING:
    from ..devices import Device
    from .model_base import ModelBase

__all__ = [
    "FORMAT_MODEL",
    "FORMAT_VERSION",
    "FORMAT_WEIGHTS",
    "ModelFileError",
    "load_model",
    "load_weights",
    "save_model",
    "save_weights",
]


# ---------------------------------------------------------------------------- saving


def _weights_tensors(model) -> dict:
    return {f"weights/{i}/{j}": w.numpy() for i, layer in enumerate(model.layers) for j, w in enumerate(layer.weights)}


def _metadata(model, fmt) -> dict:
    from .. import __version__
    from .sequential import Sequential

    # A functional or traced subclassed model is saved as its graph ("Functional", Keras 3's name).
    class_name = "Sequential" if isinstance(model, Sequential) else "Functional"
    return {
        "format": fmt,
        "format_version": str(FORMAT_VERSION),
        "sinapse_version": __version__,
        "config": json.dumps({"class_name": class_name, "config": model.get_config()}),
    }


def save_model(
    model: ModelBase,
    filepath: str | os.PathLike,
    overwrite: bool = True,
    include_optimizer: bool = True,
    key: str | bytes | None = None,
    where: str = "save_model",
    training: dict | None = None,
) -> None:
    """Architecture, weights and — with ``include_optimizer`` (a checkpoint) — the compile
    config, the optimizer's state and every random generator training uses, so that
    ``load_model`` + ``fit`` continues the run bit for bit. Raises FileExistsError when
    ``overwrite`` is False and ``path`` exists; OSError from the file system (the old file intact).
    With ``key`` (bytes or str, >= 16 bytes) the checksum is an HMAC: only holders of the key can
    write a file that ``load_model(path, key=key)`` accepts (docs/model_format.md)."""
    path = filepath  # (Keras's name for the argument, which errors name)
    if _keras_kind(path) in ("keras", "h5"):  # Keras's own formats, by extension (models/keras_files.py)
        if key is not None:
            raise ValueError(f"{where}: `key` (an HMAC) applies to sinapse files; {os.fspath(path)!r} is a Keras file")
        from . import keras_files

        keras_files.save_model(model, path, overwrite=overwrite, where=where)
        return
    # flags are True/False only: overwrite="no" would otherwise replace the file (truthiness)
    overwrite, include_optimizer = (
        as_bool(where, "overwrite", overwrite),
        as_bool(where, "include_optimizer", include_optimizer),
    )
    metadata = _metadata(model, FORMAT_MODEL)
    tensors = _weights_tensors(model)
    if model._compile_config is not None and model.optimizer is not None:
        opt = model.optimizer
        compile_config = dict(model._compile_config)
        if include_optimizer:
            compile_config["optimizer"] = {"class_name": type(opt).__name__, "config": opt.get_config()}
            tensors.update(optimizer_tensors(opt))
        metadata["compile"] = json.dumps(compile_config)
    if include_optimizer:
        tensors.update(rng_tensors(model))
    if training is not None:
        metadata["training"] = json.dumps(training)
    write_file(path, tensors, metadata, overwrite, key, where)


def check_save_format(where: str, save_format) -> None:
    """Keras 3 writes one format; so does sinapse (safetensors): any other is refused, not ignored."""
    if save_format is not None and save_format != "safetensors":
        raise ValueError(
            f"{where}: `save_format` must be None or 'safetensors' (sinapse writes safetensors "
            f"files only), got {save_format!r}"
        )


def save_weights(
    model: ModelBase, path: str | os.PathLike, overwrite: bool = True, where: str = "save_weights"
) -> None:
    kind = _keras_kind(path)
    if kind == "keras":
        raise ValueError(f"{where}: a .keras file holds a whole model: use model.save({os.fspath(path)!r})")
    if kind is not None:  # .weights.h5 (Keras 3) or .h5 (Keras 2's layout)
        from . import keras_files

        keras_files.save_weights(model, path, overwrite=overwrite, where=where)
        return
    overwrite = as_bool(where, "overwrite", overwrite)
    if not model.built:
        raise ValueError(f"{where}: the model is not built, it has no weights yet")
    write_file(path, _weights_tensors(model), _metadata(model, FORMAT_WEIGHTS), overwrite, where=where)


def _keras_kind(path) -> str | None:
    """ "keras" / "h5" / "weights.h5" for a path a Keras user names so, else None (sinapse's format)."""
    from .keras_files import is_keras_path

    return is_keras_path(path)


def _keras_content(path) -> str | None:
    """ "keras" (a zip) or "hdf5" for an existing Keras file, by its first bytes; None otherwise."""
    import stat

    from .keras_files import file_kind

    try:  # never open a FIFO or a device to sniff it (an open can block): the sinapse reader refuses those
        if not isinstance(path, (str, os.PathLike)) or not stat.S_ISREG(os.stat(path).st_mode):
            return None
    except (OSError, ValueError):
        return None
    return file_kind(path)


# ---------------------------------------------------------------------------- checking a config


def _bad(path, what, value) -> ModelFileError:
    return ModelFileError(
        f"{path}: {what}, got {str(value)[:120]!r} (the file is damaged or was not written by sinapse)"
    )


def _input_shape(path, shape):
    if shape is None:
        return None
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1) for d in shape)
    ):
        raise _bad(path, f"build_input_shape must be null or a list of at most {MAX_NDIM} positive ints", shape)
    return tuple(shape)


def _architecture(metadata, path) -> tuple:
    """(name, [(class_name, config)], input shape) with every structural field type-checked."""
    if "config" not in metadata:
        raise ModelFileError(f"{path}: its architecture (config) is missing")
    config = parse_json(metadata["config"], path, "its architecture (config)")
    if not isinstance(config, dict) or set(config) != {"class_name", "config"}:
        raise _bad(path, "the architecture must be {'class_name': ..., 'config': ...}", config)
    if config["class_name"] in ("Functional", "Model"):
        return None, config["config"], None  # a graph: rebuilt by Model.from_config (_assemble)
    if config["class_name"] != "Sequential":
        raise ModelFileError(
            f"{path}: holds a {config['class_name']!r} model; sinapse loads Sequential and Functional models"
        )
    inner = config["config"]
    if not isinstance(inner, dict) or not set(inner) <= {"name", "layers", "build_input_shape"}:
        raise _bad(path, "the Sequential config must hold name, layers and build_input_shape only", inner)
    name, layer_list = inner.get("name"), inner.get("layers", [])
    if name is not None and not isinstance(name, str):
        raise _bad(path, "the model name must be a string", name)
    if not isinstance(layer_list, list):
        raise _bad(path, "layers must be a list", layer_list)
    for i, lc in enumerate(layer_list):
        if not (
            isinstance(lc, dict)
            and set(lc) == {"class_name", "config"}
            and isinstance(lc["class_name"], str)
            and isinstance(lc["config"], dict)
        ):
            raise _bad(path, f"layer {i} must be {{'class_name': str, 'config': dict}}", lc)
    return name, layer_list, _input_shape(path, inner.get("build_input_shape"))


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True)


def _make_layer(path, i, layer_config):
    """The layer, refused unless its own get_config() reads back every field the file gives
    exactly (so no field is silently coerced: "units": 10.5, "use_bias": "no")."""
    from ..layers.base import deserialize

    cls = layer_config["class_name"]
    try:
        layer = deserialize(layer_config)
        rebuilt = json.loads(json.dumps(layer.get_config()))
    except Exception as exc:  # noqa: BLE001  (any constructor's refusal, named with the file)
        raise ModelFileError(f"{path}: layer {i} ({cls}) cannot be built from its config: {exc}") from None
    for key, value in layer_config["config"].items():
        if key in rebuilt and _canonical(rebuilt[key]) != _canonical(value):
            raise ModelFileError(
                f"{path}: layer {i} ({cls}): field {key!r} is {str(value)[:80]!r}, which the "
                f"layer reads as {str(rebuilt[key])[:80]!r}; the file was edited or is damaged"
            )
    return layer


def _assemble(path, metadata, tensors):
    """The Sequential of the file's config, built with its weights taken (shape-checked) from the file."""
    from .sequential import Sequential

    name, layer_configs, shape = _architecture(metadata, path)
    if name is None and isinstance(layer_configs, dict):
        return _assemble_graph(path, layer_configs, tensors)
    layers = [_make_layer(path, i, lc) for i, lc in enumerate(layer_configs)]
    with weights_from_file(layers, tensors, path) as used:
        try:
            model = Sequential(name=name)
            model._input_shape = shape
            for layer in layers:
                model.add(layer)
            if model._input_shape is not None:
                model.build()
        except ModelFileError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ModelFileError(f"{path}: the architecture cannot be built: {exc}") from None
    extra = sorted(k for k in tensors if k.startswith("weights/") and k not in used)
    if extra:
        raise ModelFileError(
            f"{path}: holds {len(extra)} weight tensors the architecture does not use "
            f"({', '.join(extra[:5])}); the config and the weights do not match"
        )
    return model


def _assemble_graph(path, config, tensors):
    """A functional model from its config (Model.from_config), its weights set from the file."""
    from .functional import Model

    try:
        model = Model.from_config(config)
    except Exception as exc:  # noqa: BLE001  (any layer's or the graph's refusal, named with the file)
        raise ModelFileError(f"{path}: the Functional architecture cannot be built: {exc}") from None
    _assign_weights(model, tensors, path)
    return model


def _compile(model, metadata, path, device) -> None:
    from .. import optimizers

    cc = parse_json(metadata["compile"], path, "its compile config")
    if not isinstance(cc, dict) or "loss" not in cc or not set(cc) <= {"loss", "metrics", "optimizer", "loss_weights"}:
        raise _bad(path, "the compile config must hold loss, metrics, loss_weights and optimizer only", cc)
    opt = cc.get("optimizer")
    if opt is not None and not (
        isinstance(opt, dict)
        and set(opt) == {"class_name", "config"}
        and isinstance(opt["class_name"], str)
        and isinstance(opt["config"], dict)
    ):
        raise _bad(path, "the optimizer must be {'class_name': str, 'config': dict}", opt)
    if cc.get("metrics") is not None and not isinstance(cc["metrics"], list):
        raise _bad(path, "metrics must be a list", cc["metrics"])
    try:
        optimizer = optimizers.get(opt) if opt is not None else "rmsprop"
        model.compile(
            optimizer=optimizer,
            loss=cc["loss"],
            metrics=cc.get("metrics") or None,
            loss_weights=cc.get("loss_weights"),
            device=device,
        )
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{path}: its compile config (optimizer, loss, metrics) is invalid: {exc}") from None


# ---------------------------------------------------------------------------- loading


def _check_names(path, tensors) -> None:
    unknown = sorted(k for k in tensors if k.split("/")[0] not in ("weights", "optimizer", "rng"))
    if unknown:
        raise ModelFileError(
            f"{path}: unexpected tensors {', '.join(unknown[:5])} (a sinapse file holds "
            f"weights/, optimizer/ and rng/ tensors only)"
        )


def load_model(
    filepath: str | os.PathLike,
    compile: bool = True,
    device: str | Device | None = None,
    custom_objects: dict | None = None,
    safe_mode: bool = True,
    key: str | bytes | None = None,
) -> ModelBase:
    """The model saved at ``path`` by ``model.save``: architecture, weights, and (with ``compile``)
    the optimizer with its state, the loss and the metrics, on ``device`` (default: the default
    device); a checkpoint's random generators too. Raises ModelFileError (a ValueError) naming
    the file for anything but an intact sinapse model file; FileNotFoundError if there is none.
    ``safe_mode=False`` also loads format-version-1 files, whose architecture is not checksummed;
    ``key``: the file must carry an HMAC made with that key (see save_model)."""
    from .. import devices
    from ..layers.base import get_layer_class  # noqa: F401  (all layer classes registered)

    path = filepath  # (Keras's name for the argument, which errors name)
    # every argument is checked before the file is read: a bad one is the caller's error, not the file's
    compile, safe_mode = as_bool("load_model", "compile", compile), as_bool("load_model", "safe_mode", safe_mode)
    device = devices.get_device(device, "load_model") if device is not None else None
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"load_model: `custom_objects` must be None or a dict, got {custom_objects!r}"[:200])
    if _keras_content(path) is not None:  # a Keras .keras / .h5 file (models/keras_files.py)
        if key is not None:
            raise ValueError(
                f"load_model: `key` (an HMAC) applies to sinapse files; {os.fspath(path)!r} is a Keras file"
            )
        from . import keras_files

        model = keras_files.load_model(path, compile=compile)
        if device is not None:
            model.to_device(device)
        return model
    metadata, tensors = read_file(path, (FORMAT_MODEL,), safe_mode, key)
    path = os.fspath(path)
    _check_names(path, tensors)
    model = _assemble(path, metadata, tensors)
    if not model.built and safe_mode:  # its config alone decides what the first build allocates
        model._unbuilt_file = (path, UNBUILT_FILE_MAX_ELEMENTS)
    if compile and "compile" in metadata:
        _compile(model, metadata, path, device)
        restore_optimizer(model, tensors, path)
    elif device is not None:
        model.device = device
        if getattr(model, "_input_shape", None) is not None:  # (an unbuilt model's layers move when built)
            model._build_layers()
        elif not hasattr(model, "_input_shape"):
            model.to_device(device)
    restore_rng(model, tensors, path)
    return model


def restore_training_state(model: ModelBase, path: str | os.PathLike, where: str) -> dict:
    """Put a checkpoint written by ``save_model(..., training=...)`` back into ``model`` in place:
    weights (each checked against the model's: count and shapes), optimizer state and random
    generators (bit-identical resume). Returns the file's ``training`` progress dict.
    Raises ModelFileError naming the file when it is damaged or from another model."""
    metadata, tensors = read_file(path, (FORMAT_MODEL,), where=where)
    path = os.fspath(path)
    _check_names(path, tensors)
    training = parse_json(metadata.get("training", "null"), path, "training")
    if not isinstance(training, dict) or not isinstance(training.get("epoch"), int) or training["epoch"] < 0:
        raise ModelFileError(f"{path}: has no valid training progress (metadata `training`: {training!r})")
    _assign_weights(model, tensors, path)
    if model.optimizer is not None:
        restore_optimizer(model, tensors, path)
    restore_rng(model, tensors, path)
    return training


def _assign_weights(model, tensors, path) -> None:
    layers = model.layers
    for i, layer in enumerate(layers):
        arrays = []
        for j, w in enumerate(layer.weights):
            key = f"weights/{i}/{j}"
            if key not in tensors:
                raise ModelFileError(
                    f"{path}: has no weight {key} for layer {layer.name!r} ({w.name} {w.shape}); "
                    f"the file was saved from a different architecture"
                )
            arrays.append(tensors[key])
        try:
            layer.set_weights(arrays)
        except ValueError as exc:
            raise ModelFileError(
                f"{path}: does not fit this model, it was saved from a different architecture ({exc})"
            ) from None
    extra = sum(1 for k in tensors if k.startswith("weights/")) - sum(len(layer.weights) for layer in layers)
    if extra:
        raise ModelFileError(
            f"{path}: holds {extra} more weight arrays than the model has; the file was saved "
            f"from a different architecture"
        )


def load_weights(
    model: ModelBase,
    path: str | os.PathLike,
    where: str = "load_weights",
    by_name: bool = False,
    skip_mismatch: bool = False,
) -> None:
    """Set the model's weights from a file of ``save_weights`` or ``save``. An unbuilt model is
    built for the file's input shape, each weight checked against the file before it is allocated.
    ``by_name`` / ``skip_mismatch`` are Keras's options for its HDF5 files only."""
    by_name, skip_mismatch = as_bool(where, "by_name", by_name), as_bool(where, "skip_mismatch", skip_mismatch)
    if _keras_content(path) is not None:  # Keras .weights.h5 / .keras / .h5 (models/keras_files.py)
        from . import keras_files

        keras_files.load_weights(model, path, by_name=by_name, skip_mismatch=skip_mismatch, where=where)
        return
    if by_name or skip_mismatch:
        raise ValueError(
            f"{where}: `by_name` and `skip_mismatch` apply to Keras .h5 weight files only; "
            f"{os.fspath(path)!r} is read as a sinapse file (weights in layer order)"
        )
    metadata, tensors = read_file(path, (FORMAT_WEIGHTS, FORMAT_MODEL), where=where)
    path = os.fspath(path)
    if not model.built:
        _, _, shape = _architecture(metadata, path)
        with weights_from_file(model.layers, tensors, path):
            try:
                model.build(shape)
            except ModelFileError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise ModelFileError(
                    f"{path}: cannot build this model for the file's input shape {shape}: {exc}"
                ) from None
    _assign_weights(model, tensors, path)
