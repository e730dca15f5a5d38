"""InceptionV3 (Szegedy et al. 2016, https://arxiv.org/abs/1512.00567), as Keras builds it.

Structure, creation order and names follow Keras 3's keras/src/applications/inception_v3.py.
Keras leaves most of its layers unnamed, so a fresh Keras process calls them conv2d,
conv2d_1, ..., batch_normalization_93, activation_93, max_pooling2d, average_pooling2d_8,
concatenate, concatenate_1; the named ones are mixed0 ... mixed10, mixed9_0, mixed9_1, avg_pool,
predictions. sinapse gives exactly those names (a counter per model, _common.KerasNames), so the
model's layers and weights line up with Keras's, whatever was built before in the process.
Inputs: RGB in [-1, 1] (``preprocess_input``, mode "tf"), 299x299x3 with the top, at least
75x75 without.
"""

from __future__ import annotations

from .. import layers
from . import _common, imagenet_utils


class _Builder:
    """conv2d_bn and the pooling/concatenation steps, named as a fresh Keras process names them."""

    def __init__(self):
        self.names = _common.KerasNames()

    def conv_bn(self, x, filters, rows, cols, padding="same", strides=(1, 1)):
        """Keras's conv2d_bn: Conv2D without bias, BatchNormalization without scale (gamma), relu."""
        x = layers.Conv2D(
            filters, (rows, cols), strides=strides, padding=padding, use_bias=False, name=self.names("conv2d")
        )(x)
        x = layers.BatchNormalization(scale=False, name=self.names("batch_normalization"))(x)
        return layers.Activation("relu", name=self.names("activation"))(x)

    def max_pool(self, x):
        return layers.MaxPooling2D((3, 3), strides=(2, 2), name=self.names("max_pooling2d"))(x)

    def avg_pool(self, x):
        """3x3 stride-1 'same' average over each window's real pixels (Keras's rule at the edges)."""
        return layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same", name=self.names("average_pooling2d"))(x)

    def concat(self, tensors, name=None):
        return layers.Concatenate(axis=-1, name=name or self.names("concatenate"))(tensors)


def _block_35(b, x, pool_filters, name):
    """mixed0-2: 1x1, 5x5, double 3x3 and pooled branches (35x35 at the default size)."""
    branch1x1 = b.conv_bn(x, 64, 1, 1)
    branch5x5 = b.conv_bn(x, 48, 1, 1)
    branch5x5 = b.conv_bn(branch5x5, 64, 5, 5)
    branch3x3dbl = b.conv_bn(x, 64, 1, 1)
    branch3x3dbl = b.conv_bn(branch3x3dbl, 96, 3, 3)
    branch3x3dbl = b.conv_bn(branch3x3dbl, 96, 3, 3)
    branch_pool = b.conv_bn(b.avg_pool(x), pool_filters, 1, 1)
    return b.concat([branch1x1, branch5x5, branch3x3dbl, branch_pool], name)


def _block_17(b, x, width, name):
    """mixed4-7: 1x1, factorised 7x7 (1x7, 7x1), double factorised 7x7 and pooled branches."""
    branch1x1 = b.conv_bn(x, 192, 1, 1)
    branch7x7 = b.conv_bn(x, width, 1, 1)
    branch7x7 = b.conv_bn(branch7x7, width, 1, 7)
    branch7x7 = b.conv_bn(branch7x7, 192, 7, 1)
    branch7x7dbl = b.conv_bn(x, width, 1, 1)
    branch7x7dbl = b.conv_bn(branch7x7dbl, width, 7, 1)
    branch7x7dbl = b.conv_bn(branch7x7dbl, width, 1, 7)
    branch7x7dbl = b.conv_bn(branch7x7dbl, width, 7, 1)
    branch7x7dbl = b.conv_bn(branch7x7dbl, 192, 1, 7)
    branch_pool = b.conv_bn(b.avg_pool(x), 192, 1, 1)
    return b.concat([branch1x1, branch7x7, branch7x7dbl, branch_pool], name)


