"""``sinapse.callbacks.BackupAndRestore``: resume an interrupted ``fit`` where it stopped.

Keras 3's callback (keras/src/callbacks/backup_and_restore.py) with sinapse's checkpoint: the
backup is a model file with the optimizer and every random generator (``model.save``'s
checkpoint, docs/model_format.md) plus the epoch reached, written atomically. A ``fit`` that
starts with a backup present restores it in place and runs from that epoch, so with
``save_freq="epoch"`` an interrupted and resumed run ends with the same weights, bit for bit, as
one never interrupted (tests/test_backup_and_restore.py).

Differences from Keras, on purpose:
- ``save_freq=<int>`` backs up every that many batches as Keras does, and resumes, as Keras
  does, at the start of the interrupted epoch with the weights of the last backup: that epoch's
  first batches are seen twice, so such a resume is not bit-identical.
- At the end of training (``delete_checkpoint=True``) only the files this callback wrote are
  removed, and the folder if it is then empty; Keras removes the whole folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil

from . import _callback_arguments as check
from .callbacks import Callback
from .ops._checks import as_bool

_LATEST = "latest.sinapse"


class BackupAndRestore(Callback):
    """Back up the training state at each epoch end (or every ``save_freq`` batches) in
    ``backup_dir``; restore it when ``fit`` starts again after an interruption.

    Args: ``backup_dir`` (str or path: a folder used by this callback only), ``save_freq``
    ("epoch" or an int >= 1 number of batches), ``double_checkpoint`` (bool: keep the previous
    backup too, and fall back to it when the latest cannot be read), ``delete_checkpoint``
    (bool: remove the backup when ``fit`` completes).

    Raises TypeError / ValueError for a bad argument; at the start of ``fit``, ``ModelFileError`` when a backup exists but does not fit the model
    (and no readable previous one does). In distributed training every rank restores the backup
    (a file system all ranks see) and rank 0 alone writes it.
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        cls = "BackupAndRestore"
        self.backup_dir = check.filepath(cls, "backup_dir", backup_dir)
        if save_freq != "epoch":
            if isinstance(save_freq, str):
                raise ValueError(f"{cls}: `save_freq` must be 'epoch' or an integer >= 1, got {save_freq!r}")
            save_freq = check.integer(cls, "save_freq", save_freq, minimum=1)
        self.save_freq = save_freq
        self.double_checkpoint = as_bool(cls, "double_checkpoint", double_checkpoint)
        self.delete_checkpoint = as_bool(cls, "delete_checkpoint", delete_checkpoint)
        self._latest = os.path.join(self.backup_dir, _LATEST)
        self._previous = self._latest + ".bkp"
        self._epoch = 0
        self._batches_since_save = 0

    # ------------------------------------------------------------------ restore
    def on_train_begin(self, logs: dict | None = None) -> None:
        from .models._file_format import ModelFileError

        if not self.model.built:  # fit builds the model from its data before on_train_begin
            raise RuntimeError(f"BackupAndRestore: the model {self.model.name!r} is not built at the start of fit")
        self._epoch, self._batches_since_save = 0, 0
        if os.path.exists(self.backup_dir) and not os.path.isdir(
            self.backup_dir
        ):  # else os.makedirs fails an epoch later
            raise ValueError(
                f"BackupAndRestore: `backup_dir` must be a folder, got {self.backup_dir!r}, which is an existing file"
            )
        if not os.path.exists(self._latest):
            return
        try:
            self._restore(self._latest)
        except (ModelFileError, OSError):
            if not (self.double_checkpoint and os.path.exists(self._previous)):
                raise
            self._restore(self._previous)

    def _restore(self, path: str) -> None:
        from .models.saving import restore_training_state

        training = restore_training_state(self.model, path, "BackupAndRestore")
        self._epoch = training["epoch"]
        self.model._initial_epoch = training["epoch"]  # read by fit right after on_train_begin

    # ------------------------------------------------------------------ backup
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save(batch=0)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= int(self.save_freq):
            self._batches_since_save = 0
            self._save(batch=batch + 1)

    def _save(self, batch: int) -> None:
        from . import distributed
        from .models.saving import save_model

        if not distributed.is_main():
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._latest):
            shutil.copyfile(self._latest, self._previous)  # a copy: the latest stays whole meanwhile
        training = {"epoch": self._epoch, "batch": batch}
        save_model(self.model, self._latest, overwrite=True, where="BackupAndRestore", training=training)

    def on_train_end(self, logs: dict | None = None) -> None:
        from . import distributed

        if not self.delete_checkpoint or not distributed.is_main():
            return
        for path in (self._latest, self._previous):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        with contextlib.suppress(OSError):  # only when empty: the folder may hold the user's files
            os.rmdir(self.backup_dir)
