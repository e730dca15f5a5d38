"""ResNet50/101/152 (He et al. 2016, https://arxiv.org/abs/1512.03385) as Keras builds them, and the
paper's small CIFAR ResNets (ResNet20, ``resnet_cifar(depth)``).

ResNet50/101/152 follow Keras 3's keras/src/applications/resnet.py (v1, bottleneck blocks,
biased convolutions, BatchNormalization epsilon 1.001e-5; names conv1_pad ... conv5_block3_out,
avg_pool, predictions), so Keras's published weight files load into them.

The CIFAR nets (paper section 4.2): a 3x3 convolution with 16 filters, then 3 stages of n basic
blocks (two 3x3 convolutions) with 16, 32 and 64 filters, the first block of stages 2 and 3
halving the image, global average pooling and the classifier: depth 6n + 2. Shortcuts are the
identity, except where the shape changes (2 blocks): there a 1x1 strided convolution projects
(the paper's option B, as Keras's CIFAR-10 ResNet example cifar10_resnet.py builds ResNet20 v1:
biased convolutions, he_normal kernels, no BatchNormalization on the projection).
ResNet20 has 274,442 parameters (273,066 trainable) for 32x32x3 inputs and 10 classes
(274,154 for 28x28x1); the paper's option A (zero-padded identity, no parameters) would
give 0.27M too (271,098 with these layers) but needs a channel padding layer sinapse lacks.
"""

from __future__ import annotations

from functools import partial

from .. import layers
from . import _common, imagenet_utils

_EPS = 1.001e-5  # Keras's ResNet BatchNormalization epsilon (the Caffe models')


def _bottleneck(x, filters, stride=1, conv_shortcut=True, name=None):
    """Keras's residual_block_v1: 1x1 -> 3x3 -> 1x1 (4 * filters), shortcut conv when asked."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(epsilon=_EPS, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPS, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPS, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPS, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stack(x, filters, blocks, stride1=2, name=None):
    x = _bottleneck(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = _bottleneck(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def _resnet_v1(blocks, stem, where, include_top, weights, input_tensor, input_shape, pooling, classes, act, name):
    _common.check_arguments(where, weights, include_top, classes, pooling, act)
    path = _common.imagenet_file(where, weights, _common.weights_file(stem, include_top), "resnet")
    shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, require_flatten=include_top, weights=weights, where=where
    )
    img_input = _common.image_input(where, input_tensor, shape, 224)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPS, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, n) in enumerate(zip((64, 128, 256, 512), blocks), start=2):
        x = _stack(x, filters, n, stride1=1 if stage == 2 else 2, name=f"conv{stage}")
    x = _resnet_head(x, include_top, pooling, classes, act)
    return _common.finish(img_input, input_tensor, x, name, path)


def _resnet_head(x, include_top, pooling, classes, act):
    """Keras's ResNet top: avg_pool + predictions; without it the pooling is named avg_pool / max_pool."""
    if include_top:
        return _common.head(x, True, None, classes, act, None, top_pool="avg_pool")
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


ResNet50 = _common.keras_builder(
    "ResNet50",
    "resnet50",
    partial(_resnet_v1, (3, 4, 6, 3), "resnet50"),
    """ResNet50 (v1): conv1 (7x7/2) and 3x3/2 max pooling, then 3, 4, 6, 3 bottleneck blocks
    (64, 128, 256, 512 filters, 4x wide outputs), ``avg_pool`` and ``predictions``.

    ``ResNet50(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
    classes=1000, classifier_activation="softmax", name="resnet50")``: Keras 3's
    ``keras.applications.ResNet50``, except that ``weights`` defaults to None (nothing can be
    downloaded): a path loads a weights file with ``model.load_weights``; "imagenet" loads
    ``resnet50_weights_tf_dim_ordering_tf_kernels[_notop].h5`` from Keras's cache folder
    (``~/.keras/models``) or raises ValueError saying where to get it. Inputs: 224x224x3 with
    the top, at least 32x32 without, preprocessed by ``preprocess_input`` ("caffe").
    Output: (batch, classes) with the top; (batch, H/32, W/32, 2048) or (batch, 2048) without.
    25,636,712 parameters with the top (23,587,712 without). Raises ValueError for bad
    arguments (docs/applications.md), before anything is built.
    """,
    __name__,
)

