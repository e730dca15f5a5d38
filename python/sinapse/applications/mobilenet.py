"""MobileNet (Howard et al. 2017, https://arxiv.org/abs/1704.04861), as Keras builds it.

A 3x3 convolution (stride 2) then 13 depthwise-separable blocks: a 3x3 depthwise convolution,
BatchNormalization, ReLU(6), a 1x1 ("pointwise") convolution, BatchNormalization, ReLU(6);
blocks 2, 4, 6 and 12 have stride 2 (with Keras's asymmetric zero padding before them).
``alpha`` scales every layer's filters, ``depth_multiplier`` the depthwise outputs. Layer
names, order and weights follow Keras 3's keras/src/applications/mobilenet.py (conv1,
conv_dw_1 ... conv_pw_13_relu, conv_preds, reshape_2, predictions), so Keras's weight files load.
Inputs: RGB preprocessed by ``preprocess_input`` ("tf": scaled to [-1, 1]).
"""

from __future__ import annotations

import numbers
import warnings

from .. import layers
from . import _common, imagenet_utils

# (pointwise filters, stride) of the 13 depthwise-separable blocks (the paper's Table 1)
_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)
_IMAGENET_ALPHAS = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
_IMAGENET_SIZES = (128, 160, 192, 224)


def _block(x, filters, alpha, depth_multiplier, stride, block_id):
    if stride != 1:  # Keras pads bottom/right by one and uses "valid" (TensorFlow's "same" for stride 2)
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D(
        (3, 3),
        padding="same" if stride == 1 else "valid",
        depth_multiplier=depth_multiplier,
        strides=(stride, stride),
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )(x)
    x = layers.BatchNormalization(name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(filters * alpha), (1, 1), padding="same", use_bias=False, name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def _check(where, alpha, depth_multiplier, dropout, weights):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) <= 16:
        raise ValueError(f"{where}: `alpha` must be a number in (0, 16], got alpha={alpha!r}")
    if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, numbers.Integral) or depth_multiplier < 1:
        raise ValueError(
            f"{where}: `depth_multiplier` must be a positive int, got depth_multiplier={depth_multiplier!r}"
        )
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= float(dropout) < 1:
        raise ValueError(f"{where}: `dropout` must be a number in [0, 1), got dropout={dropout!r}")
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(f"{where}: with weights='imagenet' `depth_multiplier` must be 1, got {depth_multiplier}")
        if alpha not in _IMAGENET_ALPHAS:
            raise ValueError(f"{where}: with weights='imagenet' `alpha` must be 0.25, 0.5, 0.75 or 1.0, got {alpha}")


def _default_size(input_shape) -> int:
    """Keras's rule: a square input of a published size keeps it, anything else means 224."""
    if input_shape is not None and len(input_shape) == 3:
        rows, cols = input_shape[0], input_shape[1]
        if rows == cols and rows in _IMAGENET_SIZES:
            return int(rows)
    return 224


def MobileNet(  # noqa: N802  (Keras's name)
    input_shape=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """MobileNet v1: Keras 3's ``keras.applications.MobileNet`` (same arguments and order),
    except that ``weights`` defaults to None (random initialisation; nothing is downloaded): a
    path loads a weights file with ``model.load_weights``; "imagenet" loads Keras's published
    ``mobilenet_<alpha>_<rows>_tf[_no_top].h5`` from Keras's cache folder or raises ValueError
    saying where to get it.

    ``alpha`` (width multiplier, > 0), ``depth_multiplier`` (int >= 1), ``dropout`` (the rate
    before the classifier, in [0, 1)); ``input_shape`` (H, W, 3), at least 32x32, default
    224x224x3; ``pooling`` ("avg" / "max") applies without the top. Output: (batch, classes)
    with the top, else (batch, H/32, W/32, 1024 * alpha) or (batch, 1024 * alpha) pooled.
    4,253,864 parameters with the top at alpha 1.0 (3,228,864 without). ``name`` defaults to
    Keras's ``mobilenet_<alpha:.2f>_<rows>``. Raises ValueError / TypeError for bad arguments,
    before anything is built (docs/applications.md).
    """
    where = "MobileNet"
    _common.check_arguments(where, weights, include_top, classes, pooling, classifier_activation)
    _check(where, alpha, depth_multiplier, dropout, weights)
    shape = imagenet_utils.obtain_input_shape(
        input_shape,
        default_size=_default_size(input_shape),
        min_size=32,
        require_flatten=include_top,
        weights=weights,
        where=where,
    )
    rows = shape[0]
    if weights == "imagenet" and (rows != shape[1] or rows not in _IMAGENET_SIZES):
        warnings.warn(
            f"{where}: `input_shape` is undefined, non-square or not 128/160/192/224: the weights for "
            f"224x224 are loaded (as Keras does)",
            UserWarning,
            stacklevel=2,
        )
        rows = 224
    fname = f"mobilenet_{_IMAGENET_ALPHAS.get(alpha, '')}_{rows}_tf{'' if include_top else '_no_top'}.h5"
    path = _common.imagenet_file(where, weights, fname, "mobilenet")
    img_input = _common.image_input(where, input_tensor, shape, 224)
    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2), name="conv1")(img_input)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _block(x, filters, alpha, depth_multiplier, stride, block_id)
    names = _common.KerasNames()
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True, name=names("global_average_pooling2d"))(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = _common.head(x, False, pooling, classes, classifier_activation, names)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    return _common.finish(img_input, input_tensor, x, name, path)


def preprocess_input(x, data_format=None):
    """Keras's ``mobilenet.preprocess_input``: mode "tf" (scaled to [-1, 1]); see
    ``imagenet_utils.preprocess_input``."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5, class_index_path=None):
    """``imagenet_utils.decode_predictions``: the top classes of (samples, 1000) predictions."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index_path=class_index_path)
