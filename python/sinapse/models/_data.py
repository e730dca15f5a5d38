"""Turning fit/evaluate/predict inputs into batches on the model's device.

Arrays are converted once per call (float32 C-contiguous inputs; targets in the loss's
form), never per step. A batch is a view of the data (no shuffling) or gathered with
``np.take`` into a batch buffer preallocated once per call (shuffling), then, on CUDA,
copied to a device buffer: one host-to-device copy per step. Iterables / generators of
(x, y) or (x, y, sample_weight) tuples are converted batch by batch.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import devices, utils
from ..distributed.strategy import Shard, split


def as_inputs(x, what="x", dtype=np.float32) -> np.ndarray:
    """C-contiguous NumPy of ``dtype`` (None: keep the numeric dtype); a no-op for such arrays.
    ``what`` starts the messages ("Sequential.fit: `x`"): TypeError for non-numbers, ValueError
    for a scalar."""
    x = devices.to_numpy(x)
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception:  # noqa: BLE001
            raise TypeError(f"{what} must be an array, got {type(x).__name__}") from None
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{what} must hold numbers, got dtype {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"{what} must have a batch axis, got a scalar")
    return np.ascontiguousarray(x, dtype=dtype)


def is_iterable_data(x) -> bool:
    return (
        not isinstance(x, (np.ndarray, list, tuple, dict))
        and not hasattr(x, "__array__")
        and (hasattr(x, "__iter__") or hasattr(x, "__next__"))
    )


def class_weights_for(y: np.ndarray, class_weight: dict, sparse: bool) -> np.ndarray:
    """Per-sample weights from a {class: weight} dict (classes are labels, or the argmax of one-hot rows)."""
    labels = y if sparse or y.ndim == 1 or y.shape[-1] == 1 else np.argmax(y, axis=-1)
    labels = labels.reshape(len(y), -1)[:, 0] if labels.ndim > 1 else labels
    labels = np.rint(labels).astype(np.int64) if labels.dtype.kind == "f" else labels.astype(np.int64)
    table = np.ones(max(int(labels.max(initial=0)) + 1, max(class_weight, default=0) + 1), np.float32)
    for cls, weight in class_weight.items():
        table[int(cls)] = float(weight)
    return table[labels]


def shard_rows(total: int, replicas: tuple[int, int, bool]) -> tuple[Shard, tuple[int, int]]:
    """This rank's Shard of a global batch of ``total`` rows, and the rows [lo, hi) it computes.

    A rank whose part is empty (a last batch with fewer rows than processes) still runs the step,
    on the batch's last row as a stand-in (``Shard.rows`` 0: its loss, metrics, gradient and
    BatchNormalization statistics count for nothing), so every rank takes part in every
    collective of the step and draws the same dropout counters."""
    rank, size, sync = replicas
    lo, rows = split(total, rank, size)
    shard = Shard(lo, rows, total, sync)
    return shard, ((lo, lo + rows) if rows else (total - 1, total))


class ArrayData:
    """Batches of in-memory arrays: lists (one entry per model input / output) of x (float32),
    optional y (prepared) and per-sample weights (None entries: an output without a loss)."""

    def __init__(self, x, y, weights, batch_size, shuffle, device, rng=None):
        self.x, self.y, self.w = x, y, weights
        self.rng = rng  # the shuffling generator (the model's: utils.training_rng); None: the global one
        self.n = len(x[0])
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.device = device
        self.steps = -(-self.n // self.batch_size) if self.n else 0
        self._host = {}
        self._dev = {}
        self.replicas = None  # (rank, size, sync_batch_norm): yield only this rank's rows of each batch
        self.batch_shard: Shard | None = None  # which rows of the global batch the last one yielded holds

    def __len__(self):
        return self.steps

    def limit_steps(self, steps: int, name: str, where: str) -> None:
        """Keras's steps_per_epoch / steps on arrays: only the first ``steps`` batches (per epoch)."""
        if steps > self.steps:
            raise ValueError(
                f"{where}: `{name}`={steps} but the data holds only {self.steps} batch(es) of "
                f"batch_size={self.batch_size} ({self.n} samples); lower `{name}` or leave it None"
            )
        self.steps = steps

    def _buffer(self, store, key, like, rows, device):
        k = (key, rows)
        b = store.get(k)
        if b is None:
            b = store[k] = (
                device.empty((rows, *like.shape[1:]), like.dtype)
                if device is not None
                else np.empty((rows, *like.shape[1:]), like.dtype)
            )
        return b

    def _move(self, key, host):
        if not self.device.is_cuda:
            return host
        dev = self._buffer(self._dev, key, host, len(host), self.device)
        dev.set(host)
        return dev

    def batches(self):
        """Yields (xs, ys, ws): lists of device arrays (ys, ws None without targets; entries None for
        an output without a loss); shuffles with ``rng``."""
        rng = self.rng if self.rng is not None else utils.global_rng()
        order = rng.permutation(self.n) if self.shuffle else None
        groups = (("x", self.x), ("y", self.y), ("w", self.w))
        for start in range(0, min(self.n, self.steps * self.batch_size), self.batch_size):
            stop = min(start + self.batch_size, self.n)
            if self.replicas is not None:  # this rank's contiguous part of the global batch
                self.batch_shard, (lo, hi) = shard_rows(stop - start, self.replicas)
                start, stop = start + lo, start + hi
            idx = None if order is None else order[start:stop]
            yield tuple(
                None if arrays is None else [self._rows((key, i), a, start, stop, idx) for i, a in enumerate(arrays)]
                for key, arrays in groups
            )

    def _rows(self, key, a, start, stop, idx):
        """Rows start:stop of ``a`` (a view), or gathered at ``idx`` into a reused buffer; on the device."""
        if a is None:
            return None
        if idx is None:
            return self._move(key, a[start:stop])
        host = self._buffer(self._host, key, a, stop - start, None)
        np.take(a, idx, axis=0, out=host)
        return self._move(key, host)


