"""sinapse.models: Model, Sequential, load_model, save_model, clone_model (keras.models)."""

from __future__ import annotations

from typing import Any

from .functional import Model
from .saving import FORMAT_VERSION, ModelFileError, load_model, save_model
from .sequential import Sequential


def clone_model(model: Sequential, input_tensors: Any = None, clone_function: Any = None) -> Sequential:
    """A new model with the same architecture and *freshly initialised* weights, as Keras's
    clone_model; copy the values with ``clone.set_weights(model.get_weights())``."""
    from ..layers.base import deserialize, serialize

    if not isinstance(model, Sequential):
        raise TypeError(
            f"clone_model: `model` must be a sinapse Sequential model, got {model!r}"[:200]
            + f" ({type(model).__name__})"
        )
    if input_tensors is not None:
        raise ValueError("clone_model: `input_tensors` is not supported (sinapse models are Sequential)")
    if clone_function is not None and not callable(clone_function):
        raise TypeError(f"clone_model: `clone_function` must be a callable taking a layer, got {clone_function!r}")
    clone = Sequential(name=model.name)
    if model._input_shape is not None:
        clone._input_shape = model._input_shape
    if "_unbuilt_file" in model.__dict__:  # loaded unbuilt: its clone's first build has the same bound
        clone._unbuilt_file = model._unbuilt_file
    for layer in model.layers:
        clone.add(clone_function(layer) if clone_function is not None else deserialize(serialize(layer)))
    return clone


__all__ = ["FORMAT_VERSION", "Model", "ModelFileError", "Sequential", "clone_model", "load_model", "save_model"]
