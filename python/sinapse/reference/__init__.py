"""sinapse.reference: a NumPy implementation of every op sinapse ships.

Written to be read, not to be fast, and independently of the kernels' algorithms (no
BLAS call, no blocking, no packing), so tests can check the kernels against it. Every
function works in float32 and in float64; gradient checks use float64.

One module per op family, named as the op (python/sinapse/registry.py), and every function
takes the op's own public arguments (padding="same", strides, pool_size, ...) and computes
what follows from them itself, so a reference never inherits a mistake of ``sinapse.ops``.
Every backward op has its reference here under the same name (``<op>_backward``; the loss's
gradient is ``loss_grad``), each checked against central differences in float64
(tests/test_reference.py and the op's own tests).
"""

from .activation import ACTIVATIONS, activation, activation_backward, prelu, prelu_backward
from .augment import (
    adjust_brightness,
    adjust_brightness_backward,
    adjust_contrast,
    adjust_contrast_backward,
    affine_transform,
    affine_transform_backward,
    flip,
    flip_backward,
)
from .axpy import axpy
from .batch_norm import batch_norm, batch_norm_backward
from .bias import bias_add, bias_backward
from .conv2d import conv2d, conv2d_backward, conv2d_transpose, conv2d_transpose_backward
from .depthwise_conv2d import depthwise_conv2d, depthwise_conv2d_backward
from .dropout import (
    dropout,
    dropout_backward,
    dropout_mask,
    gaussian_noise,
    normals,
    spatial_dropout,
    spatial_dropout_backward,
)
from .embedding import embedding, embedding_backward
from .gemm import gemm
from .layer_norm import group_norm, group_norm_backward, layer_norm, layer_norm_backward
from .losses import loss, loss_grad
from .merge import concatenate, concatenate_backward, merge, merge_backward
from .optimizers import (
    adadelta_update,
    adagrad_update,
    adam_update,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    global_norm,
    rmsprop_update,
    sgd_update,
)
from .pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from .resize import crop, crop_backward, resize, resize_backward
from .rnn import gru, gru_backward, lstm, lstm_backward, simple_rnn, simple_rnn_backward
from .softmax import log_softmax, log_softmax_backward, softmax, softmax_backward

__all__ = [
    "ACTIVATIONS",
    "activation",
    "activation_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "axpy",
    "batch_norm",
    "batch_norm_backward",
    "bias_add",
    "bias_backward",
    "concatenate",
    "concatenate_backward",
    "conv2d",
    "conv2d_backward",
    "dropout",
    "dropout_backward",
    "dropout_mask",
    "gemm",
    "log_softmax",
    "log_softmax_backward",
    "loss",
    "loss_grad",
    "max_pool2d",
    "merge",
    "merge_backward",
    "max_pool2d_backward",
    "softmax",
    "softmax_backward",
    "embedding",
    "embedding_backward",
    "sgd_update",
    "adagrad_update",
    "adadelta_update",
    "rmsprop_update",
    "adam_update",
    "global_norm",
    "clip_by_value",
    "clip_by_norm",
    "clip_by_global_norm",
    "simple_rnn",
    "simple_rnn_backward",
    "lstm",
    "lstm_backward",
    "gru",
    "gru_backward",
    "depthwise_conv2d",
    "depthwise_conv2d_backward",
    "conv2d_transpose",
    "conv2d_transpose_backward",
    "layer_norm",
    "layer_norm_backward",
    "group_norm",
    "group_norm_backward",
    "resize",
    "resize_backward",
    "crop",
    "crop_backward",
    "prelu",
    "prelu_backward",
    "spatial_dropout",
    "spatial_dropout_backward",
    "gaussian_noise",
    "normals",
    "affine_transform",
    "affine_transform_backward",
    "flip",
    "flip_backward",
    "adjust_contrast",
    "adjust_contrast_backward",
    "adjust_brightness",
    "adjust_brightness_backward",
]
