"""Issue 16's new layers and callbacks attacked as a new Keras user would: each test is one
finding (a wrong answer, an unclear crash or a Keras difference) fixed with it."""

from __future__ import annotations

import numpy as np
import pytest

import sinapse
from sinapse import callbacks
from sinapse import layers as L


def _sequence_data(n=16):
    rng = np.random.default_rng(0)
    return rng.random((n, 5, 4)).astype(np.float32), rng.integers(0, 2, n)


def _bilstm():
    sinapse.utils.set_random_seed(0)
    model = sinapse.Sequential(
        [
            L.Input((5, 4)),
            L.Bidirectional(L.LSTM(3, name="lstm"), name="bidirectional"),
            L.Dense(2, activation="softmax", name="head"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _tags(folder):
    acc = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    reader = acc.EventAccumulator(str(folder), size_guidance={"histograms": 0, "images": 0})
    reader.Reload()
    return reader


def test_tensorboard_histograms_of_bidirectional_use_keras_weight_paths(tmp_path):
    # The forward and backward LSTM both have a `kernel`: they were written under one tag,
    # bidirectional/kernel/histogram, twice per epoch. Keras tags each by its weight path.
    pytest.importorskip("tensorboardX")
    x, y = _sequence_data()
    board = callbacks.TensorBoard(tmp_path, histogram_freq=1, write_images=True)
    _bilstm().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[board])
    reader = _tags(tmp_path / "train")
    hist = set(reader.Tags()["histograms"])
    assert "bidirectional/forward_lstm/lstm_cell/kernel/histogram" in hist
    assert "bidirectional/backward_lstm/lstm_cell/kernel/histogram" in hist
    assert "head/kernel/histogram" in hist
    for tag in hist:
        assert [e.step for e in reader.Histograms(tag)] == [0, 1], tag


def test_tensorboard_skips_weights_holding_nan_instead_of_failing_fit(tmp_path):
    # tensorboardX raised "The histogram is empty, please file a bug report" inside fit.
    pytest.importorskip("tensorboardX")
    x, y = _sequence_data()
    model = _bilstm()
    model.build((None, 5, 4))
    model.layers[-1].set_weights([np.full((6, 2), np.nan, np.float32), np.zeros(2, np.float32)])
    board = callbacks.TensorBoard(tmp_path, histogram_freq=1, write_images=True)
    # the NaN spreads to every weight in the first step: no histogram can be written, fit still ends
    with pytest.warns(RuntimeWarning, match=r"TensorBoard: weight '[^']+' holds NaN or inf at epoch 0"):
        history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[board])
    assert np.isnan(history.history["loss"][0])
    reader = _tags(tmp_path / "train")
    assert reader.Tags()["histograms"] == []
    assert "epoch_loss" in reader.Tags()["scalars"]


def test_group_normalization_groups_minus_one_is_one_group_per_channel():
    # Keras 3 accepts groups=-1 (set to the channel count at build); sinapse refused it.
    x = np.random.default_rng(1).standard_normal((2, 5, 5, 4)).astype(np.float32)
    minus_one, per_channel = L.GroupNormalization(groups=-1), L.GroupNormalization(groups=4)
    assert minus_one.get_config()["groups"] == -1  # before build, as Keras
    np.testing.assert_array_equal(np.asarray(minus_one(x)), np.asarray(per_channel(x)))
    assert minus_one.get_config()["groups"] == 4  # resolved at build, as Keras
    for bad in (0, -2):
        with pytest.raises(ValueError, match=r"GroupNormalization: `groups` must be a positive integer or -1"):
            L.GroupNormalization(groups=bad)


def test_backup_and_restore_refuses_a_file_as_backup_dir_before_training(tmp_path):
    # os.makedirs raised a bare "[Errno 17] File exists" at the end of the first epoch.
    path = tmp_path / "not_a_folder"
    path.write_text("the user's file")
    x, y = _sequence_data()
    model = _bilstm()
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"BackupAndRestore: `backup_dir` must be a folder, got .*not_a_folder"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.BackupAndRestore(path)])
    assert path.read_text() == "the user's file"
    for before, after in zip(weights, model.get_weights()):  # refused before the first step
        np.testing.assert_array_equal(before, after)


