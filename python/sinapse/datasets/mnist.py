"""MNIST handwritten digits (Yann LeCun and Corinna Cortes), as ``keras.datasets.mnist``.

    (x_train, y_train), (x_test, y_test) = sinapse.datasets.mnist.load_data()

x: uint8 (60000, 28, 28) and (10000, 28, 28), 0-255; y: uint8 (60000,) and (10000,), 0-9.
Read from the four original IDX files; where they are looked for and how they are downloaded:
sinapse.datasets (package docstring). Keras reads a repacked ``mnist.npz`` instead; the
arrays are the same.
"""

from __future__ import annotations

import os

import numpy as np

from . import _idx
from ._files import DatasetSpec, Download

_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# MD5s as published with the dataset (the only checksums its authors give).
SPEC = DatasetSpec(
    name="mnist",
    title="MNIST",
    downloads=(
        Download("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", _MIRRORS),
        Download("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", _MIRRORS),
        Download("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", _MIRRORS),
        Download("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", _MIRRORS),
    ),
    file_hint=_idx.FILE_HINT,
)


def load_data(
    path: str | os.PathLike | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as Keras: uint8 images (N, 28, 28), uint8 labels (N,).

    ``path``: a folder holding the four IDX files (gzipped or not); then only that folder is
    used. Unlike Keras, not a file name inside the cache.
    """
    train, test = _idx.load_mnist_like(SPEC, path, (_idx.TRAIN, _idx.TEST))
    return train, test


def load_test_data(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x_test, y_test) only; needs only the two t10k files (not in Keras).

    For evaluation-only use where the training images are absent, e.g. a folder holding the
    MNIST test set alone.
    """
    (test,) = _idx.load_mnist_like(SPEC, path, (_idx.TEST,))
    return test
