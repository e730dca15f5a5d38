"""Keras weight and model files: Keras 3 ``.weights.h5`` and ``.keras``, legacy Keras 2 ``.h5``.

Layouts (read from keras/src/saving/saving_lib.py and keras/src/legacy/saving/
legacy_h5_format.py of Keras 3.15.1, and checked on files it writes; docs/keras_files.md):

* Keras 3 ``.weights.h5`` (HDF5): a layer's weights are the datasets ``0``, ``1``, ... of the
  group ``layers/<key>/vars`` (attribute ``name``: the layer's name), where ``<key>`` is the
  layer's class name in snake case, made unique in its model by ``_1``, ``_2``, ... in layer
  order (``layers/dense``, ``layers/dense_1``, ``layers/batch_normalization``): weights are
  matched by position and class, not by layer name. Recurrent layers keep theirs in
  ``layers/lstm/cell/vars``; a nested model's layers are under ``layers/<its key>/layers/``;
  a wrapper's layers under their Keras attribute names (``layers/bidirectional/forward_layer/
  cell/vars``, ``.../backward_layer/cell/vars``, ``layers/time_distributed/layer/vars``);
  a layer's trainable weights come first, then the others (its ``add_weight`` order within
  each). ``optimizer/vars`` (Keras's optimizer state) is neither read nor written.
* ``.keras``: a zip of ``metadata.json``, ``config.json`` (the model's
  ``serialize_keras_object``; models/keras_config.py) and ``model.weights.h5`` as above.
* Legacy ``.h5``: the group ``model_weights`` (``model.save``) or the file's root
  (Keras 2's ``save_weights``) has the attribute ``layer_names``; each layer's group has
  ``weight_names`` naming its datasets (trainable weights, then the others). ``model.save``
  adds the attributes ``model_config`` and ``training_config`` (JSON). Loading matches the
  layers that have weights in order, or with ``by_name=True`` by name.

Writes are atomic (models/_file_format.py: a temporary file renamed over the target). A
load checks every array of the file against the model before it assigns any, so a failed
load leaves the model as it was. Errors are ``ModelFileError`` (a ValueError) naming the
file, the layer and the shapes. h5py is needed (``pip install sinapse[keras-files]``).
"""

from __future__ import annotations

import datetime
import io
import json
import os
import re
import stat
import warnings
import zipfile

import numpy as np

from ..ops._checks import as_bool
from ._file_format import ModelFileError, atomic_write, check_filepath, parse_json
from .keras_config import (
    KerasConfigError,
    compile_entry,
    is_model,
    keras_class_name,
    model_entry,
    model_from_entry,
    nested_layers,
)

KERAS_VERSION = "3.15.1"  # the Keras release whose layouts these files follow
MAX_JSON_BYTES = 64 * 2**20  # config.json / metadata.json of a .keras file
_RECURRENT = {"SimpleRNN", "LSTM", "GRU"}
_HDF5_MAGIC, _ZIP_MAGIC = b"\x89HDF\r\n\x1a\n", b"PK\x03\x04"
_ATTR_LIMIT = 64512  # HDF5's object header limit: Keras splits longer attributes into chunks


def _h5py(where: str):
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{where}: Keras .h5/.keras files need h5py: pip install h5py (or sinapse[keras-files])"
        ) from None
    return h5py


def is_keras_path(path) -> str | None:
    """ "weights.h5", "h5" (also .hdf5) or "keras" by the file name's extension, else None."""
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else ""
    name = name.lower() if isinstance(name, str) else ""
    if name.endswith(".weights.h5"):
        return "weights.h5"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    if name.endswith(".keras"):
        return "keras"
    return None


def file_kind(path) -> str | None:
    """What an existing file holds, by its first bytes: "keras" (a zip), "hdf5", or None
    (e.g. a sinapse safetensors file, which older sinapse versions also wrote to ``*.keras``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    return "keras" if head.startswith(_ZIP_MAGIC) else "hdf5" if head == _HDF5_MAGIC else None


# ---------------------------------------------------------------------------- weight maps


def _snake(name: str) -> str:
    """keras/src/utils/naming.py to_snake_case (differs from layers.base._snake on digits)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(name: str, used: dict) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _own_order(layer) -> list:
    """Keras 3's save_own_variables order: the trainable weights (as created), then the others."""
    ws = list(layer.weights)
    return [w for w in ws if w.trainable] + [w for w in ws if not w.trainable]


