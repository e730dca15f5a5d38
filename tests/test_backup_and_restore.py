"""callbacks.BackupAndRestore: an interrupted fit resumes where it stopped, bit for bit (with
save_freq="epoch"), in the same model or a new one built alike; the backup is written
atomically, falls back to the previous one with double_checkpoint, and is cleaned up
without touching the user's files."""

import json
import os

import numpy as np
import pytest

import sinapse
from keras_helpers import blobs
from sinapse import callbacks, layers, optimizers
from sinapse.models import Sequential
from sinapse.models._file_format import ModelFileError, read_file

EPOCHS = 4


class Interrupt(callbacks.Callback):
    """Raises at the start of epoch ``at`` (as a crash or a preemption would)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt(f"interrupted at epoch {epoch}")


def data():
    return blobs(40, 5, 3, np.random.default_rng(0))


def make_model():
    sinapse.utils.set_random_seed(11)
    model = Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(5,)),
            layers.BatchNormalization(),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit(model, cbs, epochs=EPOCHS):
    x, y = data()
    return model.fit(x, y, epochs=epochs, batch_size=8, shuffle=True, verbose=0, callbacks=cbs)


def straight_weights():
    model = make_model()
    fit(model, [])
    return model.get_weights()


def assert_same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("same_model", [True, False], ids=["same-model", "new-model"])
def test_interrupted_fit_resumes_bit_identically(tmp_path, same_model):
    expected = straight_weights()
    backup = tmp_path / "backup"
    model = make_model()
    with pytest.raises(KeyboardInterrupt):
        fit(model, [callbacks.BackupAndRestore(backup), Interrupt(2)])
    metadata, _ = read_file(backup / "latest.sinapse", ("sinapse.model",))
    assert json.loads(metadata["training"]) == {"epoch": 2, "batch": 0}
    if not same_model:
        sinapse.utils.set_random_seed(999)  # whatever happens in between must not matter
        model = make_model()
        sinapse.utils.set_random_seed(12345)
    history = fit(model, [callbacks.BackupAndRestore(backup)])
    assert history.epoch == [2, 3]  # only the epochs left ran
    assert_same(model.get_weights(), expected)
    assert not backup.exists()  # delete_checkpoint=True: gone once fit completed


def test_a_finished_backup_runs_no_epoch_and_keeps_files_when_asked(tmp_path):
    model = make_model()
    fit(model, [callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)])
    assert (tmp_path / "latest.sinapse").exists()
    history = fit(model, [callbacks.BackupAndRestore(tmp_path, delete_checkpoint=False)])
    assert history.epoch == []


def test_cleanup_removes_only_its_own_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    fit(make_model(), [callbacks.BackupAndRestore(tmp_path)], epochs=1)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    model = make_model()
    with pytest.raises(KeyboardInterrupt):
        fit(model, [callbacks.BackupAndRestore(tmp_path, double_checkpoint=True), Interrupt(3)])
    prev, _ = read_file(tmp_path / "latest.sinapse.bkp", ("sinapse.model",))
    assert json.loads(prev["training"])["epoch"] == 2
    data = bytearray((tmp_path / "latest.sinapse").read_bytes())
    data[-5] ^= 0xFF  # a damaged latest backup (a flipped bit in a weight)
    (tmp_path / "latest.sinapse").write_bytes(bytes(data))
    history = fit(make_model(), [callbacks.BackupAndRestore(tmp_path, double_checkpoint=True)])
    assert history.epoch == [2, 3]


def test_a_damaged_backup_without_a_previous_one_is_an_error(tmp_path):
    model = make_model()
    with pytest.raises(KeyboardInterrupt):
        fit(model, [callbacks.BackupAndRestore(tmp_path), Interrupt(1)])
    path = tmp_path / "latest.sinapse"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(ModelFileError, match="latest.sinapse"):
        fit(make_model(), [callbacks.BackupAndRestore(tmp_path)])
    assert path.exists()  # never deleted: the user decides


def test_a_backup_of_another_architecture_is_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        fit(make_model(), [callbacks.BackupAndRestore(tmp_path), Interrupt(1)])
    other = Sequential([layers.Dense(4, input_shape=(5,)), layers.Dense(3, activation="softmax")])
    other.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ModelFileError, match="different architecture"):
        fit(other, [callbacks.BackupAndRestore(tmp_path)])


def test_batch_frequency_backs_up_mid_epoch_and_resumes_that_epoch(tmp_path):
    model = make_model()
    seen = []
    spy = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(os.path.exists(tmp_path / "b")))
    with pytest.raises(KeyboardInterrupt):
        fit(model, [callbacks.BackupAndRestore(tmp_path / "b", save_freq=3), spy, Interrupt(1)])
    assert seen[:3] == [False, False, True]  # the first backup after 3 batches
    metadata, _ = read_file(tmp_path / "b" / "latest.sinapse", ("sinapse.model",))
    assert json.loads(metadata["training"]) == {"epoch": 0, "batch": 3}  # 3 batches into epoch 0
    history = fit(model, [callbacks.BackupAndRestore(tmp_path / "b", save_freq=3)])
    assert history.epoch == [0, 1, 2, 3]  # Keras: the interrupted epoch starts again


def test_a_model_built_by_fit_itself_is_backed_up_and_restored(tmp_path):
    """Unlike Keras, no build before fit is needed: fit builds the model before on_train_begin."""
    x, y = np.ones((8, 2), np.float32), np.ones((8, 3), np.float32)
    model = Sequential([layers.Dense(3)])
    model.compile("sgd", "mse")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path), Interrupt(1)])
    fresh = Sequential([layers.Dense(3)])
    fresh.compile("sgd", "mse")
    history = fresh.fit(x, y, epochs=3, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path)])
    assert history.epoch == [1, 2]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"backup_dir": ""}, "backup_dir"),
        ({"backup_dir": 3}, "backup_dir"),
        ({"backup_dir": "x", "save_freq": "batch"}, "save_freq"),
        ({"backup_dir": "x", "save_freq": 0}, "save_freq"),
        ({"backup_dir": "x", "double_checkpoint": "yes"}, "double_checkpoint"),
        ({"backup_dir": "x", "delete_checkpoint": None}, "delete_checkpoint"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=f"BackupAndRestore: `{match}`"):
        callbacks.BackupAndRestore(**kwargs)