def _describe(item) -> str:
    """A batch in an error message: its type and, for tuples, the types inside (never the data)."""
    if isinstance(item, (tuple, list)):
        return f"a {type(item).__name__} of {len(item)}: ({', '.join(type(v).__name__ for v in item[:4])})"
    return f"a {type(item).__name__}" + (f" {item[:40]!r}" if isinstance(item, str) else "")


class IterableData:
    """Batches from an iterable or generator of x, (x, y) or (x, y, sample_weight)."""

    def __init__(self, source, steps, prepare, device, need_targets, where="Sequential.fit"):
        self.where = where  # the public method ("Sequential.fit") that starts every error
        self.source = source
        self.steps = steps
        self.prepare = prepare  # (x, y, w) NumPy -> (x, y, w) in the kernels' form
        self.device = device
        self.need_targets = need_targets
        self._iterator = None
        self._first = None
        self.replicas = None  # as ArrayData's: each batch the iterable yields is the global batch
        self.batch_shard: Shard | None = None

    def __len__(self):
        if self.steps is not None:
            return self.steps
        try:
            return len(self.source)
        except TypeError:
            return 0  # unknown

    def peek(self):
        """The first batch (kept for the first epoch), to build the model from its shape."""
        if self._first is None:
            self._iterator = iter(self.source)
            try:
                self._first = self._split(next(self._iterator))
            except StopIteration:
                raise ValueError(f"{self.where}: the data iterable yielded no batch") from None
        return self._first

    def _split(self, item):
        if isinstance(item, (tuple, list)) and len(item) in (1, 2, 3) and not np.isscalar(item[0]):
            x = item[0]
            y = item[1] if len(item) > 1 else None
            w = item[2] if len(item) > 2 else None
        else:
            x, y, w = item, None, None
        if self.need_targets and y is None:
            raise ValueError(
                f"{self.where}: each batch must be an (x, y) or (x, y, sample_weight) tuple to train or "
                f"evaluate, got {_describe(item)}"
            )
        return x, y, w

    def batches(self):
        if self._first is not None:
            first, self._first = self._first, None
            it = self._iterator
            yield self._to_device(first)
            produced = 1
        else:
            if self._iterator is None or self.steps is None:
                self._iterator = iter(self.source)
            it = self._iterator
            produced = 0
        assert it is not None  # set with _first by peek(), or just above
        while self.steps is None or produced < self.steps:
            try:
                item = next(it)
            except StopIteration:
                if self.steps is not None:
                    warnings.warn(
                        f"{self.where}: the data ran out after {produced} of steps={self.steps} batches; "
                        f"make the generator repeat (or lower steps_per_epoch)",
                        UserWarning,
                        stacklevel=3,
                    )
                return
            produced += 1
            yield self._to_device(self._split(item))

    def _to_device(self, batch):
        groups = self.prepare(*batch)  # lists per input / output (models/training.py)
        if self.replicas is not None:
            self.batch_shard, (lo, hi) = shard_rows(len(groups[0][0]), self.replicas)
            groups = tuple(None if g is None else [None if a is None else a[lo:hi] for a in g] for g in groups)
        d = self.device
        return tuple(
            None if g is None else [None if a is None else (d.asarray(a, a.dtype) if d.is_cuda else a) for a in g]
            for g in groups
        )
