"""Train the seed models on Fashion-MNIST with their recipes (sinapse.applications.RECIPES,
from docs/seed_models.md) and record test accuracy, epochs and wall time.

    python examples/train_seed_models.py                       # mlp, keras_mnist_cnn, lenet5, geron_cnn
    python examples/train_seed_models.py --models keras_mnist_cnn --stop   # stop at the target accuracy

After every epoch the test accuracy is measured (outside the training clock), so the table
also gives the time to reach the issue's target. Results: bench/results/seed_models.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

import sinapse
from sinapse import applications
from sinapse.cli import _image_data

TARGETS = {"mlp": 0.88, "keras_mnist_cnn": 0.91, "lenet5": 0.89, "geron_cnn": 0.92}


class TestAccuracy(sinapse.callbacks.Callback):
    """Test accuracy after every epoch, and the training time (without these evaluations) to the target."""

    def __init__(self, x, y, target, stop):
        super().__init__()
        self.x, self.y, self.target, self.stop = x, y, target, stop
        self.accuracies, self.train_s, self.reached = [], 0.0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train_s += time.perf_counter() - self.start
        accuracy = float(self.model.evaluate(self.x, self.y, batch_size=512, verbose=0)[1])
        self.accuracies.append(accuracy)
        print(f"  epoch {epoch + 1}: test accuracy {accuracy:.4f} ({self.train_s:.1f} s of training)", flush=True)
        if self.reached is None and accuracy >= self.target:
            self.reached = (epoch + 1, self.train_s)
            if self.stop:
                self.model.stop_training = True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--epochs", type=int, help="default: each recipe's")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stop", action="store_true", help="stop a model once it reaches its target")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "bench" / "results"))
    args = parser.parse_args(argv)
    sinapse.set_num_threads(args.threads)
    (x_train, y_train), (x_test, y_test) = _image_data("fashion_mnist")
    rows = []
    for name in args.models:
        sinapse.utils.set_random_seed(0)
        recipe = applications.RECIPES[name]
        model = applications.build(name)
        model.compile(**recipe.compile_args())
        probe = TestAccuracy(x_test, y_test, TARGETS[name], args.stop)
        epochs = args.epochs or recipe.epochs
        print(f"{name}: {epochs} epochs, batch {recipe.batch_size}, {recipe.optimizer}", flush=True)
        model.fit(x_train, y_train, epochs=epochs, batch_size=recipe.batch_size,
                  validation_split=recipe.validation_split, callbacks=[probe], verbose=0)
        reached = f"epoch {probe.reached[0]}, {probe.reached[1]:.0f} s" if probe.reached else "not reached"
        rows.append(f"| {name} | {len(probe.accuracies)} | {probe.accuracies[-1]:.4f} | {max(probe.accuracies):.4f} "
                    f"| {TARGETS[name]:.2f} | {reached} | {probe.train_s:.0f} s |")
    header = (f"# Seed models trained on Fashion-MNIST — {platform.processor() or platform.machine()}, "
              f"{args.threads} threads\n\n`python examples/train_seed_models.py {' '.join(argv or [])}`; sinapse "
              f"{sinapse.__version__}, {time.strftime('%Y-%m-%d %H:%M')}. Test accuracy on the 10,000 test images "
              "after each epoch (not timed); training time excludes those evaluations.\n\n"
              "| model | epochs | final test accuracy | best | target | target reached | training time |\n"
              "|---|---|---|---|---|---|---|\n")
    table = header + "\n".join(rows) + "\n"
    print(table)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "seed_models.md").write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
