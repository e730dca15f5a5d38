"""Fashion-MNIST (Zalando Research; Xiao, Rasul, Vollgraf 2017), as ``keras.datasets.fashion_mnist``.

    (x_train, y_train), (x_test, y_test) = sinapse.datasets.fashion_mnist.load_data()

x: uint8 (60000, 28, 28) and (10000, 28, 28), 0-255; y: uint8 (60000,) and (10000,), 0-9 for
CLASS_NAMES. Read from the four original IDX files; besides SINAPSE_DATA and the cache, the
folder Debian's package ``dataset-fashion-mnist`` installs is searched. Its files are gzipped
differently from Zalando's (so their MD5s differ) but decompress to the same bytes; checksums
are checked only on downloads.
"""

from __future__ import annotations

import os

import numpy as np

from . import _idx
from ._files import DatasetSpec, Download

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# Keras's copy first, then Zalando's own bucket. MD5s from Zalando's README.
_MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
SPEC = DatasetSpec(
    name="fashion_mnist",
    title="Fashion-MNIST",
    aliases=("fashion-mnist",),
    downloads=(
        Download("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", _MIRRORS),
        Download("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", _MIRRORS),
        Download("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", _MIRRORS),
        Download("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", _MIRRORS),
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    apt_package="dataset-fashion-mnist",
    file_hint=_idx.FILE_HINT,
)


def load_data(
    path: str | os.PathLike | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as Keras: uint8 images (N, 28, 28), uint8 labels (N,).

    ``path``: a folder holding the four IDX files (gzipped or not); then only that folder is used.
    """
    train, test = _idx.load_mnist_like(SPEC, path, (_idx.TRAIN, _idx.TEST))
    return train, test


def load_test_data(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x_test, y_test) only; needs only the two t10k files (not in Keras)."""
    (test,) = _idx.load_mnist_like(SPEC, path, (_idx.TEST,))
    return test
