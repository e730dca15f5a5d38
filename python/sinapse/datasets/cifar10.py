"""CIFAR-10 (Alex Krizhevsky, 2009), as ``keras.datasets.cifar10``.

    (x_train, y_train), (x_test, y_test) = sinapse.datasets.cifar10.load_data()

x: uint8 (50000, 32, 32, 3) and (10000, 32, 32, 3), HWC (channels last) RGB 0-255;
y: uint8 (50000, 1) and (10000, 1) as Keras (a column, not a flat vector), 0-9 for CLASS_NAMES.
Read from the official *binary* version (data_batch_1.bin ... data_batch_5.bin, test_batch.bin,
loose, in cifar-10-batches-bin/, or inside cifar-10-binary.tar.gz); Keras reads the Python
(pickle) version, which sinapse never loads since unpickling can run code.
"""

from __future__ import annotations

import os

import numpy as np

from . import _cifar
from ._files import DatasetSpec, Download, locate

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

SPEC = DatasetSpec(
    name="cifar10",
    title="CIFAR-10",
    aliases=("cifar-10",),
    downloads=(
        Download(
            _cifar.ARCHIVE,
            "c32a1d4ab5d03f1284b67883e8d87530",  # MD5 from the CIFAR page
            ("https://www.cs.toronto.edu/~kriz/",),
            provides=_cifar.TRAIN + _cifar.TEST,
        ),
    ),
    file_hint=f" (loose, in {_cifar.ARCHIVE_DIR}/, or the archive {_cifar.ARCHIVE})",
)


def load_data(
    path: str | os.PathLike | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as Keras: uint8 (N, 32, 32, 3), uint8 labels (N, 1).

    ``path``: a folder holding the six batch files, their cifar-10-batches-bin/ folder, or the archive.
    """
    reader = locate(SPEC, path, _cifar.TRAIN + _cifar.TEST, _cifar.probe_cifar_folder)
    return (
        _cifar.load_batches(reader, _cifar.TRAIN, _cifar.RECORDS_PER_BATCH),
        _cifar.load_batches(reader, _cifar.TEST, _cifar.RECORDS_PER_BATCH),
    )


def load_test_data(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x_test, y_test) only; needs only test_batch.bin (not in Keras)."""
    reader = locate(SPEC, path, _cifar.TEST, _cifar.probe_cifar_folder)
    return _cifar.load_batches(reader, _cifar.TEST, _cifar.RECORDS_PER_BATCH)
