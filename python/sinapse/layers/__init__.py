"""sinapse.layers: Keras-style layers (NHWC images, HWIO conv kernels, (in, out) Dense kernels).

Every layer computes with ``sinapse.ops`` kernels; see ``sinapse.layers.base`` (the Layer
docstring) for the forward/backward interface a new layer implements.
"""

from .activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .augmentation import (
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from .base import Input, InputLayer, Layer, Weight, deserialize, serialize
from .conv1d import Conv1D
from .convolutional import Conv2D, Convolution2D, ZeroPadding2D
from .convolutional_transpose import Conv2DTranspose
from .core import Activation, Dense, Dropout, Flatten, Reshape
from .depthwise import DepthwiseConv2D, SeparableConv2D
from .embedding import Embedding, Masking
from .layer_normalization import GroupNormalization, LayerNormalization
from .merge import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .noise import ActivityRegularization, GaussianNoise, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from .pooling1d import (
    AveragePooling1D,
    AvgPool1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)
from .recurrent import GRU, LSTM, SimpleRNN
from .reshaping import CenterCrop, Cropping2D, Rescaling, Resizing, UpSampling2D
from .reshaping_misc import Permute, RepeatVector
from .wrappers import Bidirectional, TimeDistributed

__all__ = [
    "ELU",
    "Activation",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Conv2D",
    "Convolution2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "MaxPooling2D",
    "ReLU",
    "Reshape",
    "Weight",
    "ZeroPadding2D",
    "deserialize",
    "serialize",
    "Embedding",
    "Masking",
    "SimpleRNN",
    "Softmax",
    "LSTM",
    "GRU",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "add",
    "subtract",
    "multiply",
    "average",
    "maximum",
    "minimum",
    "concatenate",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "Conv2DTranspose",
    "Conv1D",
    "LayerNormalization",
    "GroupNormalization",
    "UpSampling2D",
    "Cropping2D",
    "Resizing",
    "CenterCrop",
    "Rescaling",
    "Bidirectional",
    "TimeDistributed",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "MaxPool1D",
    "AvgPool1D",
    "GlobalAvgPool1D",
    "GlobalMaxPool1D",
    "Permute",
    "RepeatVector",
    "PReLU",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "ActivityRegularization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
]
