"""What Conv2DTranspose and Conv1D share: Keras's convolution arguments (filters, activation,
use_bias, initializers, regularizers, constraints, data_format), their weights and config, and
the backward that hands the kernel and bias gradients to the weights."""

from __future__ import annotations

from .. import constraints, initializers, regularizers
from ..ops._checks import as_bool
from . import _activity
from ._activations import Act
from ._limits import size
from .base import Layer, Weight


class ConvLayer(Layer):
    """The base of Conv2DTranspose and Conv1D: the attributes the functions below set."""

    filters: int
    act: Act
    activation: str
    use_bias: bool
    kernel: Weight
    bias: Weight | None


def set_arguments(
    layer,
    filters,
    data_format,
    activation,
    use_bias,
    kernel_initializer,
    bias_initializer,
    kernel_regularizer,
    bias_regularizer,
    activity_regularizer,
    kernel_constraint,
    bias_constraint,
) -> None:
    """Validate and store Keras's arguments on ``layer`` (errors name the layer class)."""
    cls = type(layer).__name__
    layer.filters = int(size(cls, "filters", filters))
    if data_format not in (None, "channels_last"):
        raise layer.arg_error(f"`data_format` must be 'channels_last' (the only layout supported), got {data_format!r}")
    layer.activity_regularizer = _activity.get(cls, activity_regularizer)
    layer.act = Act(cls, activation)
    layer.activation = layer.act.name
    layer.output_activation = layer.act.name if layer.act.name == "sigmoid" else None
    layer.use_bias = as_bool(cls, "use_bias", use_bias)
    layer.kernel_initializer = initializers.get(kernel_initializer)
    layer.bias_initializer = initializers.get(bias_initializer)
    layer.kernel_regularizer = regularizers.get(kernel_regularizer)
    layer.bias_regularizer = regularizers.get(bias_regularizer)
    layer.kernel_constraint = constraints.for_argument(cls, "kernel_constraint", kernel_constraint)
    layer.bias_constraint = constraints.for_argument(cls, "bias_constraint", bias_constraint)


def check_strides_dilation(layer, strides, dilation_rate) -> None:
    """Keras's BaseConv / BaseConvTranspose refuse strides > 1 together with dilation_rate > 1."""
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise layer.arg_error(
            f"`strides` > 1 together with `dilation_rate` > 1 is not supported (as in Keras), got "
            f"strides={strides} and dilation_rate={dilation_rate}"
        )


def create_weights(layer, kernel_shape) -> None:
    """``layer.kernel`` of ``kernel_shape`` and ``layer.bias`` (filters,) or None."""
    layer.kernel = layer.add_weight(
        "kernel", kernel_shape, layer.kernel_initializer, layer.kernel_regularizer, constraint=layer.kernel_constraint
    )
    layer.bias = (
        layer.add_weight(
            "bias", (layer.filters,), layer.bias_initializer, layer.bias_regularizer, constraint=layer.bias_constraint
        )
        if layer.use_bias
        else None
    )


def gradient_outputs(layer, kernel_view=None) -> tuple[bool, bool, tuple]:
    """(need_dw, need_db, out=(None, dw, db)) for a backward op: the weights' gradient arrays
    (``kernel_view``: the kernel gradient reshaped as the op takes it)."""
    train = layer.trainable
    need_db = train and layer.bias is not None
    dw = (layer.kernel.grad if kernel_view is None else kernel_view(layer.kernel.grad)) if train else None
    return train, need_db, (None, dw, layer.bias.grad if need_db else None)


def store_gradients(layer, dw, db, kernel_shape) -> None:
    """The backward's dw, db as the weights' gradients (regularizers' terms added)."""
    if not layer.trainable:
        return
    layer.kernel.grad = dw.reshape(kernel_shape)
    if layer.bias is not None:
        layer.bias.grad = db
    if layer.kernel_regularizer is not None or layer.bias_regularizer is not None:
        layer.add_regularizer_gradients()


def weights_config(layer) -> dict:
    """The config entries of the arguments ``set_arguments`` stores, as Keras writes them."""
    return {
        "data_format": "channels_last",
        "activation": layer.activation,
        "use_bias": layer.use_bias,
        "kernel_initializer": initializers.serialize(layer.kernel_initializer),
        "bias_initializer": initializers.serialize(layer.bias_initializer),
        "kernel_regularizer": regularizers.serialize(layer.kernel_regularizer),
        "bias_regularizer": regularizers.serialize(layer.bias_regularizer),
        "kernel_constraint": constraints.serialize(layer.kernel_constraint),
        "bias_constraint": constraints.serialize(layer.bias_constraint),
    }
