"""callbacks.TensorBoard: event files in Keras 3's layout and tags, read back with TensorBoard's
own reader and served by the real ``tensorboard`` server on the loopback."""

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest

import sinapse
from sinapse import callbacks, layers
from sinapse._tensorboard import filter_grid
from sinapse.models import Sequential

pytest.importorskip("tensorboardX", reason="writing event files needs tensorboardX")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="reading them back needs tensorboard"
)


def convnet():
    sinapse.utils.set_random_seed(3)
    model = Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def images(n=48):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, n)


def read(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"images": 0, "histograms": 0, "scalars": 0})
    acc.Reload()
    return acc


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("logs")
    x, y = images()
    model = convnet()
    board = callbacks.TensorBoard(log_dir, histogram_freq=1, write_images=True, update_freq=2)
    history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0, callbacks=[board])
    return log_dir, model, history


def test_epoch_scalars_are_the_history(run):
    log_dir, _, history = run
    train, val = read(log_dir / "train"), read(log_dir / "validation")
    for name in ("loss", "accuracy"):
        got = [e.value for e in train.Scalars(f"epoch_{name}")]
        np.testing.assert_allclose(got, history.history[name], rtol=1e-6)
        assert [e.step for e in train.Scalars(f"epoch_{name}")] == [0, 1]
        got = [e.value for e in val.Scalars(f"epoch_{name}")]
        np.testing.assert_allclose(got, history.history[f"val_{name}"], rtol=1e-6)
    assert [e.value for e in train.Scalars("epoch_learning_rate")] == pytest.approx([0.001, 0.001])


def test_batch_scalars_every_update_freq_batches(run):
    train = read(run[0] / "train")
    # 36 training samples in batches of 8: 5 batches per epoch, global batches 1..10, every 2nd written
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8, 10]


def test_weight_histograms_and_images(run):
    log_dir, model, _ = run
    tags = read(log_dir / "train").Tags()
    names = [f"{layer.name}/{w.name}" for layer in model.layers for w in layer.weights]
    assert set(tags["histograms"]) == {f"{n}/histogram" for n in names}
    conv = model.layers[0]
    kernel = f"{conv.name}/{conv.weights[0].name}"
    assert f"{kernel}/filters" in tags["images"]
    grid = read(log_dir / "train").Images(f"{kernel}/filters")[-1]
    assert (grid.height, grid.width) == (2 * 4 + 1, 2 * 4 + 1)  # 4 filters of 3x3 in a 2x2 grid with gaps
    hist = read(log_dir / "train").Histograms(f"{kernel}/histogram")[-1].histogram_value
    assert hist.num == conv.weights[0].numpy().size
    assert hist.min == pytest.approx(float(conv.weights[0].numpy().min()))


def test_filter_grid_layout():
    k = np.zeros((3, 3, 1, 5), np.float32)
    k[1, 1, 0, :] = 1.0
    g = filter_grid(k)
    assert g.shape == (2 * 4 + 1, 3 * 4 + 1, 1) and g.dtype == np.uint8
    assert g[2, 2, 0] == 255 and g[0, :, 0].max() == 0  # tile centres bright, gaps dark
    assert filter_grid(np.ones((5, 5, 3, 2))).shape[2] == 3  # RGB filters in colour
    with pytest.raises(ValueError, match="filter_grid: expected an HWIO kernel"):
        filter_grid(np.ones((3, 3, 4)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"profile_batch": 2}, "profile_batch"),
        ({"embeddings_freq": 1}, "embeddings_freq"),
        ({"update_freq": "sometimes"}, "update_freq"),
        ({"update_freq": 0}, "update_freq"),
        ({"histogram_freq": -1}, "histogram_freq"),
        ({"write_images": "yes"}, "write_images"),
        ({"log_dir": ""}, "log_dir"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=f"TensorBoard: `{match}`"):
        callbacks.TensorBoard(**kwargs)


def test_missing_tensorboardx_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    x, y = images(8)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'sinapse\[tensorboard\]'"):
        convnet().fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.TensorBoard(tmp_path)])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_tensorboard_server_serves_the_scalars(run):
    """The real server, on the loopback, answers its scalars plugin's API with our values."""
    pytest.importorskip("tensorboard.main", reason="the tensorboard server is not installed")
    log_dir, _, history = run
    port = _free_port()
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(log_dir), "--host", "127.0.0.1"]
    server = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        query = urllib.parse.urlencode({"run": "train", "tag": "epoch_loss"})
        url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?{query}"
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                body = json.loads(urllib.request.urlopen(url, timeout=5).read()) or None  # [] until loaded
            if body is None:
                time.sleep(0.5)
        assert body is not None, "the tensorboard server did not answer within 60 s"
        np.testing.assert_allclose([v for _, _, v in body], history.history["loss"], rtol=1e-6)
    finally:
        server.terminate()
        server.wait(timeout=30)