def keras3_entries(model, prefix: str = "") -> list:
    """[(vars group path, layer, [weights])] of a model in Keras 3's layout, nested models flattened."""
    entries: list = []
    used: dict = {}
    for layer in model.layers:
        path = f"{prefix}layers/{_unique(_snake(keras_class_name(layer)), used)}"
        if is_model(layer):
            entries.append((f"{path}/vars", layer, []))
            entries.extend(keras3_entries(layer, path + "/"))
        else:
            entries.extend(_layer_entries(layer, path))
    return entries


def _layer_entries(layer, path: str) -> list:
    """One layer's entries; a wrapper's layers under their Keras attribute names
    (``layers/bidirectional/forward_layer/cell/vars``, ``layers/time_distributed/layer/vars``)."""
    nested = nested_layers(layer)
    if nested:
        entries: list = [(f"{path}/vars", layer, [])]
        for attr, _, inner in nested:
            entries.extend(_layer_entries(inner, f"{path}/{attr}"))
        return entries
    if keras_class_name(layer) in _RECURRENT:
        return [(f"{path}/vars", layer, []), (f"{path}/cell/vars", layer, _own_order(layer))]
    return [(f"{path}/vars", layer, _own_order(layer))]


def _legacy_order(layer) -> list:
    """legacy_h5_format._legacy_weights: trainable_weights + non_trainable_weights, where a frozen
    layer (or model) lists all its weights as created and a weight is trainable only if its layer is."""
    ws = list(layer.weights)
    if not getattr(layer, "trainable", True):
        return ws
    live = [w.trainable and getattr(w.layer, "trainable", True) for w in ws]
    return [w for w, t in zip(ws, live) if t] + [w for w, t in zip(ws, live) if not t]


def _legacy_name(layer, w) -> str:
    """The dataset name Keras 3 writes: the variable's path (model/layer/weight; cells nested)."""
    owner = w.layer
    cell = f"{_snake(keras_class_name(owner))}_cell/" if keras_class_name(owner) in _RECURRENT else ""
    inner = f"{owner.name}/" if owner is not layer else ""
    return f"{layer.name}/{inner}{cell}{w.name}"


# ---------------------------------------------------------------------------- writing


def _float32(w) -> np.ndarray:
    return np.ascontiguousarray(w.numpy(), dtype=np.float32)


def _keras3_h5_bytes(model, h5py) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("vars").attrs["name"] = model.name
        for path, layer, weights in keras3_entries(model):
            group = f.require_group(path)
            group.attrs["name"] = (
                layer.name if not path.endswith("/cell/vars") else f"{_snake(type(layer).__name__)}_cell"
            )
            for i, w in enumerate(weights):
                group.create_dataset(str(i), data=_float32(w))
    return buf.getvalue()


def _write_names(group, name: str, names: list) -> None:
    """Keras's save_attributes_to_hdf5_group: a list of byte strings, chunked past HDF5's header limit."""
    data = np.asarray([n.encode("utf8") for n in names]) if names else np.asarray([])
    chunks = 1
    while data.nbytes / chunks > _ATTR_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, part in enumerate(np.array_split(data, chunks)):
            group.attrs[f"{name}{i}"] = part


def _write_legacy(f, model) -> None:
    layers = list(model.layers)
    _write_names(f, "layer_names", [layer.name for layer in layers])
    f.attrs["backend"], f.attrs["keras_version"] = b"sinapse", KERAS_VERSION.encode()
    for layer in sorted(layers, key=lambda x: x.name):
        group = f.create_group(layer.name)
        weights = _legacy_order(layer)
        names = [_legacy_name(layer, w) for w in weights]
        _write_names(group, "weight_names", names)
        for name, w in zip(names, weights):
            group.create_dataset(name, data=_float32(w))
    _write_names(f.create_group("top_level_model_weights"), "weight_names", [])