def _block_8(b, x, i):
    """mixed9-10: 1x1, 3x3 split into 1x3 | 3x1, double 3x3 split likewise, pooled branches."""
    branch1x1 = b.conv_bn(x, 320, 1, 1)
    branch3x3 = b.conv_bn(x, 384, 1, 1)
    branch3x3_1 = b.conv_bn(branch3x3, 384, 1, 3)
    branch3x3_2 = b.conv_bn(branch3x3, 384, 3, 1)
    branch3x3 = b.concat([branch3x3_1, branch3x3_2], f"mixed9_{i}")
    branch3x3dbl = b.conv_bn(x, 448, 1, 1)
    branch3x3dbl = b.conv_bn(branch3x3dbl, 384, 3, 3)
    branch3x3dbl_1 = b.conv_bn(branch3x3dbl, 384, 1, 3)
    branch3x3dbl_2 = b.conv_bn(branch3x3dbl, 384, 3, 1)
    branch3x3dbl = b.concat([branch3x3dbl_1, branch3x3dbl_2])
    branch_pool = b.conv_bn(b.avg_pool(x), 192, 1, 1)
    return b.concat([branch1x1, branch3x3, branch3x3dbl, branch_pool], f"mixed{9 + i}")


def _reduce_35(b, x):
    """mixed3: 35x35 -> 17x17 (strided 3x3, strided double 3x3, max pooling)."""
    branch3x3 = b.conv_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = b.conv_bn(x, 64, 1, 1)
    branch3x3dbl = b.conv_bn(branch3x3dbl, 96, 3, 3)
    branch3x3dbl = b.conv_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    return b.concat([branch3x3, branch3x3dbl, b.max_pool(x)], "mixed3")


def _reduce_17(b, x):
    """mixed8: 17x17 -> 8x8."""
    branch3x3 = b.conv_bn(x, 192, 1, 1)
    branch3x3 = b.conv_bn(branch3x3, 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = b.conv_bn(x, 192, 1, 1)
    branch7x7x3 = b.conv_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = b.conv_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = b.conv_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    return b.concat([branch3x3, branch7x7x3, b.max_pool(x)], "mixed8")


def _inception_v3(where, include_top, weights, input_tensor, input_shape, pooling, classes, act, name):
    _common.check_arguments(where, weights, include_top, classes, pooling, act)
    path = _common.imagenet_file(where, weights, _common.weights_file("inception_v3", include_top), "inception_v3")
    shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=299, min_size=75, require_flatten=include_top, weights=weights, where=where
    )
    img_input = _common.image_input(where, input_tensor, shape, 299)
    b = _Builder()
    x = b.conv_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = b.conv_bn(x, 32, 3, 3, padding="valid")
    x = b.conv_bn(x, 64, 3, 3)
    x = b.max_pool(x)
    x = b.conv_bn(x, 80, 1, 1, padding="valid")
    x = b.conv_bn(x, 192, 3, 3, padding="valid")
    x = b.max_pool(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(b, x, pool_filters, f"mixed{i}")
    x = _reduce_35(b, x)
    for i, width in enumerate((128, 160, 160, 192)):
        x = _block_17(b, x, width, f"mixed{4 + i}")
    x = _reduce_17(b, x)
    for i in range(2):
        x = _block_8(b, x, i)
    x = _common.head(x, include_top, pooling, classes, act, b.names, "avg_pool")
    return _common.finish(img_input, input_tensor, x, name, path)


InceptionV3 = _common.keras_builder(
    "InceptionV3",
    "inception_v3",
    _inception_v3,
    """InceptionV3: a 5-convolution stem with two 3x3/2 max poolings, mixed0-2 (35x35),
    mixed3 (reduction), mixed4-7 (17x17), mixed8 (reduction), mixed9-10 (8x8), ``avg_pool``
    and ``predictions``. Every convolution is Conv2D (no bias) + BatchNormalization (no gamma) + relu.

    ``InceptionV3(include_top=True, weights=None, input_tensor=None, input_shape=None,
    pooling=None, classes=1000, classifier_activation="softmax", name="inception_v3")``:
    Keras 3's ``keras.applications.InceptionV3``, except that ``weights`` defaults
    to None (nothing can be downloaded): a path loads a weights file with ``model.load_weights``;
    "imagenet" loads ``inception_v3_weights_tf_dim_ordering_tf_kernels[_notop].h5`` from Keras's
    cache folder (``~/.keras/models``) or raises ValueError saying where to get it.
    Output: (batch, classes) with the top; (batch, h, w, 2048) or (batch, 2048) without
    (h = w = 8 at 299x299, 1 at 75x75). 23,851,784 parameters with the top (21,802,784 without).
    """,
    __name__,
)


def preprocess_input(x, data_format=None):
    """Keras's ``inception_v3.preprocess_input``: mode "tf" (x / 127.5 - 1, to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5, class_index_path=None):
    """``imagenet_utils.decode_predictions``: the top classes of (samples, 1000) predictions."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index_path=class_index_path)
