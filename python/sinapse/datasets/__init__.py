"""Datasets as ``keras.datasets``: ``mnist``, ``fashion_mnist``, ``cifar10``, each with ``load_data(path=None)``.

    from sinapse.datasets import fashion_mnist
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()

Arrays, dtypes and shapes are those of Keras (uint8 images, uint8 labels; CIFAR-10 labels as an
(N, 1) column). Each module also has ``load_test_data(path=None)`` for the test split alone.

Files are read in their original formats (IDX for the MNISTs, the binary batches for CIFAR-10)
and looked for, in order: the folder given as ``path=`` (then nowhere else); ``$SINAPSE_DATA/<name>/``
and ``$SINAPSE_DATA``; the cache ``~/.cache/sinapse/<name>/`` (``$XDG_CACHE_HOME`` if set); the
system folder (``/usr/share/datasets/fashion-mnist/`` from ``apt-get install dataset-fashion-mnist``).
When none holds them, they are downloaded into the cache from the official mirrors, MD5-checked,
unless ``SINAPSE_OFFLINE=1``; failing that, ``DatasetNotFoundError`` (a ``FileNotFoundError``)
lists the files, the folders searched and what each lacks, and how to install them. A file that
is found but damaged (truncated, wrong magic number, wrong record count) raises ``ValueError``
naming the file. Details: ``sinapse/datasets/_files.py``.
"""

from . import cifar10, fashion_mnist, mnist
from ._files import DatasetNotFoundError

__all__ = ["mnist", "fashion_mnist", "cifar10", "DatasetNotFoundError"]