def _legacy_h5_bytes(model, h5py, with_config: bool) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        if with_config:  # model.save(".h5"): the weights in model_weights, the architecture in attrs
            entry = model_entry(model, "save_model")
            f.attrs["model_config"] = json.dumps(
                {"class_name": entry["class_name"], "config": entry["config"]}
            ).encode()
            f.attrs["backend"], f.attrs["keras_version"] = b"sinapse", KERAS_VERSION.encode()
            compiled = compile_entry(model)
            if compiled is not None:  # legacy_h5_format's training_config: the optimizer as optimizer_config
                opt = compiled.pop("optimizer")
                compiled["optimizer_config"] = {"class_name": opt["class_name"], "config": opt["config"]}
                f.attrs["training_config"] = json.dumps(compiled).encode()
            _write_legacy(f.create_group("model_weights"), model)
        else:
            _write_legacy(f, model)
    return buf.getvalue()


def _save_arguments(model, path, overwrite, kinds: tuple, where: str) -> tuple:
    """(path, overwrite, kind, h5py) of a save, every argument checked before anything is written."""
    path = check_filepath(where, path)
    overwrite = as_bool(where, "overwrite", overwrite)
    kind = is_keras_path(path)
    if kind not in kinds:
        raise ValueError(
            f"{where}: Keras files of this kind end in {' or '.join('.' + k for k in kinds)}, got {path!r}"
        )
    h5py = _h5py(where)
    if not getattr(model, "built", True) or not model.layers:
        raise ValueError(f"{where}: the model is not built, it has no weights yet")
    return path, overwrite, kind, h5py


def save_weights(model, path, overwrite: bool = True, where: str = "save_weights") -> None:
    """The model's weights as a Keras 3 ``.weights.h5`` file, or a legacy Keras 2 ``.h5`` file
    for any other ``.h5``/``.hdf5`` name, written atomically. FileExistsError when ``path``
    exists and ``overwrite`` is False; ValueError for another extension or an unbuilt model."""
    path, overwrite, kind, h5py = _save_arguments(model, path, overwrite, ("weights.h5", "h5"), where)
    data = _keras3_h5_bytes(model, h5py) if kind == "weights.h5" else _legacy_h5_bytes(model, h5py, False)
    atomic_write(path, lambda f: f.write(data), overwrite, where)


def save_model(model, path, overwrite: bool = True, where: str = "save_model") -> None:
    """The model as a Keras 3 ``.keras`` file (config.json, metadata.json, model.weights.h5) that
    Keras 3 loads with ``keras.models.load_model``, or as a legacy ``.h5`` (architecture in the
    ``model_config`` attribute, weights in ``model_weights``); written atomically.
    KerasConfigError (a ValueError) for a layer Keras has no built-in class for."""
    path, overwrite, kind, h5py = _save_arguments(model, path, overwrite, ("keras", "h5"), where)
    if kind == "h5":
        data = _legacy_h5_bytes(model, h5py, True)
        atomic_write(path, lambda f: f.write(data), overwrite, where)
        return
    entry = model_entry(model, where)
    entry["compile_config"] = compile_entry(model)
    from .. import __version__

    metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    metadata["sinapse_version"] = __version__
    weights = _keras3_h5_bytes(model, h5py)

    def write(f):
        with zipfile.ZipFile(f, "w") as z:
            z.writestr("metadata.json", json.dumps(metadata))
            z.writestr("config.json", json.dumps(entry))
            z.writestr("model.weights.h5", weights)

    atomic_write(path, write, overwrite, where)


# ---------------------------------------------------------------------------- reading


def _open_h5(h5py, source, path: str):
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable HDF5 file (truncated or corrupted?): {str(exc)[:200]}") from None


def _describe(weights) -> str:
    return ", ".join(f"{w.name} {w.shape}" for w in weights) or "none"


