"""sinapse.models: Sequential, load_model, save_model, clone_model (keras.models)."""

from __future__ import annotations

from .saving import FORMAT_VERSION, ModelFileError, load_model, save_model
from .sequential import Sequential


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and *freshly initialised* weights, as Keras's
    clone_model; copy the values with ``clone.set_weights(model.get_weights())``."""
    from ..layers.base import deserialize, serialize

    if input_tensors is not None:
        raise ValueError("clone_model: input_tensors is not supported")
    clone = Sequential(name=model.name)
    if model._input_shape is not None:
        clone._input_shape = model._input_shape
    for layer in model.layers:
        clone.add(clone_function(layer) if clone_function is not None else deserialize(serialize(layer)))
    return clone


__all__ = ["FORMAT_VERSION", "ModelFileError", "Sequential", "clone_model", "load_model", "save_model"]
