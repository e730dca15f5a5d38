"""Model files: architecture + weights + optimizer state in one safetensors file.

Format ("sinapse.model", version 1). A safetensors file (a JSON header, then raw
little-endian tensors; loading never executes code) whose header metadata holds:

- ``format``: "sinapse.model" (``model.save``) or "sinapse.weights" (``save_weights``)
- ``format_version``: "1"; a file of a newer version is refused
- ``sinapse_version``: the version that wrote it
- ``config``: the model's architecture as JSON (``Sequential.get_config()``)
- ``compile``: JSON of the optimizer (class and config), loss and metrics (model files)
- ``checksum``: "sha256:<hex>" over every tensor's name, dtype, shape and bytes in name order

Tensors: ``weights/<layer index>/<weight index>`` (float32), and ``optimizer/<key>`` for
each entry of ``optimizer.get_state()``. Files are written atomically: a temporary file
in the same directory, flushed and fsync'ed, then renamed over the target.
Loading checks the header, the format and version, and the checksum, and raises
``ModelFileError`` (a ValueError) naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile

import numpy as np

from .. import devices

FORMAT_MODEL, FORMAT_WEIGHTS = "sinapse.model", "sinapse.weights"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A file that is not a (complete, intact, supported) sinapse model file."""


def _checksum(tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.require(tensors[name], requirements="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()


def _weights_tensors(model) -> dict[str, np.ndarray]:
    return {f"weights/{i}/{j}": w.numpy() for i, layer in enumerate(model.layers) for j, w in enumerate(layer.weights)}


def _write(path, tensors: dict, metadata: dict, overwrite: bool) -> None:
    from safetensors.numpy import save

    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False")
    metadata = {**metadata, "checksum": _checksum(tensors)}
    data = save({k: np.require(v, requirements="C") for k, v in tensors.items()}, metadata=metadata)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _read(path, expected_formats) -> tuple[dict, dict]:
    from safetensors.numpy import load

    path = os.fspath(path)
    if os.path.isdir(path):
        raise ModelFileError(f"{path} is a directory (a Keras SavedModel?), not a sinapse model file")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ModelFileError(f"{path}: not a sinapse model file (only {len(data)} bytes; truncated?)")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise ModelFileError(f"{path}: not a sinapse model file, or truncated (its header claims {header_len} bytes, "
                             f"the file has {len(data) - 8} after the length)")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
        metadata = header.get("__metadata__") or {}
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise ModelFileError(f"{path}: not a sinapse model file (its header is not safetensors JSON)") from None
    fmt = metadata.get("format")
    if fmt not in (FORMAT_MODEL, FORMAT_WEIGHTS):
        raise ModelFileError(f"{path}: not a sinapse model file (format {fmt!r}; expected {FORMAT_MODEL!r})")
    if fmt not in expected_formats:
        raise ModelFileError(f"{path}: holds {fmt!r}, expected {' or '.join(map(repr, expected_formats))} "
                             f"(weights-only files load with model.load_weights)")
    try:
        version = int(metadata.get("format_version", ""))
    except ValueError:
        raise ModelFileError(f"{path}: bad format_version {metadata.get('format_version')!r}") from None
    if version > FORMAT_VERSION or version < 1:
        raise ModelFileError(f"{path}: format version {version} is not supported by this sinapse "
                             f"(it reads versions 1 to {FORMAT_VERSION}); upgrade sinapse")
    try:
        tensors = load(data)
    except Exception as exc:  # noqa: BLE001  (safetensors raises its own error type)
        raise ModelFileError(f"{path}: corrupted or truncated tensor data ({exc})") from None
    if metadata.get("checksum") != _checksum(tensors):
        raise ModelFileError(f"{path}: checksum mismatch — the file is corrupted (its tensors do not match the "
                             f"checksum written with them)")
    return metadata, tensors


def _metadata(model, fmt) -> dict:
    from .. import __version__

    return {"format": fmt, "format_version": str(FORMAT_VERSION), "sinapse_version": __version__,
            "config": json.dumps({"class_name": type(model).__name__, "config": model.get_config()})}


def save_model(model, path, overwrite=True, include_optimizer=True) -> None:
    metadata = _metadata(model, FORMAT_MODEL)
    tensors = _weights_tensors(model)
    if model._compile_config is not None and model.optimizer is not None:
        opt = model.optimizer
        compile_config = dict(model._compile_config)
        if include_optimizer:
            compile_config["optimizer"] = {"class_name": type(opt).__name__, "config": opt.get_config()}
            for key, value in opt.get_state().items():
                tensors[f"optimizer/{key}"] = np.asarray(devices.to_numpy(value))
        metadata["compile"] = json.dumps(compile_config)
    _write(path, tensors, metadata, overwrite)


def save_weights(model, path, overwrite=True) -> None:
    if not model.built:
        raise ValueError(f"{model.name}.save_weights: the model is not built, it has no weights yet")
    _write(path, _weights_tensors(model), _metadata(model, FORMAT_WEIGHTS), overwrite)


def _assign_weights(model, tensors, path) -> None:
    layers = model.layers
    for i, layer in enumerate(layers):
        arrays = []
        for j, w in enumerate(layer.weights):
            key = f"weights/{i}/{j}"
            if key not in tensors:
                raise ModelFileError(f"{path}: has no weight {key} for layer {layer.name!r} ({w.name} {w.shape}); "
                                     f"the file was saved from a different architecture")
            arrays.append(tensors[key])
        try:
            layer.set_weights(arrays)
        except ValueError as exc:
            raise ModelFileError(f"{path}: does not fit this model, it was saved from a different architecture "
                                 f"({exc})") from None
    extra = sum(1 for k in tensors if k.startswith("weights/")) - sum(len(layer.weights) for layer in layers)
    if extra:
        raise ModelFileError(f"{path}: holds {extra} more weight arrays than the model has; the file was saved "
                             f"from a different architecture")


def load_weights(model, path) -> None:
    metadata, tensors = _read(path, (FORMAT_WEIGHTS, FORMAT_MODEL))
    if not model.built:
        shape = json.loads(metadata["config"])["config"].get("build_input_shape")
        model.build(shape)
    _assign_weights(model, tensors, os.fspath(path))


def load_model(path, compile=True, device=None, custom_objects=None):
    """The model saved at ``path`` by ``model.save``: architecture, weights and (with ``compile``)
    the optimizer with its state, the loss and the metrics, on ``device`` (default: the default device)."""
    from ..layers.base import get_layer_class  # noqa: F401  (all layer classes registered)
    from .sequential import Sequential

    metadata, tensors = _read(path, (FORMAT_MODEL,))
    path = os.fspath(path)
    try:
        config = json.loads(metadata["config"])
    except (KeyError, json.JSONDecodeError):
        raise ModelFileError(f"{path}: its architecture (config) is missing or not JSON") from None
    if config.get("class_name") != "Sequential":
        raise ModelFileError(f"{path}: holds a {config.get('class_name')!r} model; sinapse loads Sequential models")
    model = Sequential.from_config(config["config"])
    if model._input_shape is not None:
        model.build()
    _assign_weights(model, tensors, path)
    if compile and "compile" in metadata:
        cc = json.loads(metadata["compile"])
        optimizer = cc.get("optimizer")
        if optimizer is not None:
            from .. import optimizers

            optimizer = optimizers.get(optimizer)
        else:
            optimizer = "rmsprop"
        model.compile(optimizer=optimizer, loss=cc["loss"], metrics=cc.get("metrics") or None, device=device)
        state = {k[len("optimizer/"):]: v for k, v in tensors.items() if k.startswith("optimizer/")}
        if state:
            model.optimizer.set_state(state)
    elif device is not None:
        model.device = devices.get_device(device)
        model._build_layers()
    return model