def _array(ds, path: str, where: str) -> np.ndarray:
    """A dataset's values as float32 (Keras's bfloat16 datasets are uint16 with a dtype attribute)."""
    try:
        if ds.attrs.get("dtype") == "bfloat16":
            return (np.asarray(ds, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        if ds.dtype.kind not in "fiu":
            raise ModelFileError(f"{path}: {where} holds {ds.dtype} values, not numbers")
        return np.asarray(ds, dtype=np.float32)
    except (OSError, KeyError) as exc:
        raise ModelFileError(f"{path}: cannot read {where} (truncated or corrupted?): {str(exc)[:200]}") from None


class _Plan:
    """The (weight, array) pairs a load assigns, collected and checked before any is assigned."""

    def __init__(self, path: str, skip_mismatch: bool):
        self.path, self.skip = path, skip_mismatch
        self.pairs: list = []

    def mismatch(self, message: str, skippable: bool = True) -> None:
        if self.skip and skippable:
            warnings.warn(f"{self.path}: skipped: {message}", UserWarning, stacklevel=4)
            return
        raise ModelFileError(f"{self.path}: {message}")

    def assign(self) -> None:
        for w, value in self.pairs:
            w.assign(value)


def _datasets(group, h5py) -> list:
    if not isinstance(group, h5py.Group):
        return []
    keys = [k for k in group if isinstance(group[k], h5py.Dataset)]
    return [group[k] for k in sorted(keys, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))]


def _plan_keras3(model, f, plan: _Plan, h5py) -> None:
    visited = set()
    for vars_path, layer, weights in keras3_entries(model):
        visited.add(vars_path)
        group = f.get(vars_path)
        arrays = _datasets(group, h5py)
        if not weights and not arrays:
            continue
        what = f"layer {layer.name!r} ({type(layer).__name__})"
        saved = f" (saved from layer {group.attrs.get('name')!r})" if isinstance(group, h5py.Group) else ""
        if len(arrays) != len(weights):
            plan.mismatch(
                f"{what} has {len(weights)} weights ({_describe(weights)}); the file's {vars_path}{saved} holds "
                f"{len(arrays)} ({', '.join(str(a.shape) for a in arrays) or 'none: no such group'})"
            )
            continue
        bad = [(w, a) for w, a in zip(weights, arrays) if tuple(a.shape) != w.shape]
        if bad:
            w, a = bad[0]
            plan.mismatch(f"{what}: weight `{w.name}` has shape {w.shape}, the file's {a.name}{saved} has {a.shape}")
            continue
        plan.pairs += [(w, _array(a, plan.path, a.name)) for w, a in zip(weights, arrays)]
    extra: list = []
    if isinstance(f.get("layers"), h5py.Group):
        f["layers"].visititems(lambda _, obj: extra.append(obj.parent.name) if isinstance(obj, h5py.Dataset) else None)
    extra = sorted({g.lstrip("/") for g in extra} - visited)
    if extra:
        plan.mismatch(f"holds weights for layers this model does not have: {', '.join(extra[:5])}")


def _names(attrs, name: str) -> list[str]:
    """load_attributes_from_hdf5_group: a list attribute, possibly chunked as name0, name1, ..."""
    if name in attrs:
        data = list(attrs[name])
    else:
        data, i = [], 0
        while f"{name}{i}" in attrs:
            data += list(attrs[f"{name}{i}"])
            i += 1
    return [n.decode("utf8") if isinstance(n, bytes) else str(n) for n in data]


def _legacy_root(f, path: str):
    if "layer_names" in f.attrs or "layer_names0" in f.attrs:
        return f
    if "model_weights" in f:
        return f["model_weights"]
    raise ModelFileError(
        f"{path}: an HDF5 file without Keras weights (no layer_names attribute, no model_weights group); "
        f"a Keras 3 weights file must be named *.weights.h5"
    )


def _legacy_arrays(group, layer_name: str, plan: _Plan, h5py) -> list:
    sub = group.get(layer_name)
    if not isinstance(sub, h5py.Group):
        raise ModelFileError(f"{plan.path}: layer_names lists {layer_name!r}, but the file has no group for it")
    arrays = []
    for name in _names(sub.attrs, "weight_names"):
        ds = sub.get(name)
        if not isinstance(ds, h5py.Dataset):
            raise ModelFileError(f"{plan.path}: layer {layer_name!r} names the weight {name!r}, which is missing")
        arrays.append(ds)
    return arrays


def _plan_legacy_layer(layer, arrays, label: str, plan: _Plan, count_skippable: bool) -> None:
    weights = _legacy_order(layer)
    what = f"layer {layer.name!r} ({type(layer).__name__})"
    if len(arrays) != len(weights):
        return plan.mismatch(
            f"{what} has {len(weights)} weights ({_describe(weights)}); the file's layer {label!r} holds "
            f"{len(arrays)} ({', '.join(str(a.shape) for a in arrays) or 'none'})",
            skippable=count_skippable,
        )
    for w, a in zip(weights, arrays):
        if tuple(a.shape) != w.shape:  # Keras skips (or refuses) weight by weight here
            plan.mismatch(f"{what}: weight `{w.name}` has shape {w.shape}, the file's {a.name} has {a.shape}")
        else:
            plan.pairs.append((w, _array(a, plan.path, a.name)))


def _plan_legacy(model, f, plan: _Plan, by_name: bool, h5py) -> None:
    group = _legacy_root(f, plan.path)
    names = _names(group.attrs, "layer_names")
    saved = [(n, _legacy_arrays(group, n, plan, h5py)) for n in names]
    if by_name:  # load_weights_from_hdf5_group_by_name: layers without a match are left as they are
        index: dict = {}
        for layer in model.layers:
            index.setdefault(layer.name, []).append(layer)
        for name, arrays in saved:
            for layer in index.get(name, []):
                _plan_legacy_layer(layer, arrays, name, plan, True)
        return
    layers = [layer for layer in model.layers if _legacy_order(layer)]
    saved = [(n, a) for n, a in saved if a]
    if len(saved) != len(layers):  # Keras refuses this even with skip_mismatch
        raise ModelFileError(
            f"{plan.path}: holds weights for {len(saved)} layers ({', '.join(n for n, _ in saved[:8])}), the "
            f"model has {len(layers)} layers with weights ({', '.join(x.name for x in layers[:8])}); "
            f"load by layer name with by_name=True"
        )
    for (name, arrays), layer in zip(saved, layers):
        _plan_legacy_layer(layer, arrays, name, plan, False)


def _zip_member(z, name: str, limit: int, path: str) -> bytes:
    try:
        info = z.getinfo(name)
    except KeyError:
        raise ModelFileError(f"{path}: not a Keras .keras file (the zip has no {name})") from None
    if info.file_size > limit:
        raise ModelFileError(f"{path}: {name} claims {info.file_size} bytes, more than the {limit} this model can need")
    try:
        return z.read(name)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFileError(f"{path}: cannot read {name} from the zip (truncated or corrupted?): {exc}") from None


def _open_zip(path: str):
    try:
        return zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFileError(f"{path}: not a readable .keras zip file (truncated or corrupted?): {exc}") from None


def _weights_limit(model) -> int:
    """The most bytes a weights file for ``model`` can sensibly hold (float64 and HDF5 overhead included)."""
    return 8 * sum(int(np.prod(w.shape)) for w in model.weights) + 2**20 + 4096 * len(keras3_entries(model))


def _plan_for(model, path: str, kind: str, plan: _Plan, by_name: bool, h5py) -> None:
    if kind == "keras":
        with _open_zip(path) as z:
            data = _zip_member(z, "model.weights.h5", _weights_limit(model), path)
        with _open_h5(h5py, io.BytesIO(data), path) as f:
            _plan_keras3(model, f, plan, h5py)
        return
    with _open_h5(h5py, path, path) as f:
        if kind == "weights.h5" or ("layers" in f and "layer_names" not in f.attrs and "model_weights" not in f):
            _plan_keras3(model, f, plan, h5py)
        else:
            _plan_legacy(model, f, plan, by_name, h5py)


def load_weights(model, path, by_name: bool = False, skip_mismatch: bool = False, where: str = "load_weights") -> None:
    """Set a built model's weights from a Keras ``.weights.h5``, ``.keras`` or legacy ``.h5`` file.

    Keras 3 files match layers by position and class (their layout has no names to match);
    legacy files match the layers with weights in order, or by layer name with ``by_name=True``
    (legacy files only, as in Keras). ``skip_mismatch=True`` skips, with a warning, what does
    not fit (a layer whose count or shapes differ; in legacy files each weight of another
    shape) instead of raising ModelFileError. Nothing is assigned unless the whole load succeeds."""
    path = check_filepath(where, path)
    by_name, skip_mismatch = as_bool(where, "by_name", by_name), as_bool(where, "skip_mismatch", skip_mismatch)
    h5py = _h5py(where)
    kind = _existing_kind(path, where)
    if kind is None:
        raise ModelFileError(f"{path}: neither an HDF5 nor a zip (.keras) file, so not a Keras weights file")
    kind = "keras" if kind == "keras" else "weights.h5" if is_keras_path(path) == "weights.h5" else "h5"
    if by_name and kind != "h5":
        raise ValueError(f"{where}: by_name=True is for legacy .h5 files only (as in Keras), got {path!r}")
    if not getattr(model, "built", True):
        raise ValueError(
            f"{where}: the model is not built; build it first (model.build(input_shape), or an Input) "
            f"so that its weights exist to load {path!r} into"
        )
    plan = _Plan(path, skip_mismatch)
    _plan_for(model, path, kind, plan, by_name, h5py)
    plan.assign()


def _existing_kind(path: str, where: str) -> str | None:
    """file_kind of an existing regular file (never opens a FIFO or device, which could block)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file: {path}") from None
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{path}: is not a regular file (a directory, FIFO or device), not a Keras file")
    return file_kind(path)


def _compile_from(model, config, path: str) -> None:
    """Compile as the file's compile_config (.keras) or training_config (legacy .h5) says; a
    configuration sinapse cannot follow leaves the model uncompiled with a warning, as Keras does."""
    from .. import optimizers

    try:
        opt = config.get("optimizer", config.get("optimizer_config"))
        if isinstance(opt, dict):
            opt = optimizers.deserialize({"class_name": opt["class_name"], "config": opt.get("config", {})})
        model.compile(optimizer=opt, loss=config.get("loss"), metrics=config.get("metrics"))
    except Exception as exc:  # noqa: BLE001  (any failure: uncompiled, as Keras's compile_from_config)
        warnings.warn(
            f"load_model: {path}: the model is loaded uncompiled (its training configuration could not "
            f"be followed: {str(exc)[:200]}); call model.compile(...)",
            UserWarning,
            stacklevel=3,
        )


def _json(raw, path: str, what: str):
    if isinstance(raw, bytes) and len(raw) > MAX_JSON_BYTES:
        raise ModelFileError(f"{path}: {what} is larger than {MAX_JSON_BYTES} bytes")
    return parse_json(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw), path, what)


def _build(entry, path: str):
    try:
        model = model_from_entry(entry, "load_model")
    except KerasConfigError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    if not getattr(model, "built", True):
        raise ModelFileError(f"{path}: the saved model has no input shape, so its weights cannot be placed")
    return model


def load_model(path, compile: bool = True, where: str = "load_model"):
    """The sinapse model a Keras ``.keras`` or legacy ``.h5`` model file describes, with its
    weights (and, with ``compile``, its optimizer class and settings, loss and metrics; not the
    optimizer's state). ModelFileError naming the file for anything it cannot load."""
    path = check_filepath(where, path)
    compile = as_bool(where, "compile", compile)
    h5py = _h5py(where)
    kind, training = _existing_kind(path, where), None
    if kind == "keras":
        with _open_zip(path) as z:
            entry = _json(_zip_member(z, "config.json", MAX_JSON_BYTES, path), path, "config.json")
        model = _build(entry, path)
        training = entry.get("compile_config") if isinstance(entry, dict) else None
    elif kind == "hdf5":
        with _open_h5(h5py, path, path) as f:
            if "model_config" not in f.attrs:
                raise ModelFileError(f"{path}: holds weights only (no model_config); build the model and load_weights")
            model = _build(_json(f.attrs["model_config"], path, "model_config"), path)
            if "training_config" in f.attrs:
                training = _json(f.attrs["training_config"], path, "training_config")
    else:
        raise ModelFileError(f"{path}: neither a .keras zip nor a Keras HDF5 file")
    plan = _Plan(path, False)
    _plan_for(model, path, "keras" if kind == "keras" else "h5", plan, False, h5py)
    plan.assign()
    if compile and isinstance(training, dict) and training:
        _compile_from(model, training, path)
    return model


__all__ = ["file_kind", "is_keras_path", "keras3_entries", "load_model", "load_weights", "save_model", "save_weights"]
