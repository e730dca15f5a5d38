"""ImageNet helpers of the applications: ``preprocess_input`` (Keras's modes), ``decode_predictions``.

After Keras 3's ``keras/src/applications/imagenet_utils.py`` (same modes, constants and results).
Nothing can be downloaded here, so ``decode_predictions`` reads ImageNet's class index from a file
the user provides: ``class_index_path=``, or where Keras caches it
(``$KERAS_HOME/models/imagenet_class_index.json``, ``~/.keras/models/...``, ``/tmp/.keras/models/...``).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_FILE = "imagenet_class_index.json"

# Keras's per-channel ImageNet statistics: "caffe" subtracts BGR means (0-255 scale),
# "torch" normalises RGB in 0-1 by mean and standard deviation.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)

_class_indices: dict[str, dict] = {}  # parsed class-index files by resolved path


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of RGB images in [0, 255] the way an ImageNet model was trained.

    ``x``: 3-D (H, W, C) or 4-D (N, H, W, C) array (channels first with
    ``data_format="channels_first"``), C = 3 for "caffe" and "torch". Modes, as Keras:

    - "caffe": RGB -> BGR, then subtract (103.939, 116.779, 123.68) per channel (VGG, ResNet50).
    - "tf": x / 127.5 - 1, to [-1, 1] (InceptionV3).
    - "torch": x / 255, then (x - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225) per channel.

    A floating NumPy array is written over in place, as in Keras (pass ``np.copy(x)`` to keep
    it); anything else is converted to float32 first. Returns the preprocessed array (for
    "caffe", a channel-reversed view of ``x``). Raises ValueError for an unknown ``mode`` or
    ``data_format`` or a channel axis that is not 3 long.
    """
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError(f"preprocess_input: `mode` must be 'caffe', 'tf' or 'torch', got mode={mode!r}")
    data_format = "channels_last" if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            f"preprocess_input: `data_format` must be 'channels_first' or 'channels_last', got {data_format!r}"
        )
    if not (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)):
        x = np.asarray(x, dtype=np.float32)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    channel_axis = -1 if data_format == "channels_last" or x.ndim < 3 else x.ndim - 3
    if x.ndim < 1 or x.shape[channel_axis] != 3:
        raise ValueError(
            f"preprocess_input: mode={mode!r} needs 3 colour channels on the {data_format} axis; "
            f"got an array of shape {x.shape}"
        )
    shape = [1] * x.ndim
    shape[channel_axis] = 3
    if mode == "torch":
        x /= 255.0
        x -= np.reshape(np.asarray(_TORCH_MEAN, x.dtype), shape)
        x /= np.reshape(np.asarray(_TORCH_STD, x.dtype), shape)
        return x
    x = np.flip(x, axis=channel_axis)  # RGB -> BGR (a view, like Keras's x[..., ::-1])
    x -= np.reshape(np.asarray(_CAFFE_MEAN_BGR, x.dtype), shape)
    return x


def keras_cache_dirs() -> list[Path]:
    """Where Keras caches downloaded files' ``models/`` subfolder, in the order it looks:
    ``$KERAS_HOME/models``, ``~/.keras/models``, ``/tmp/.keras/models`` (keras/src/utils/file_utils.py)."""
    dirs = []
    if os.environ.get("KERAS_HOME"):
        dirs.append(Path(os.environ["KERAS_HOME"]) / "models")
    dirs += [Path.home() / ".keras" / "models", Path("/tmp/.keras/models")]
    return dirs


def find_cached(filename: str) -> Path | None:
    """``filename`` in one of Keras's cache folders (keras_cache_dirs), else None."""
    for d in keras_cache_dirs():
        if (d / filename).is_file():
            return d / filename
    return None


def _load_class_index(class_index_path) -> dict:
    if class_index_path is None:
        found = find_cached(CLASS_INDEX_FILE)
        if found is None:
            places = ", ".join(str(d / CLASS_INDEX_FILE) for d in keras_cache_dirs())
            raise FileNotFoundError(
                f"decode_predictions: ImageNet's class index is not here and cannot be downloaded on this "
                f"machine. Download {CLASS_INDEX_URL} elsewhere and put it at one of: {places}, or pass "
                "class_index_path='path/to/imagenet_class_index.json'"
            )
        class_index_path = found
    path = Path(class_index_path).resolve()
    if str(path) not in _class_indices:
        try:
            with open(path, encoding="utf-8") as f:
                index = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"decode_predictions: `class_index_path` {str(class_index_path)!r} does not exist"
            ) from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"decode_predictions: {str(class_index_path)!r} is not JSON: {exc}") from None
        if not (isinstance(index, dict) and all(isinstance(v, list) and len(v) == 2 for v in index.values())):
            raise ValueError(
                f"decode_predictions: {str(class_index_path)!r} must map class numbers to [wordnet_id, name] "
                'pairs, like Keras\'s {"0": ["n01440764", "tench"], ...}'
            )
        _class_indices[str(path)] = index
    return _class_indices[str(path)]


