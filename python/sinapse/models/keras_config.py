"""Model configs in Keras 3's form (the ``config.json`` of a ``.keras`` file) to and from sinapse.

Keras 3 -> sinapse: each layer entry ``{"module", "class_name", "config", "registered_name",
"build_config"}`` becomes the sinapse layer of that class, its config read by
``Layer.from_config`` (``_from_config.keras_values`` makes Keras 3's dtype policies and
Keras-only default arguments sinapse's). A ``Sequential`` config is rebuilt here; a
``Functional`` one by ``sinapse.Model.from_config``, which reads Keras 3's functional format.

sinapse -> Keras 3: each layer's ``get_config()`` with the dtype as a ``DTypePolicy`` dict,
initializers, regularizers and constraints as ``{"module", "class_name", "config", "registered_name"}``
and the model wrapped as ``keras.saving.serialize_keras_object`` writes it
(keras/src/saving/serialization_lib.py; the layout is checked against files Keras 3.15.1
writes, tools/make_keras_golden.py).
"""

from __future__ import annotations

from typing import Any

# The Keras 3 layers sinapse has (class names as Keras writes them in configs).
KERAS_LAYERS = frozenset(
    {
        "InputLayer",
        "Dense",
        "Activation",
        "LeakyReLU",
        "ELU",
        "ReLU",
        "Softmax",
        "Dropout",
        "Flatten",
        "Reshape",
        "Conv2D",
        "ZeroPadding2D",
        "MaxPooling2D",
        "AveragePooling2D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "BatchNormalization",
        "Embedding",
        "Masking",
        "SimpleRNN",
        "LSTM",
        "GRU",
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
        "DepthwiseConv2D",
        "SeparableConv2D",
        "Conv2DTranspose",
        "Conv1D",
        "LayerNormalization",
        "GroupNormalization",
        "UpSampling2D",
        "Cropping2D",
        "Resizing",
        "CenterCrop",
        "Rescaling",
        "Bidirectional",
        "TimeDistributed",
        "MaxPooling1D",
        "AveragePooling1D",
        "GlobalAveragePooling1D",
        "GlobalMaxPooling1D",
        "Permute",
        "RepeatVector",
        "PReLU",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianNoise",
        "ActivityRegularization",
        "RandomBrightness",
        "RandomContrast",
        "RandomCrop",
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
    }
)
# sinapse classes Keras names otherwise (Keras 3 has Convolution2D only as an alias of Conv2D).
_KERAS_NAME = {"Convolution2D": "Conv2D"}
_FLOAT32_POLICY = {
    "module": "keras",
    "class_name": "DTypePolicy",
    "config": {"name": "float32"},
    "registered_name": None,
}


class KerasConfigError(ValueError):
    """A Keras config sinapse cannot build (unknown or custom layer, unsupported argument)."""


def keras_class_name(layer) -> str:
    """The Keras 3 class name of a sinapse layer or model (what weight paths are named after)."""
    name = type(layer).__name__
    if is_model(layer):
        return "Sequential" if name == "Sequential" else "Functional"
    return _KERAS_NAME.get(name, name)


def nested_layers(layer) -> list:
    """``(Keras attribute, config key, layer)`` of the layers a wrapper layer owns (Bidirectional,
    TimeDistributed: layers/wrappers.py), else []."""
    nested = getattr(layer, "nested_layers", None)
    return nested() if callable(nested) and not is_model(layer) else []


def is_model(layer) -> bool:
    """A model used as a layer (it has layers of its own)."""
    return isinstance(getattr(layer, "layers", None), list)


# ---------------------------------------------------------------------------- sinapse -> Keras 3


def _keras_object(value, module: str):
    """A sinapse ``{"class_name", "config"}`` (initializer, regularizer, constraint) as Keras 3 serialises it."""
    if isinstance(value, dict) and "class_name" in value and "module" not in value:
        return {
            "module": module,
            "class_name": value["class_name"],
            "config": value.get("config", {}),
            "registered_name": None,
        }
    return value


