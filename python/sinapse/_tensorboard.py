"""``sinapse.callbacks.TensorBoard``: Keras 3's TensorBoard callback, written with tensorboardX.

Event files are written by tensorboardX's ``SummaryWriter`` (a maintained writer of TensorBoard's
own protobufs that needs no TensorFlow), so the real ``tensorboard`` server reads them:
``tensorboard --logdir logs``. The layout and tags are Keras 3's (keras/src/callbacks/tensorboard.py):

- ``<log_dir>/train``: ``epoch_<name>`` per epoch (loss, metrics, ``learning_rate``),
  ``batch_<name>`` every ``update_freq`` batches when ``update_freq`` is "batch" or an int,
  ``<layer>/<weight>/histogram`` every ``histogram_freq`` epochs (Keras's weight path: an RNN's
  cell and a wrapper's sub-layer in between, ``bidirectional/forward_lstm/lstm_cell/kernel``;
  a weight holding NaN or inf is skipped with a RuntimeWarning), and with ``write_images`` each
  weight as an image (``<layer>/<weight>/image``, Keras's reshaping) plus one grid of the first
  convolution's filters (``<layer>/<weight>/filters``);
- ``<log_dir>/validation``: ``epoch_<name>`` of the ``val_*`` logs, and
  ``evaluation_<name>_vs_iterations`` after each evaluation, stepped by the optimizer's iterations.

``write_graph`` is accepted and writes nothing (as Keras 3 with the JAX backend); profiling and
embeddings are not available (``profile_batch`` and ``embeddings_freq`` must be 0).
"""

from __future__ import annotations

import itertools
import os
import time
import warnings
from typing import Any

import numpy as np

from . import _callback_arguments as check
from . import devices
from .callbacks import Callback
from .models.keras_files import _legacy_name
from .ops._checks import as_bool

_WRITER_IDS = itertools.count()  # event file names unique within the process (see TensorBoard._writer)


def _writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "TensorBoard: writing event files needs tensorboardX: pip install 'sinapse[tensorboard]' "
            "(tensorboardX writes them, tensorboard shows them)"
        ) from None
    return SummaryWriter


def _update_freq(value) -> str | int:
    if value in ("epoch", "batch"):
        return 1 if value == "batch" else "epoch"
    return check.integer("TensorBoard", "update_freq", value, minimum=1)


