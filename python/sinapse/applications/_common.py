"""What every application builder shares: argument checks, the image input, the head, weights.

The flow is Keras 3's (keras/src/applications/vgg16.py and friends): check ``weights`` and
``classes``, settle the input shape (imagenet_utils.obtain_input_shape), build the graph on a
``sinapse.Input`` (or the caller's ``input_tensor``), add the top or the pooling, make the
``Model``, then load weights from a file.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

from .. import layers
from ..layers.symbolic import KerasTensor
from . import imagenet_utils

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


class KerasNames:
    """Keras's automatic layer names as a fresh Keras process gives them: conv2d, conv2d_1, ...

    Keras names an unnamed layer from a process-wide counter per class; its published weight
    files and summaries of InceptionV3 carry the names of a fresh process. A counter per model
    gives those names whatever was built before (sinapse's own counter is process-wide too).
    """

    def __init__(self):
        self._counts: dict[str, int] = {}

    def __call__(self, base: str) -> str:
        n = self._counts.get(base, 0)
        self._counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"


def check_weights(where: str, weights, include_top: bool, classes) -> None:
    """Keras's checks of ``weights`` (None, "imagenet" or an existing file) and ``classes``."""
    if weights is not None and weights != "imagenet":
        if not isinstance(weights, (str, os.PathLike)):
            raise TypeError(
                f"{where}: `weights` must be None, 'imagenet' or the path of a weights file, got {weights!r}"
            )
        if not Path(weights).is_file():
            raise ValueError(
                f"{where}: `weights` must be None, 'imagenet' or the path of an existing weights file; "
                f"no file at weights={str(weights)!r}"
            )
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1:
        raise ValueError(f"{where}: `classes` must be a positive int, got classes={classes!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"{where}: with weights='imagenet' and include_top=True `classes` must be 1000, got {classes}")


def check_arguments(where: str, weights, include_top, classes, pooling, classifier_activation) -> None:
    """The builders' argument checks, all before anything is built (a VGG allocates 0.5 GB)."""
    check_weights(where, weights, include_top, classes)
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{where}: `pooling` must be None, 'avg' or 'max', got pooling={pooling!r}")
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights, where)


def image_input(where: str, input_tensor, input_shape, default_size: int):
    """The model's image input: a new ``Input(input_shape)`` named as Keras names it, or the
    caller's symbolic ``input_tensor`` (which Keras uses as is, whatever ``input_shape`` says).

    Keras builds a model without its top for any image size, (None, None, 3); sinapse's
    convolution and pooling layers need the size when the model is built, so that case
    raises ValueError asking for ``input_shape``."""
    if input_tensor is None:
        if None in input_shape:
            raise ValueError(
                f"{where}: sinapse builds a model for one image size; without the top give "
                f"`input_shape`, e.g. input_shape=({default_size}, {default_size}, 3) or the size of "
                f"your images (got input_shape={input_shape})"
            )
        return layers.Input(shape=input_shape, name="input_layer")
    if not isinstance(input_tensor, KerasTensor):
        raise TypeError(
            f"{where}: `input_tensor` must be a symbolic tensor from sinapse.Input(...) or a layer called on "
            f"one, got {type(input_tensor).__name__}"
        )
    return input_tensor


def source_inputs(tensor) -> list:
    """The model inputs ``tensor`` comes from (Keras's operation_utils.get_source_inputs):
    itself when an InputLayer made it, else the inputs of whatever layers made it."""
    layer, node_index, _ = tensor._history
    if isinstance(layer, layers.InputLayer):
        return [tensor]
    found: list = []
    for parent in layer._inbound_nodes[node_index].inputs:
        for t in source_inputs(parent):
            if not any(t is f for f in found):
                found.append(t)
    return found


def head(x, include_top, pooling, classes, classifier_activation, names, top_pool=None):
    """The top (``top_pool`` pooling, if any, then Dense "predictions") or the feature pooling.

    ``names(base)`` names the unnamed pooling layers as Keras does (global_average_pooling2d, ...);
    ``top_pool`` is the name ResNet and Inception give their pooling ("avg_pool"), VGG has none
    (its top is added by the caller after Flatten)."""
    if include_top:
        if top_pool is not None:
            x = layers.GlobalAveragePooling2D(name=top_pool)(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=names("global_average_pooling2d"))(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=names("global_max_pooling2d"))(x)
    return x


def imagenet_file(where: str, weights, fname: str, url_folder: str):
    """What to load: None, the user's path, or for "imagenet" Keras's published file ``fname``
    (weights_file()) from Keras's cache folder; ValueError saying where to get it when it is not
    there (nothing can be downloaded). Called before the model is built (a VGG allocates 0.5 GB)."""
    if weights != "imagenet":
        return weights
    found = imagenet_utils.find_cached(fname)
    if found is None:
        places = ", ".join(str(d) for d in imagenet_utils.keras_cache_dirs())
        raise ValueError(
            f"{where}: weights='imagenet' cannot be downloaded on this machine (no network). Download "
            f"{KERAS_WEIGHTS_URL}{url_folder}/{fname} elsewhere, then pass weights='path/to/{fname}' "
            f"or put the file in one of Keras's cache folders ({places})"
        )
    return found


def finish(img_input, input_tensor, outputs, name, weights_path):
    """The Model from the image input (or ``input_tensor``'s sources) to ``outputs``, with the
    weights of ``weights_path`` (if not None) loaded by ``model.load_weights``."""
    from ..models import Model

    inputs = source_inputs(input_tensor) if input_tensor is not None else img_input
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    model = Model(inputs, outputs, name=name)
    if weights_path is not None:
        model.load_weights(os.fspath(weights_path))
    return model


def weights_file(stem: str, include_top: bool) -> str:
    """The name of Keras's published ImageNet weights file (tf kernels, channels last)."""
    return f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"


def keras_builder(where: str, default_name: str, build, doc: str, module: str, default_classes: int = 1000):
    """A public builder with Keras 3's application signature (the same for every architecture),
    calling ``build(where, include_top, weights, input_tensor, input_shape, pooling, classes,
    classifier_activation, name)``; ``where`` is its name in error messages and ``__name__``."""

    def builder(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=default_classes,
        classifier_activation="softmax",
        name=default_name,
    ):
        return build(
            where, include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation, name
        )

    builder.__name__ = builder.__qualname__ = where
    builder.__doc__, builder.__module__ = doc, module
    return builder
