"""Callbacks: the hooks and their order, History, EarlyStopping, ModelCheckpoint,
TerminateOnNaN, ReduceLROnPlateau, LearningRateScheduler, CSVLogger and the progress bar."""

import csv

import numpy as np
import pytest

import sinapse
from keras_helpers import blobs
from sinapse import callbacks, layers
from sinapse.models import Sequential
from sinapse.optimizers import SGD


@pytest.fixture
def problem(rng):
    sinapse.utils.set_random_seed(0)
    x, y = blobs(64, 4, 2, rng)
    model = Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(2, activation="softmax")])
    model.compile(SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, x, y


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch} {sorted(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_hooks_run_in_keras_order(problem):
    model, x, y = problem
    rec = Recorder()
    model.fit(x, y, epochs=2, batch_size=32, validation_data=(x, y), callbacks=[rec], verbose=0, initial_epoch=0)
    assert rec.calls == [
        "train_begin",
        "epoch_begin 0",
        "batch_end 0 ['accuracy', 'loss']",
        "batch_end 1 ['accuracy', 'loss']",
        "epoch_end 0 ['accuracy', 'loss', 'val_accuracy', 'val_loss']",
        "epoch_begin 1",
        "batch_end 0 ['accuracy', 'loss']",
        "batch_end 1 ['accuracy', 'loss']",
        "epoch_end 1 ['accuracy', 'loss', 'val_accuracy', 'val_loss']",
        "train_end",
    ]
    assert rec.model is model and rec.params["epochs"] == 2 and rec.params["steps"] == 2


def test_initial_epoch_and_lambda_callback(problem):
    model, x, y = problem
    seen = []
    h = model.fit(
        x,
        y,
        epochs=4,
        initial_epoch=2,
        verbose=0,
        callbacks=[callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))],
    )
    assert h.epoch == [2, 3] and seen == [2, 3]


class ScriptedLoss(callbacks.Callback):
    """Overwrites the monitored value with a script, to drive the monitoring callbacks exactly."""

    def __init__(self, values, key="val_loss"):
        super().__init__()
        self.values, self.key = values, key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_early_stopping_stops_and_restores_the_best_weights(problem):
    model, x, y = problem
    snapshots = []
    snap = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    h = model.fit(
        x,
        y,
        epochs=10,
        verbose=0,
        validation_data=(x, y),
        callbacks=[ScriptedLoss([1.0, 0.5, 0.6, 0.7, 0.4, 0.3]), snap, stop],
    )
    assert h.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3 and stop.best_epoch == 1
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_restores_also_when_training_runs_to_the_end(problem):
    model, x, y = problem
    snapshots = []
    snap = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    stop = callbacks.EarlyStopping(monitor="val_accuracy", patience=5, restore_best_weights=True)
    model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        validation_data=(x, y),
        callbacks=[ScriptedLoss([0.5, 0.9, 0.7], key="val_accuracy"), snap, stop],
    )
    assert stop.stopped_epoch == 0 and stop.mode == "max"
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_save_best_only(problem, tmp_path):
    model, x, y = problem
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "best-{epoch:02d}"), save_best_only=True)
    model.fit(x, y, epochs=4, verbose=0, validation_data=(x, y), callbacks=[ScriptedLoss([0.9, 0.5, 0.7, 0.4]), ckpt])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best-01", "best-02", "best-04"]
    loaded = sinapse.models.load_model(tmp_path / "best-04")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    every = callbacks.ModelCheckpoint(str(tmp_path / "w.sinapse"), save_weights_only=True)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[every])
    assert (tmp_path / "w.sinapse").exists()


def test_terminate_on_nan(problem, capsys):
    model, x, y = problem
    model.optimizer.learning_rate = 1e30  # the weights blow up to inf, the loss to NaN
    h = model.fit(x * 1e20, y, epochs=5, batch_size=8, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(h.epoch) == 1 and not np.isfinite(h.history["loss"][0])
    assert "Invalid loss, terminating training" in capsys.readouterr().out


def test_reduce_lr_on_plateau_and_scheduler(problem):
    model, x, y = problem
    reduce = callbacks.ReduceLROnPlateau(factor=0.5, patience=1, min_lr=0.01)
    h = model.fit(
        x, y, epochs=5, verbose=0, validation_data=(x, y), callbacks=[ScriptedLoss([1.0, 1.0, 1.0, 0.5, 0.5]), reduce]
    )
    assert h.history["lr"] == pytest.approx([0.05, 0.05, 0.025, 0.0125, 0.0125])
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[sched])
    assert h.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    keras1 = callbacks.LearningRateScheduler(lambda epoch: 0.3)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras1])
    assert model.optimizer.learning_rate == pytest.approx(0.3)


def test_csv_logger(problem, tmp_path):
    model, x, y = problem
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(str(path))])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(str(path), append=True)])
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "0"] and set(rows[0]) == {"epoch", "loss", "accuracy"}
    assert float(rows[1]["loss"]) > 0


def test_progress_prints_one_plain_line_per_epoch_when_not_a_terminal(problem, capsys):
    model, x, y = problem
    model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1/3 - 3 steps - ") and "s/step - loss: " in lines[0]
    assert "loss: " in lines[2] and "val_accuracy: " in lines[2]
    model.evaluate(x, y)
    assert capsys.readouterr().out.startswith("evaluate - 2 steps")
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_progress_bar_on_a_terminal(problem, capsys, monkeypatch):
    model, x, y = problem
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    model.fit(x, y, epochs=2, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "4/4" in out and "loss: " in out
