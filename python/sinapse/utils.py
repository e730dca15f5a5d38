"""Helpers Keras users expect in ``keras.utils``, and the library's one random generator.

``set_random_seed(n)`` seeds the ONE generator (``global_rng()``) that every weight
initializer, every epoch's shuffle and every Dropout layer's Philox seed are drawn from,
so a CPU training run repeats bit for bit with the same seed and thread count. Like
Keras's, it also seeds Python's ``random`` and NumPy's legacy global generator.

Each model shuffles its batches with its own generator (``training_rng``), seeded from the
global one at its first shuffled ``fit``: a checkpoint (``model.save``) holds its state, and
each Dropout layer's seed and offset, so a run resumed with ``load_model`` is bit-identical.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

_rng = np.random.default_rng()


def global_rng() -> np.random.Generator:
    """The generator initializers, shuffling and dropout seeds draw from."""
    return _rng


def training_rng(model: Any) -> np.random.Generator:
    """The generator that shuffles ``model``'s batches in fit (created from ``global_rng()`` on
    first use; saved and restored with the model's checkpoints)."""
    rng = getattr(model, "_shuffle_rng", None)
    if rng is None:
        rng = model._shuffle_rng = np.random.Generator(np.random.PCG64(int(_rng.integers(0, 2**63))))
    return rng


def set_random_seed(seed: int) -> None:
    """Make initializers, shuffling and dropout repeat exactly (and seed random / np.random)."""
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative integer, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def to_categorical(y: Any, num_classes: int | None = None, dtype: Any = "float32") -> np.ndarray:
    """One-hot encode integer class labels, as ``keras.utils.to_categorical``.

    A trailing axis of size 1 is dropped first (labels shaped (N, 1)); the result has shape
    ``y.shape + (num_classes,)``; ``num_classes`` defaults to ``max(y) + 1``.
    """
    y = np.asarray(y)
    if y.size and not np.all(np.equal(np.mod(y, 1), 0)):
        raise ValueError("to_categorical: labels must be integers")
    y = y.astype(np.int64)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, got {int(y.min())}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: label {int(y.max())} does not fit num_classes={num_classes}")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    if y.size:
        np.put_along_axis(out.reshape(-1, num_classes), y.reshape(-1, 1), 1, axis=1)
    return out


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """``x`` divided by its L-``order`` norm along ``axis`` (zero norms left as 0)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