def _keras_layer_config(layer, where: str) -> dict:
    config = dict(layer.get_config())
    config.pop("batch_input_shape", None)  # the InputLayer / build_config carry the shape
    if config.get("input_length", 0) is None:
        config.pop("input_length")  # (Keras 3's Embedding has no input_length)
    config["dtype"] = dict(_FLOAT32_POLICY)
    for key, value in config.items():
        if key.endswith("_initializer"):
            config[key] = _keras_object(value, "keras.initializers")
        elif key.endswith("_regularizer"):
            config[key] = _keras_object(value, "keras.regularizers")
        elif key.endswith("_constraint"):
            config[key] = _keras_object(value, "keras.constraints")
    for _, key, inner in nested_layers(layer):  # Bidirectional / TimeDistributed: Keras entries
        config[key] = layer_entry(inner, where)
    return config


def input_layer_entry(shape, name: str) -> dict:
    """Keras 3's InputLayer entry for inputs of ``shape`` (no batch axis)."""
    config = {"batch_shape": [None, *shape], "dtype": "float32", "sparse": False, "ragged": False}
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {**config, "name": name, "optional": False},
        "registered_name": None,
    }


def layer_entry(layer, where: str) -> dict:
    """One layer (or nested model) as an entry of a Keras 3 model config; KerasConfigError for a
    layer Keras has no built-in class for."""
    if is_model(layer):
        return model_entry(layer, where)
    name = keras_class_name(layer)
    if name not in KERAS_LAYERS:
        raise KerasConfigError(
            f"{where}: layer {layer.name!r} ({type(layer).__name__}) has no Keras 3 built-in "
            f"equivalent, so a .keras file could not be loaded by Keras; save it in sinapse's format"
        )
    if name == "InputLayer":
        return input_layer_entry(layer.shape, layer.name)
    entry: dict[str, Any] = {"module": "keras.layers", "class_name": name, "config": _keras_layer_config(layer, where)}
    entry["registered_name"] = None
    if layer.built and layer.input_shape is not None and not getattr(layer, "multi_input", False):
        entry["build_config"] = {"input_shape": [None, *layer.input_shape]}
    return entry


def _sequential_config(model, where: str) -> dict:
    shape = model.input_shape  # (None, ...) or None
    layers = [layer_entry(layer, where) for layer in model.layers]
    if shape is not None:
        layers.insert(0, input_layer_entry(shape[1:], f"{model.name}_input"))
    return {
        "name": model.name,
        "trainable": bool(getattr(model, "trainable", True)),
        "dtype": dict(_FLOAT32_POLICY),
        "layers": layers,
        "build_input_shape": None if shape is None else list(shape),
    }


def _functional_config(model, where: str) -> dict:
    """The lead's ``Model.get_config()`` (Keras 3's functional format) with each layer's config
    made Keras's."""
    config = dict(model.get_config())
    entries = []
    by_name = {layer.name: layer for layer in model.layers}
    for entry in config["layers"]:
        layer = by_name.get(entry["name"])
        if layer is None and entry.get("class_name") == "InputLayer":  # inputs not listed in model.layers
            inner = entry.get("config", {})
            shape = inner.get("batch_shape") or inner.get("batch_input_shape")
            converted = input_layer_entry(shape[1:], entry["name"])
        elif layer is None:
            raise KerasConfigError(f"{where}: the model's config names a layer {entry['name']!r} it does not have")
        else:
            converted = layer_entry(layer, where)
        entries.append({**converted, "name": entry["name"], "inbound_nodes": entry.get("inbound_nodes", [])})
    config["layers"] = entries
    return config


def model_entry(model, where: str) -> dict:
    """A sinapse model as Keras 3's ``serialize_keras_object(model)`` (config.json's content)."""
    if type(model).__name__ == "Sequential":
        entry: dict[str, Any] = {
            "module": "keras",
            "class_name": "Sequential",
            "config": _sequential_config(model, where),
        }
        entry["registered_name"] = None
        shape = model.input_shape
        entry["build_config"] = {"input_shape": None if shape is None else list(shape)}
        return entry
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": _functional_config(model, where),
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }


