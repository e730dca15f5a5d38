"""VGG16 and VGG19 (Simonyan & Zisserman 2015, https://arxiv.org/abs/1409.1556), as Keras builds them.

Layer names, order and weights follow Keras 3's keras/src/applications/vgg16.py and vgg19.py
(block1_conv1 ... block5_pool, flatten, fc1, fc2, predictions), so Keras's published weight
files load into them. Inputs: RGB images preprocessed by ``preprocess_input`` ("caffe": BGR,
mean-subtracted), 224x224x3 with the top, at least 32x32 without.
"""

from __future__ import annotations

from functools import partial

from .. import layers
from . import _common, imagenet_utils

# filters per block; VGG16 has (2, 2, 3, 3, 3) convolutions per block, VGG19 (2, 2, 4, 4, 4)
_FILTERS = (64, 128, 256, 512, 512)


def _vgg(convs, stem, where, include_top, weights, input_tensor, input_shape, pooling, classes, act, name):
    _common.check_arguments(where, weights, include_top, classes, pooling, act)
    path = _common.imagenet_file(where, weights, _common.weights_file(stem, include_top), stem)
    shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, require_flatten=include_top, weights=weights, where=where
    )
    img_input = _common.image_input(where, input_tensor, shape, 224)
    x = img_input
    for block, (filters, n) in enumerate(zip(_FILTERS, convs), start=1):
        for i in range(1, n + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
    x = _common.head(x, include_top, pooling, classes, act, _common.KerasNames())
    return _common.finish(img_input, input_tensor, x, name, path)


VGG16 = _common.keras_builder(
    "VGG16",
    "vgg16",
    partial(_vgg, (2, 2, 3, 3, 3), "vgg16"),
    """VGG16: 13 3x3 convolutions in 5 blocks, each block ending in 2x2 max pooling, then
    Flatten, fc1 and fc2 (4096, relu) and ``predictions`` (``classes``).

    ``VGG16(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
    classes=1000, classifier_activation="softmax", name="vgg16")``: Keras 3's
    ``keras.applications.VGG16``, except that ``weights`` defaults to None (random
    initialisation; nothing can be downloaded): a path loads a weights file with
    ``model.load_weights``; "imagenet" loads Keras's published file from Keras's cache folder
    (``~/.keras/models/vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5``) or raises
    ValueError saying where to get it. ``pooling`` ("avg" / "max") applies without the top.
    Output: (batch, classes) with the top; (batch, H/32, W/32, 512) or (batch, 512) without.
    138,357,544 parameters with the top (14,714,688 without). Raises ValueError for bad
    arguments (docs/applications.md), before anything is built.
    """,
    __name__,
)

VGG19 = _common.keras_builder(
    "VGG19",
    "vgg19",
    partial(_vgg, (2, 2, 4, 4, 4), "vgg19"),
    """VGG19: as VGG16 (same arguments, ``name="vgg19"``) with 16 convolutions, 4 in each of
    blocks 3-5 (``block3_conv4`` ...). 143,667,240 parameters with the top (20,024,384 without).""",
    __name__,
)


def preprocess_input(x, data_format=None):
    """Keras's ``vgg16.preprocess_input``: mode "caffe" (RGB -> BGR, ImageNet means subtracted,
    no scaling); see ``imagenet_utils.preprocess_input``."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5, class_index_path=None):
    """``imagenet_utils.decode_predictions``: the top classes of (samples, 1000) predictions."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index_path=class_index_path)
