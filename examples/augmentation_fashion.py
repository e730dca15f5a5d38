"""The Keras MNIST convnet on Fashion-MNIST with and without data augmentation (issue 16).

Both runs use the same seed, epochs, batch size (128), optimizer (Adam 1e-3) and training
images; the augmented one puts RandomTranslation(0.1, 0.1) and RandomFlip("horizontal") in
front of the convnet (active in training only, so evaluation sees the plain test images).
Prints the test accuracy of each and writes them as JSON with ``--out``.

    python examples/augmentation_fashion.py --epochs 4 --train-size 20000
    python examples/augmentation_fashion.py --quick      # 1 epoch on 5,000 images: a smoke run
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import sinapse
from sinapse import applications, datasets, layers, models


def build(augment: bool, seed: int):
    """The convnet (sinapse.applications.keras_mnist_cnn), with the augmentation layers in front when asked."""
    sinapse.utils.set_random_seed(seed)
    base = applications.keras_mnist_cnn(input_shape=(28, 28, 1), classes=10)
    stack: list = [layers.Input((28, 28, 1))]
    if augment:
        stack += [layers.RandomTranslation(0.1, 0.1, seed=seed), layers.RandomFlip("horizontal", seed=seed + 1)]
    model = models.Sequential(stack + list(base.layers), name="augmented" if augment else "plain")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-size", type=int, default=20000, help="first N training images (60000: all)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="1 epoch on 5,000 images")
    parser.add_argument("--threads", type=int, default=0, help="sinapse threads (0: the library default)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train_size = 1, 5000
    if args.threads:
        sinapse.set_num_threads(args.threads)
    (x, y), (xt, yt) = datasets.fashion_mnist.load_data()
    x = (x[: args.train_size].astype(np.float32) / 255.0)[..., None]
    y = y[: args.train_size].astype(np.int32)
    xt, yt = (xt.astype(np.float32) / 255.0)[..., None], yt.astype(np.int32)
    results = {
        "epochs": args.epochs,
        "train_size": len(x),
        "seed": args.seed,
        "threads": sinapse.get_num_threads(),
        "runs": {},
    }
    for augment in (False, True):
        model = build(augment, args.seed)
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=128, epochs=args.epochs, verbose=0, shuffle=True)
        seconds = time.perf_counter() - start
        loss, accuracy = model.evaluate(xt, yt, batch_size=512, verbose=0)
        name = "augmented" if augment else "plain"
        results["runs"][name] = {
            "test_accuracy": float(accuracy),
            "test_loss": float(loss),
            "train_accuracy_last_epoch": float(history.history["accuracy"][-1]),
            "fit_seconds": seconds,
        }
        print(
            f"{name}: test accuracy {accuracy:.4f}, last-epoch train accuracy {history.history['accuracy'][-1]:.4f}, "
            f"fit {seconds:.0f} s",
            flush=True,
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
