"""sinapse.models: Model, Sequential, load_model, save_model, clone_model (keras.models)."""

from __future__ import annotations

from typing import Any

from .functional import Model
from .saving import FORMAT_VERSION, ModelFileError, load_model, save_model
from .sequential import Sequential


def clone_model(model: Model, input_tensors: Any = None, clone_function: Any = None) -> Model:
    """A new model with the same architecture and *freshly initialised* weights, as Keras's
    clone_model; copy the values with ``clone.set_weights(model.get_weights())``. A functional
    (or traced subclassed) model is cloned through its config into a functional Model."""
    from ..layers.base import deserialize, serialize

    if not isinstance(model, Model):
        raise TypeError(
            f"clone_model: `model` must be a sinapse model (Sequential or Model), got {model!r}"[:200]
            + f" ({type(model).__name__})"
        )
    if input_tensors is not None:
        raise ValueError("clone_model: `input_tensors` is not supported; the clone gets new Input tensors")
    if clone_function is not None and not callable(clone_function):
        raise TypeError(f"clone_model: `clone_function` must be a callable taking a layer, got {clone_function!r}")
    if not isinstance(model, Sequential):
        if clone_function is not None:
            raise ValueError("clone_model: `clone_function` is supported for Sequential models only")
        model._check_input_shapes(model._input_shapes(), "clone_model")  # (a subclassed model must be traced)
        return Model.from_config(model.get_config())
    clone = Sequential(name=model.name)
    if model._input_shape is not None:
        clone._input_shape = model._input_shape
    if "_unbuilt_file" in model.__dict__:  # loaded unbuilt: its clone's first build has the same bound
        clone._unbuilt_file = model._unbuilt_file
    for layer in model.layers:
        clone.add(clone_function(layer) if clone_function is not None else deserialize(serialize(layer)))
    return clone


__all__ = ["FORMAT_VERSION", "Model", "ModelFileError", "Sequential", "clone_model", "load_model", "save_model"]