def _scalars(folder):
    reader = _tags(folder)
    return {tag: [e.step for e in reader.Scalars(tag)] for tag in reader.Tags()["scalars"]}


def test_tensorboard_evaluate_right_after_fit_keeps_the_validation_curves(tmp_path):
    # tensorboardX names event files by the second: evaluate's writer, opened within the same
    # second as fit's, truncated fit's validation file; and evaluate's own scalars stayed in
    # tensorboardX's queue (flush does not drain it), so the folder read back empty.
    pytest.importorskip("tensorboardX")
    x, y = _sequence_data()
    model = _bilstm()
    board = callbacks.TensorBoard(tmp_path)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(x, y), callbacks=[board])
    model.evaluate(x, y, verbose=0, callbacks=[board])
    model.evaluate(x, y, verbose=0, callbacks=[board])
    scalars = _scalars(tmp_path / "validation")
    assert scalars["epoch_loss"] == [0, 1]
    assert scalars["evaluation_loss_vs_iterations"] == [4, 4]  # 2 epochs x 2 batches, both evaluations
    assert len(list((tmp_path / "validation").iterdir())) == 3  # one file per writer, none overwritten


def test_tensorboard_refuses_a_file_as_log_dir_before_training(tmp_path):
    path = tmp_path / "not_a_folder"
    path.write_text("the user's file")
    x, y = _sequence_data()
    with pytest.raises(ValueError, match=r"TensorBoard: `log_dir` must be a folder, got .*not_a_folder"):
        _bilstm().fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.TensorBoard(path)])
    assert path.read_text() == "the user's file"


@pytest.mark.parametrize(
    "shape, make",
    [
        ((None, 4), lambda: L.Conv1D(3, 3)),
        ((None, 4), lambda: L.MaxPooling1D()),
        ((None, None, 2), lambda: L.Conv2DTranspose(2, 3)),
        ((None, None, 2), lambda: L.DepthwiseConv2D(3)),
        ((None, None, 2), lambda: L.SeparableConv2D(2, 3)),
        ((None, None, 2), lambda: L.UpSampling2D()),
        ((None, None, 2), lambda: L.Cropping2D(1)),
        ((None, None, 2), lambda: L.Resizing(3, 3)),
        ((None, None, 2), lambda: L.CenterCrop(3, 3)),
        ((None, None, 2), lambda: L.Conv2D(2, 3)),
    ],
)
def test_unknown_sizes_are_a_clear_error_naming_the_layer(shape, make):
    # Each did arithmetic on None while building: a bare TypeError ("unsupported operand type(s)
    # for +: 'NoneType' and 'int'") that named neither the layer nor the shape.
    layer = make()
    with pytest.raises(ValueError, match=rf"^{type(layer).__name__} layer '.*': needs a known size .*got \(None, None"):
        sinapse.Sequential([L.Input(shape), layer])


def test_permute_takes_a_variable_number_of_steps_as_keras():
    # Permute built with (None, 3) allocated its output with the build-time shape: a TypeError.
    sinapse.utils.set_random_seed(0)
    model = sinapse.Sequential([L.Input((None, 3)), L.Permute((2, 1)), L.Permute((2, 1)), L.LSTM(2), L.Dense(1)])
    model.compile("sgd", "mse")
    assert model.output_shape == (None, 1)
    for steps in (5, 8):
        x = np.random.default_rng(steps).random((2, steps, 3)).astype(np.float32)
        model.fit(x, np.zeros((2, 1), np.float32), verbose=0)
        assert model.predict(x, verbose=0).shape == (2, 1)
    y = np.asarray(L.Permute((2, 1))(x))
    np.testing.assert_array_equal(y, x.transpose(0, 2, 1))