ResNet101 = _common.keras_builder(
    "ResNet101",
    "resnet101",
    partial(_resnet_v1, (3, 4, 23, 3), "resnet101"),
    """ResNet101: ResNet50 (same arguments, ``name="resnet101"``) with 23 blocks in stage 4
    (44,707,176 parameters with the top).""",
    __name__,
)

ResNet152 = _common.keras_builder(
    "ResNet152",
    "resnet152",
    partial(_resnet_v1, (3, 8, 36, 3), "resnet152"),
    """ResNet152: ResNet50 (same arguments, ``name="resnet152"``) with 8 blocks in stage 3 and 36
    in stage 4 (60,419,944 parameters with the top).""",
    __name__,
)


def _conv_bn(x, filters, stride, name, relu=True):
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", kernel_initializer="he_normal", name=f"{name}_conv")(
        x
    )
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x) if relu else x


def _basic_block(x, filters, stride, name):
    """Two 3x3 convolutions + shortcut (a 1x1 projection where the shape changes), then relu."""
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, kernel_initializer="he_normal", name=f"{name}_0_conv")(x)
    else:
        shortcut = x
    y = _conv_bn(x, filters, stride, f"{name}_1")
    y = _conv_bn(y, filters, 1, f"{name}_2", relu=False)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def resnet_cifar(
    depth,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=10,
    classifier_activation="softmax",
    name=None,
):
    """He et al.'s CIFAR ResNet of ``depth`` = 6n + 2 layers (20, 32, 44, 56, 110, ...): see the module
    docstring for the structure and shortcuts.

    Arguments as the ImageNet builders; ``input_shape`` defaults to (32, 32, 3) (28x28x1
    Fashion-MNIST works as is: 28 -> 14 -> 7), ``classes`` to 10, ``name`` to f"resnet{depth}".
    No published weights: ``weights`` is None or a file path. Layer names follow Keras's ResNet:
    conv1_conv/bn/relu, conv{2,3,4}_block{i}_{0,1,2}_conv..., _add, _out, avg_pool, predictions.
    Output: (batch, classes) with the top; (batch, H/4, W/4, 64) or (batch, 64) without.
    """
    return _resnet_cifar(
        depth, f"resnet_cifar(depth={depth!r})", include_top, weights, input_tensor, input_shape, pooling, classes,
        classifier_activation, name,
    )  # fmt: skip


def _resnet_cifar(depth, where, include_top, weights, input_tensor, input_shape, pooling, classes, act, name):
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"{where}: `depth` must be 6n + 2 with n >= 1 (8, 14, 20, 32, 56, 110, ...), got {depth!r}")
    if weights == "imagenet":
        raise ValueError(
            f"{where}: there are no published ImageNet weights for CIFAR ResNets; pass None or a file path"
        )
    _common.check_arguments(where, weights, include_top, classes, pooling, act)
    default = (32, 32, 3) if input_shape is None and input_tensor is None else input_shape
    shape = imagenet_utils.obtain_input_shape(default, 32, min_size=4, require_flatten=include_top, where=where)
    img_input = _common.image_input(where, input_tensor, shape, 32)
    x = _conv_bn(img_input, 16, 1, "conv1")
    for stage, filters in enumerate((16, 32, 64), start=2):
        for block in range(1, (depth - 2) // 6 + 1):
            stride = 2 if stage > 2 and block == 1 else 1
            x = _basic_block(x, filters, stride, f"conv{stage}_block{block}")
    x = _resnet_head(x, include_top, pooling, classes, act)
    return _common.finish(img_input, input_tensor, x, name or f"resnet{depth}", weights)


ResNet20 = _common.keras_builder(
    "ResNet20",
    "resnet20",
    partial(_resnet_cifar, 20),
    """``resnet_cifar(20, ...)``: 3 stages x 3 basic blocks, 16/32/64 filters; 274,442 parameters
    for 32x32x3 inputs and 10 classes (projection shortcuts, see the module docstring).

    ``ResNet20(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
    classes=10, classifier_activation="softmax", name="resnet20")``.""",
    __name__,
    default_classes=10,
)


def preprocess_input(x, data_format=None):
    """Keras's ``resnet50.preprocess_input``: mode "caffe" (RGB -> BGR, ImageNet means subtracted)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5, class_index_path=None):
    """``imagenet_utils.decode_predictions``: the top classes of (samples, 1000) predictions."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index_path=class_index_path)
