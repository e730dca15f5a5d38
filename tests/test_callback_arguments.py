"""Callbacks' constructor arguments are checked at construction, with errors naming the callback
and the argument (issue 11, class 8); ModelCheckpoint's filepath template and folder;
LearningRateScheduler's returned values."""

import math

import numpy as np
import pytest

import sinapse
from sinapse import callbacks, layers
from sinapse.models import Sequential, load_model
from sinapse.optimizers import SGD


@pytest.fixture
def problem(rng):
    sinapse.utils.set_random_seed(0)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    model = Sequential([layers.Dense(2, activation="softmax", input_shape=(4,))])
    model.compile(SGD(0.05), "sparse_categorical_crossentropy")
    return model, x, y


BAD = [
    # (callback, kwargs, exception, message)
    (
        callbacks.EarlyStopping,
        {"patience": "x"},
        TypeError,
        r"^EarlyStopping: `patience` must be an integer >= 0, got 'x'",
    ),
    (
        callbacks.EarlyStopping,
        {"patience": -1},
        ValueError,
        r"^EarlyStopping: `patience` must be an integer >= 0, got -1",
    ),
    (callbacks.EarlyStopping, {"patience": 1.5}, TypeError, r"^EarlyStopping: `patience`"),
    (callbacks.EarlyStopping, {"min_delta": "x"}, TypeError, r"^EarlyStopping: `min_delta` must be a number"),
    (callbacks.EarlyStopping, {"min_delta": math.nan}, ValueError, r"^EarlyStopping: `min_delta` must be a finite"),
    (callbacks.EarlyStopping, {"baseline": "x"}, TypeError, r"^EarlyStopping: `baseline` must be a number or None"),
    (
        callbacks.EarlyStopping,
        {"restore_best_weights": "no"},
        TypeError,
        r"^EarlyStopping: `restore_best_weights` must be True or False",
    ),
    (callbacks.EarlyStopping, {"start_from_epoch": -2}, ValueError, r"^EarlyStopping: `start_from_epoch`"),
    (callbacks.EarlyStopping, {"monitor": 5}, TypeError, r"^EarlyStopping: `monitor` must be a str, got 5"),
    (callbacks.EarlyStopping, {"mode": "up"}, ValueError, r"^EarlyStopping: mode must be"),
    (callbacks.EarlyStopping, {"verbose": "loud"}, TypeError, r"^EarlyStopping: `verbose`"),
    (
        callbacks.ReduceLROnPlateau,
        {"factor": 0.0},
        ValueError,
        r"^ReduceLROnPlateau: `factor` must be a finite number in \(0\.0, 1\.0\)",
    ),
    (callbacks.ReduceLROnPlateau, {"factor": math.nan}, ValueError, r"^ReduceLROnPlateau: `factor`"),
    (callbacks.ReduceLROnPlateau, {"factor": 1.0}, ValueError, r"^ReduceLROnPlateau: `factor`"),
    (callbacks.ReduceLROnPlateau, {"factor": -0.5}, ValueError, r"^ReduceLROnPlateau: `factor`"),
    (callbacks.ReduceLROnPlateau, {"factor": "x"}, TypeError, r"^ReduceLROnPlateau: `factor` must be a number"),
    (callbacks.ReduceLROnPlateau, {"patience": -1}, ValueError, r"^ReduceLROnPlateau: `patience`"),
    (callbacks.ReduceLROnPlateau, {"cooldown": "1"}, TypeError, r"^ReduceLROnPlateau: `cooldown`"),
    (callbacks.ReduceLROnPlateau, {"min_lr": -1.0}, ValueError, r"^ReduceLROnPlateau: `min_lr`"),
    (callbacks.ReduceLROnPlateau, {"min_lr": math.inf}, ValueError, r"^ReduceLROnPlateau: `min_lr`"),
    (
        callbacks.CSVLogger,
        {"filename": "log.csv", "separator": ""},
        TypeError,
        r"^CSVLogger: `separator` must be a 1-character str, got ''",
    ),
    (callbacks.CSVLogger, {"filename": "log.csv", "separator": ";;"}, TypeError, r"^CSVLogger: `separator`"),
    (callbacks.CSVLogger, {"filename": "log.csv", "separator": None}, TypeError, r"^CSVLogger: `separator`"),
    (callbacks.CSVLogger, {"filename": None}, TypeError, r"^CSVLogger: `filename` must be a file path"),
    (callbacks.CSVLogger, {"filename": "log.csv", "append": "yes"}, TypeError, r"^CSVLogger: `append` must be True"),
    (
        callbacks.LearningRateScheduler,
        {"schedule": 0.1},
        TypeError,
        r"^LearningRateScheduler: `schedule` must be a function",
    ),
    (callbacks.LambdaCallback, {"on_epoch_end": 5}, TypeError, r"^LambdaCallback: `on_epoch_end` must be a function"),
    (callbacks.ModelCheckpoint, {"filepath": None}, TypeError, r"^ModelCheckpoint: `filepath` must be a file path"),
    (callbacks.ModelCheckpoint, {"filepath": 5}, TypeError, r"^ModelCheckpoint: `filepath` must be a file path"),
    (callbacks.ModelCheckpoint, {"filepath": ""}, TypeError, r"^ModelCheckpoint: `filepath` must be a file path"),
    (
        callbacks.ModelCheckpoint,
        {"filepath": "m_{epoch:zz}.s"},
        ValueError,
        r"^ModelCheckpoint: `filepath`='m_\{epoch:zz\}\.s' is not a valid format template",
    ),
    (callbacks.ModelCheckpoint, {"filepath": "m_{val_loss:02d}.s"}, ValueError, r"^ModelCheckpoint: `filepath`="),
    (callbacks.ModelCheckpoint, {"filepath": "m_{}.s"}, ValueError, r"^ModelCheckpoint: `filepath`="),
    (callbacks.ModelCheckpoint, {"filepath": "m_{epoch.s"}, ValueError, r"^ModelCheckpoint: `filepath`="),
    (callbacks.ModelCheckpoint, {"filepath": "m_{epoch[0]}.s"}, ValueError, r"^ModelCheckpoint: `filepath`="),
    (
        callbacks.ModelCheckpoint,
        {"filepath": "m.s", "save_best_only": "no"},
        TypeError,
        r"^ModelCheckpoint: `save_best_only` must be True or False",
    ),
    (
        callbacks.ModelCheckpoint,
        {"filepath": "m.s", "save_weights_only": 2},
        TypeError,
        r"^ModelCheckpoint: `save_weights_only`",
    ),
    (
        callbacks.ModelCheckpoint,
        {"filepath": "m.s", "initial_value_threshold": "x"},
        TypeError,
        r"^ModelCheckpoint: `initial_value_threshold`",
    ),
    (
        callbacks.ModelCheckpoint,
        {"filepath": "m.s", "save_freq": 10},
        ValueError,
        r"^ModelCheckpoint: only `save_freq`",
    ),
]