def compile_entry(model) -> dict | None:
    """Keras 3's ``compile_config`` for a compiled sinapse model whose loss and metrics are names
    (others are left out: Keras then loads the model uncompiled, with a warning)."""
    compiled = getattr(model, "_compile_config", None)
    optimizer = getattr(model, "optimizer", None)
    if not compiled or optimizer is None or not isinstance(compiled.get("loss"), str):
        return None
    if not all(isinstance(m, str) for m in compiled.get("metrics") or []):
        return None
    config = {k: v for k, v in optimizer.get_config().items() if not isinstance(v, dict)}
    return {
        "optimizer": {
            "module": "keras.optimizers",
            "class_name": type(optimizer).__name__,
            "config": config,
            "registered_name": None,
        },
        "loss": compiled["loss"],
        "loss_weights": None,
        "metrics": list(compiled.get("metrics") or []) or None,
        "weighted_metrics": None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


# ---------------------------------------------------------------------------- Keras 3 -> sinapse


def _check_entry(entry, where: str) -> tuple[str, dict]:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise KerasConfigError(f"{where}: a layer entry must be a dict with a class_name, got {entry!r}"[:300])
    config = entry.get("config", {})
    if not isinstance(config, dict):
        raise KerasConfigError(f"{where}: layer {entry['class_name']}'s config must be a dict, got {config!r}"[:300])
    registered = entry.get("registered_name")
    name = entry["class_name"]
    if registered not in (None, name, "Functional") and not name.startswith("Functional"):
        raise KerasConfigError(
            f"{where}: layer {config.get('name', '?')!r} is a custom Keras object ({registered!r}); "
            f"sinapse loads only Keras's built-in layers ({', '.join(sorted(KERAS_LAYERS))})"
        )
    return name, config


def layer_from_entry(entry, where: str):
    """The sinapse layer (or nested model) a Keras layer entry describes."""
    from ..layers.base import _REGISTRY

    name, config = _check_entry(entry, where)
    if name in ("Sequential", "Functional", "Model"):
        return model_from_entry(entry, where)
    cls = _REGISTRY.get(name)
    if cls is None:
        raise KerasConfigError(
            f"{where}: layer {config.get('name', '?')!r} is a Keras {name}, which sinapse does not "
            f"have; supported: {', '.join(sorted(KERAS_LAYERS))}"
        )
    try:
        return cls.from_config(config)
    except (TypeError, ValueError, NotImplementedError) as exc:
        raise KerasConfigError(f"{where}: layer {config.get('name', '?')!r} ({name}): {exc}") from None


def _sequential_from_config(config: dict, where: str):
    from .sequential import Sequential

    layers = config.get("layers")
    if not isinstance(layers, list):
        raise KerasConfigError(f"{where}: a Sequential config needs a list of layers, got {layers!r}"[:300])
    model = Sequential(name=config.get("name"))
    for entry in layers:
        model.add(layer_from_entry(entry, where))
    shape = config.get("build_input_shape")
    if not model.built and shape is not None and model.layers:
        model.build(tuple(shape))
    return model


def model_from_entry(entry, where: str):
    """A sinapse model from a Keras 3 (or Keras 2 legacy ``model_config``) model entry:
    Sequential here, Functional through ``sinapse.Model.from_config``."""
    name, config = _check_entry(entry, where)
    if name == "Sequential":
        return _sequential_from_config(config, where)
    if name in ("Functional", "Model"):
        from .. import models

        model_cls = getattr(models, "Model", None)
        if model_cls is None or not hasattr(model_cls, "from_config"):
            raise KerasConfigError(f"{where}: a functional Keras model needs sinapse.Model, which this sinapse lacks")
        return model_cls.from_config(config)
    raise KerasConfigError(f"{where}: the file holds a {name}, not a Keras Sequential or Functional model")