def filter_grid(kernel: np.ndarray) -> np.ndarray:
    """The filters of an HWIO convolution kernel (kh, kw, cin, cout) as one uint8 image
    (H, W, 1 or 3): one tile per output filter, one-pixel gaps, each tile scaled to [0, 255]
    on its own; an input with 3 channels shows in colour, any other count as the mean over
    input channels. Raises ValueError for a kernel that is not 4-D."""
    if kernel.ndim != 4:
        raise ValueError(f"filter_grid: expected an HWIO kernel (kh, kw, cin, cout), got shape {kernel.shape}")
    kh, kw, cin, cout = kernel.shape
    tiles = kernel if cin == 3 else kernel.mean(axis=2, keepdims=True)  # (kh, kw, c, cout)
    tiles = np.moveaxis(tiles, 3, 0).astype(np.float64)  # (cout, kh, kw, c)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    span = tiles.max(axis=(1, 2, 3), keepdims=True) - low
    tiles = (tiles - low) / np.where(span > 0, span, 1.0)
    cols = int(np.ceil(np.sqrt(cout)))
    rows = -(-cout // cols)
    c = tiles.shape[3]
    grid = np.zeros((rows * (kh + 1) + 1, cols * (kw + 1) + 1, c))
    for k in range(cout):
        r, q = divmod(k, cols)
        grid[1 + r * (kh + 1) : 1 + r * (kh + 1) + kh, 1 + q * (kw + 1) : 1 + q * (kw + 1) + kw] = tiles[k]
    return np.round(grid * 255).astype(np.uint8)


def _weight_images(w: np.ndarray) -> np.ndarray | None:
    """Keras 3's ``_log_weight_as_image``: a weight as (n, h, w, 1) images, or None when it has
    no image form (more than 3 dimensions after squeezing)."""
    w = np.squeeze(w)
    if w.ndim == 1:
        w = w.reshape(1, w.shape[0], 1, 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:  # channels_last kernels: every output map a separate image
        w = np.transpose(w, (2, 0, 1))[..., None]
    if w.ndim != 4 or w.shape[-1] not in (1, 3, 4):
        return None
    low, high = float(w.min()), float(w.max())
    return np.round((w - low) / (high - low if high > low else 1.0) * 255).astype(np.uint8)


class TensorBoard(Callback):
    """Write training logs for TensorBoard (Keras 3's ``keras.callbacks.TensorBoard``).

    Args (Keras's): ``log_dir`` (str or path), ``histogram_freq`` (int >= 0: weight histograms
    every that many epochs; 0: none), ``write_graph`` (accepted, nothing written),
    ``write_images`` (bool: weights as images, and the first convolution's filters as one grid,
    when histograms are written), ``write_steps_per_second`` (bool: ``epoch_steps_per_second``
    and ``batch_steps_per_second``), ``update_freq`` ("epoch", "batch" or an int number of
    batches), ``profile_batch`` and ``embeddings_freq`` (must be 0), ``embeddings_metadata``
    (must be None).

    Raises ValueError / TypeError for a bad argument, ModuleNotFoundError (at the first write)
    when tensorboardX is not installed. Runs on rank 0 only in distributed training.
    """

    main_process_only = True

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Any = None,
    ) -> None:
        super().__init__()
        cls = "TensorBoard"
        self.log_dir = check.filepath(cls, "log_dir", log_dir)
        self.histogram_freq = check.integer(cls, "histogram_freq", histogram_freq)
        self.write_graph = as_bool(cls, "write_graph", write_graph)
        self.write_images = as_bool(cls, "write_images", write_images)
        self.write_steps_per_second = as_bool(cls, "write_steps_per_second", write_steps_per_second)
        self.update_freq = _update_freq(update_freq)
        for name, value in (("profile_batch", profile_batch), ("embeddings_freq", embeddings_freq)):
            if value not in (0, None):
                raise ValueError(f"{cls}: `{name}` must be 0, got {value!r} (sinapse has no profiler/embeddings hook)")
        if embeddings_metadata is not None:
            raise ValueError(f"{cls}: `embeddings_metadata` must be None (embeddings are not written)")
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._clock: dict[str, float] = {}
        self._fitting = False

    def _writer(self, which: str):
        if which not in self._writers:
            # tensorboardX names a file by the second and host only: a second writer within the same
            # second (an evaluate right after fit) truncated the first one's file
            suffix = f".{os.getpid()}.{next(_WRITER_IDS)}"
            self._writers[which] = _writer_class()(os.path.join(self.log_dir, which), filename_suffix=suffix)
        return self._writers[which]

    def _iterations(self) -> int:
        opt = getattr(self.model, "optimizer", None)
        return int(getattr(opt, "iterations", 0) or 0)

    def on_train_begin(self, logs: dict | None = None) -> None:
        if os.path.exists(self.log_dir) and not os.path.isdir(self.log_dir):  # else a bare error after epoch 1
            raise ValueError(
                f"TensorBoard: `log_dir` must be a folder, got {self.log_dir!r}, which is an existing file"
            )
        self._global_train_batch = 0
        self._fitting = True

    def on_train_end(self, logs: dict | None = None) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}
        self._fitting = False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._clock["epoch"], self._clock["iterations"] = time.perf_counter(), self._iterations()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._global_train_batch += 1
        self._clock["batch"] = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.update_freq == "epoch" or self._global_train_batch % int(self.update_freq):
            return
        writer, step = self._writer("train"), self._global_train_batch
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._clock.get("batch", time.perf_counter())
            writer.add_scalar("batch_steps_per_second", 1.0 / seconds if seconds > 0 else 0.0, step)
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), step)

    def on_test_end(self, logs: dict | None = None) -> None:
        if not logs or getattr(self.model, "optimizer", None) is None:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), self._iterations())
        if self._fitting:
            writer.flush()
        else:  # a standalone evaluate: tensorboardX's flush leaves queued events unwritten, close does not
            self._writers.pop("validation").close()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        lr = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        if lr is not None:
            train["learning_rate"] = float(lr)
        if self.write_steps_per_second and "epoch" in self._clock:
            seconds = time.perf_counter() - self._clock["epoch"]
            steps = self._iterations() - self._clock["iterations"]
            train["steps_per_second"] = steps / seconds if seconds > 0 else 0.0
        for which, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
                writer.flush()
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        grid_done = False
        for layer in self.model.layers:
            for weight in layer.weights:
                value = np.asarray(devices.to_numpy(weight.value), np.float64)
                tag = _legacy_name(layer, weight)  # Keras's weight.path: bidirectional/forward_lstm/lstm_cell/kernel
                if not np.isfinite(value).all():  # tensorboardX cannot bin NaN/inf: it raised inside fit
                    warnings.warn(
                        f"TensorBoard: weight {tag!r} holds NaN or inf at epoch {epoch}; "
                        f"its histogram and images are not written",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    continue
                writer.add_histogram(f"{tag}/histogram", value, epoch)
                if not self.write_images:
                    continue
                images = _weight_images(value)
                if images is not None:
                    writer.add_images(f"{tag}/image", images, epoch, dataformats="NHWC")
                if value.ndim == 4 and not grid_done:  # the first convolution's filters, as one picture
                    writer.add_image(f"{tag}/filters", filter_grid(value), epoch, dataformats="HWC")
                    grid_done = True
        writer.flush()