@pytest.mark.parametrize("cls, kwargs, exc, match", BAD, ids=[f"{b[0].__name__}-{b[1]}" for b in BAD])
def test_bad_constructor_arguments_are_refused_at_construction(cls, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kwargs)


def test_good_constructor_arguments_are_accepted():
    callbacks.EarlyStopping(patience=np.int64(3), min_delta=np.float32(0.1), baseline=0.5, verbose=True)
    callbacks.ReduceLROnPlateau(factor=0.5, epsilon=1e-3, min_lr=0)
    callbacks.ModelCheckpoint("ckpt-{epoch:02d}-{val_loss:.3f}-{{literal}}.s")
    callbacks.CSVLogger("log.csv", separator="\t")


def test_checkpoint_unknown_template_field_names_the_field_and_the_logs(problem, tmp_path):
    model, x, y = problem
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m_{bogus}.s"))
    with pytest.raises(
        ValueError,
        match=r"^ModelCheckpoint: `filepath`=.*m_\{bogus\}\.s' has the field \{bogus\}, "
        r"which is not in the logs; available: epoch, loss",
    ):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])


@pytest.mark.parametrize("weights_only", [False, True])
def test_checkpoint_creates_its_folder_as_keras(problem, tmp_path, weights_only):
    model, x, y = problem
    path = tmp_path / "new" / "deeper" / "m-{epoch}.s"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(path, save_weights_only=weights_only)])
    assert sorted(p.name for p in (tmp_path / "new" / "deeper").iterdir()) == ["m-1.s", "m-2.s"]
    if not weights_only:
        np.testing.assert_array_equal(
            load_model(tmp_path / "new" / "deeper" / "m-2.s").get_weights()[0], model.get_weights()[0]
        )


@pytest.mark.parametrize(
    "returned, exc, match",
    [
        (
            "x",
            TypeError,
            r"^LearningRateScheduler: the schedule returned 'x' \(str\) for epoch 0; it must return a number",
        ),
        (None, TypeError, r"^LearningRateScheduler: the schedule returned None"),
        (-1, ValueError, r"^LearningRateScheduler: the schedule returned -1\.0 for epoch 0; the learning rate must be"),
        (math.nan, ValueError, r"^LearningRateScheduler: the schedule returned nan"),
        (math.inf, ValueError, r"^LearningRateScheduler: the schedule returned inf"),
        (np.array([0.1, 0.2]), TypeError, r"^LearningRateScheduler: the schedule returned"),
    ],
)
def test_scheduler_values_are_checked_naming_the_scheduler(problem, returned, exc, match):
    model, x, y = problem
    with pytest.raises(exc, match=match):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: returned)])


def test_scheduler_accepts_numpy_values(problem):
    model, x, y = problem
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: np.float32(0.25))])
    assert model.optimizer.learning_rate == 0.25


@pytest.mark.parametrize(
    "make",
    [
        lambda: callbacks.EarlyStopping(monitor="val_bogus"),
        lambda: callbacks.ModelCheckpoint("m.s", monitor="val_bogus", save_best_only=True),
        lambda: callbacks.ReduceLROnPlateau(monitor="val_bogus"),
    ],
)
def test_unknown_monitor_warns_as_keras(problem, tmp_path, monkeypatch, make):
    """Keras 3 warns (at each epoch's end) rather than failing: the metric may appear later."""
    monkeypatch.chdir(tmp_path)
    model, x, y = problem
    with pytest.warns(UserWarning, match="val_bogus"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[make()])
    assert not (tmp_path / "m.s").exists()
