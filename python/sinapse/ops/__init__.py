"""sinapse.ops: the functional API, one function per op.

Every op takes and returns arrays and accepts ``out=`` for a preallocated result (a tuple with
one entry per result, each an array or None, for an op with several: the NumPy ufunc
convention). Arrays come first, then names and options (``activation(x, name)``,
``loss(y_true, y_pred, name)``); every backward is ``<op>_backward(dy, ...)``.
NumPy arrays run the CPU kernels (sinapse._cpu); arrays with ``__cuda_array_interface__``
(CuPy) run the CUDA kernels (sinapse._cuda). Arguments are validated in ops/_checks.py:
float32 and C-contiguous, or a TypeError/ValueError saying what is wrong and how to fix it.

Repeated calls on arrays of one shape (a layer's forward, an optimizer's step) can skip the
validation: ``plan = ops.prepare(ops.gemm, x, w, bias=b)`` (or ``ops.gemm.prepare(...)``)
checks once, then ``plan(x, w, bias=b, out=y)`` launches after a few cheap checks
(ops/_plan.py).
"""

from . import rnn_convert
from ._plan import Plan, prepare  # noqa: F401 (public, outside __all__: not ops)
from .activation import activation, activation_backward, prelu, prelu_backward
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
from .conv2d import conv2d, conv2d_backward, conv2d_transpose, conv2d_transpose_backward, conv2d_variant
from .depthwise_conv2d import depthwise_conv2d, depthwise_conv2d_backward
from .dropout import dropout, dropout_backward, gaussian_noise, spatial_dropout, spatial_dropout_backward
from .embedding import embedding, embedding_backward
from .gemm import ACTIVATIONS, gemm
from .layer_norm import group_norm, group_norm_backward, layer_norm, layer_norm_backward
from .losses import loss
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

# The ops, one name each (tests walk this list); ``prepare`` and ``Plan`` are the prepared-call
# machinery over them, not ops.
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
    "conv2d",
    "conv2d_backward",
    "conv2d_variant",
    "dropout",
    "dropout_backward",
    "gemm",
    "log_softmax",
    "log_softmax_backward",
    "loss",
    "max_pool2d",
    "max_pool2d_backward",
    "merge",
    "merge_backward",
    "concatenate",
    "concatenate_backward",
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
    "rnn_convert",
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
    "affine_transform",
    "affine_transform_backward",
    "flip",
    "flip_backward",
    "adjust_contrast",
    "adjust_contrast_backward",
    "adjust_brightness",
    "adjust_brightness_backward",
]
