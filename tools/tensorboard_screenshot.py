"""Check callbacks.TensorBoard end to end, as a user sees it: train a small convnet on
Fashion-MNIST with the callback, start the real ``tensorboard`` server on the loopback, and load
its scalars page in headless Chromium, saving a screenshot.

    python tools/tensorboard_screenshot.py --out docs/images/tensorboard_scalars.png

Needs tensorboardX, tensorboard, Fashion-MNIST (sinapse.datasets) and a ``chromium`` binary.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sinapse
from sinapse import callbacks, datasets, layers


def train(log_dir: Path, samples: int, epochs: int) -> None:
    (x, y), _ = datasets.fashion_mnist.load_data()
    x = (x[:samples, :, :, None] / 255.0).astype("float32")
    sinapse.utils.set_random_seed(0)
    model = sinapse.Sequential(
        [
            layers.Conv2D(16, 3, activation="relu", input_shape=(28, 28, 1)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    board = callbacks.TensorBoard(log_dir, histogram_freq=1, write_images=True, update_freq=20)
    model.fit(x, y[:samples], epochs=epochs, batch_size=128, validation_split=0.2, callbacks=[board], verbose=2)


def serve_and_shoot(log_dir: Path, out: Path, browser: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(log_dir), "--host", "127.0.0.1"]
    server = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/data/plugin/scalars/tags"
        for _ in range(120):
            with contextlib.suppress(OSError):
                if b"epoch_loss" in urllib.request.urlopen(url, timeout=5).read():
                    break
            time.sleep(0.5)
        else:
            raise RuntimeError("the tensorboard server did not serve the scalars within 60 s")
        shot = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        shot += ["--window-size=1400,1000", "--virtual-time-budget=15000", f"--screenshot={out.resolve()}"]
        subprocess.run([*shot, f"http://127.0.0.1:{port}/#scalars&tagFilter=epoch_"], check=True, timeout=180)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tensorboard_scalars.png"))
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--browser", default=shutil.which("chromium") or shutil.which("chromium-browser") or "")
    args = parser.parse_args()
    if not args.browser:
        sys.exit("no chromium binary found (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        train(Path(tmp), args.samples, args.epochs)
        serve_and_shoot(Path(tmp), args.out, args.browser)


if __name__ == "__main__":
    main()