def decode_predictions(preds, top=5, class_index_path=None):
    """The ``top`` classes of each row of ``preds``: ``[[(wordnet_id, name, score), ...], ...]``.

    ``preds``: (samples, classes) scores, classes = the class index's size (1000 for ImageNet's).
    The class index (Keras's ``imagenet_class_index.json``: ``{"0": ["n01440764", "tench"], ...}``)
    comes from ``class_index_path`` or Keras's cache (``keras_cache_dirs()``); it is read once per
    file. Each row's list is sorted by decreasing score, as Keras. Raises ValueError for a
    ``preds`` that is not 2-D or not as wide as the index, FileNotFoundError when no index file
    is found (the message says where to put one).
    """
    preds = np.asarray(preds)
    if preds.ndim != 2:
        raise ValueError(
            f"decode_predictions: `preds` must be a batch of predictions (a 2-D array (samples, 1000)), "
            f"got an array of shape {preds.shape}"
        )
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"decode_predictions: `top` must be a positive int, got {top!r}")
    index = _load_class_index(class_index_path)
    if preds.shape[1] != len(index):
        raise ValueError(
            f"decode_predictions: `preds` of shape {preds.shape} has {preds.shape[1]} classes, the class index "
            f"{len(index)}; expected (samples, {len(index)})"
        )
    results = []
    for row in preds:
        best = np.argsort(row, kind="stable")[-top:][::-1]
        entries = [(*index[str(int(i))], row[i]) for i in best]
        entries.sort(key=lambda e: e[2], reverse=True)
        results.append(entries)
    return results


def obtain_input_shape(input_shape, default_size, min_size, require_flatten, weights=None, where="obtain_input_shape"):
    """The image input shape (H, W, C) of an application, checked as Keras's obtain_input_shape.

    ``input_shape`` None: (default_size, default_size, 3) when the model ends in a Flatten/Dense
    top (``require_flatten``), else (None, None, 3). Given: 3 values, H and W at least ``min_size``,
    3 channels with ImageNet weights (and exactly the default shape with the top). Channels last.
    Raises ValueError naming ``where`` (the builder) and ``input_shape`` as passed.
    """
    default = (default_size, default_size, 3)
    if weights != "imagenet" and input_shape is not None and len(input_shape) == 3:
        if input_shape[-1] not in (1, 3):
            warnings.warn(
                f"{where}: this model usually expects 1 or 3 input channels, got input_shape={input_shape}",
                stacklevel=3,
            )
        default = (default_size, default_size, input_shape[-1])
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default:
            raise ValueError(
                f"{where}: with include_top=True and ImageNet weights `input_shape` must be {default}, "
                f"got input_shape={input_shape}"
            )
        return default
    if input_shape is None:
        if require_flatten:
            return default
        return (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"{where}: `input_shape` must be (height, width, channels), got input_shape={input_shape}")
    if input_shape[-1] != 3 and weights == "imagenet":
        raise ValueError(f"{where}: ImageNet weights need 3 input channels, got input_shape={input_shape}")
    if any(d is not None and d < min_size for d in input_shape[:2]):
        raise ValueError(f"{where}: images must be at least {min_size}x{min_size}, got input_shape={input_shape}")
    if require_flatten and None in input_shape:
        raise ValueError(f"{where}: with include_top=True give a fixed `input_shape`, got input_shape={input_shape}")
    return input_shape


def validate_activation(classifier_activation, weights, where="validate_activation"):
    """Pretrained weights allow only a softmax or linear (None) classifier, as in Keras."""
    if weights is not None and classifier_activation not in (None, "softmax", "linear"):
        raise ValueError(
            f"{where}: with pretrained weights `classifier_activation` must be None or 'softmax', "
            f"got classifier_activation={classifier_activation!r}"
        )
