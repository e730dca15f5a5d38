"""A convolutional autoencoder on Fashion-MNIST (seed 002: dimensionality reduction), and its
encoder as unsupervised pre-training for a classifier that sees only 1,000 labels.

    python examples/autoencoder_fashion.py                 # the recorded run (docs/seed_models.md)
    python examples/autoencoder_fashion.py --quick         # a smoke run on a few hundred images

1. The autoencoder: Conv2D(32, 3, s2) -> Conv2D(64, 3, s2) -> Dense(32) codes (the bottleneck),
   then Dense(7*7*64) -> Conv2DTranspose(32, 3, s2) -> Conv2DTranspose(1, 3, s2, sigmoid), trained
   on the 60,000 training images (no labels) to reproduce them (mean squared error).
2. Reconstruction: the test set's mean squared error per pixel (pixels in [0, 1]), beside PCA
   with as many components (the linear dimensionality reduction the lesson starts from).
3. The codes' quality: a small classifier (Dense(64, relu) -> Dense(10)) trained on the 32-D
   codes of the training images, its test accuracy; the same classifier on PCA's 32-D codes.
4. Pre-training: the encoder + Dense(10) fine-tuned on 1,000 labelled training images, against
   the same network from a random start on the same 1,000 images, same epochs; test accuracy
   of both, for each seed (the 1,000 images differ per seed).

Prints one JSON object with every number; ``--png`` writes test inputs beside reconstructions.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import sinapse
from sinapse import layers

CODE = 32  # the bottleneck's size


def load(path, quick):
    (x, y), (xt, yt) = sinapse.datasets.fashion_mnist.load_data(path)
    x, xt = (a.astype(np.float32)[..., None] / 255.0 for a in (x, xt))
    if quick:
        return (x[:512], y[:512]), (xt[:256], yt[:256])
    return (x, y), (xt, yt)


def encoder_layers():
    return [
        layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),  # 14x14x32
        layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),  # 7x7x64
        layers.Flatten(),
        layers.Dense(CODE),  # the codes
    ]


def decoder_layers():
    return [
        layers.Dense(7 * 7 * 64, activation="relu"),
        layers.Reshape((7, 7, 64)),
        layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),  # 14x14x32
        layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),  # 28x28x1
    ]


def train_autoencoder(x, epochs, seed):
    """The autoencoder and, sharing its first layers, the encoder (two functional models)."""
    sinapse.utils.set_random_seed(seed)
    inputs = sinapse.Input((28, 28, 1))
    h = inputs
    for layer in encoder_layers():
        h = layer(h)
    codes = h
    for layer in decoder_layers():
        h = layer(h)
    autoencoder, encoder = sinapse.Model(inputs, h), sinapse.Model(inputs, codes)
    autoencoder.compile("adam", "mse")
    start = time.perf_counter()
    history = autoencoder.fit(x, x, epochs=epochs, batch_size=128, verbose=0)
    return autoencoder, encoder, history.history["loss"], time.perf_counter() - start


def pca(x_train, x_test, k):
    """Codes and reconstructions of the k leading principal components (SVD of the centred training set)."""
    flat, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    mean = flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    basis = vt[:k]
    codes, codes_test = (flat - mean) @ basis.T, (flat_test - mean) @ basis.T
    return codes, codes_test, (codes_test @ basis + mean).reshape(x_test.shape)


def code_accuracy(codes, y, codes_test, y_test, epochs, seed):
    """Test accuracy of Dense(64, relu) -> Dense(10) trained on (standardised) codes."""
    mean, std = codes.mean(axis=0), codes.std(axis=0) + 1e-6
    sinapse.utils.set_random_seed(seed)
    clf = sinapse.Sequential(
        [layers.Input((codes.shape[1],)), layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")]
    )
    clf.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    clf.fit(((codes - mean) / std).astype(np.float32), y, epochs=epochs, batch_size=128, verbose=0)
    return float(clf.evaluate(((codes_test - mean) / std).astype(np.float32), y_test, verbose=0)[1])


def classifier(encoder=None):
    """The encoder's layers + Dense(10): with the trained encoder's weights, or from a random start."""
    model = sinapse.Sequential([layers.Input((28, 28, 1)), *encoder_layers(), layers.Dense(10, activation="softmax")])
    if encoder is not None:
        weighted = [[lay for lay in m.layers if lay.get_weights()] for m in (encoder, model)]
        for src, dst in zip(*weighted):  # conv, conv, codes (the classifier's Dense(10) stays random)
            dst.set_weights(src.get_weights())
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def few_labels(encoder, train, test, labels, epochs, seed):
    """(pre-trained, from scratch) test accuracy after training on the same ``labels`` images."""
    x, y = train
    pick = np.random.default_rng(seed).choice(len(x), min(labels, len(x)), replace=False)
    out = []
    for start in (encoder, None):
        sinapse.utils.set_random_seed(seed)
        model = classifier(start)
        model.fit(x[pick], y[pick], epochs=epochs, batch_size=128, verbose=0)
        out.append(float(model.evaluate(*test, verbose=0)[1]))
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred images, one epoch each")
    parser.add_argument("--data", default=None, help="a folder with the four Fashion-MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=2, help="autoencoder epochs")
    parser.add_argument("--code-epochs", type=int, default=10, help="epochs of the classifier on the codes")
    parser.add_argument("--labels", type=int, default=1000, help="labelled images for the pre-training comparison")
    parser.add_argument("--label-epochs", type=int, default=20, help="epochs on those labelled images")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="seeds of the few-label comparison")
    parser.add_argument("--png", default=None, help="write test inputs beside their reconstructions here")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.code_epochs, args.labels, args.label_epochs, args.seeds = 1, 1, 100, 1, args.seeds[:1]
    train, test = load(args.data, args.quick)
    autoencoder, encoder, losses, seconds = train_autoencoder(train[0], args.epochs, seed=0)
    recon = autoencoder.predict(test[0], verbose=0)
    codes, codes_test = encoder.predict(train[0], verbose=0), encoder.predict(test[0], verbose=0)
    pca_codes, pca_codes_test, pca_recon = pca(train[0], test[0], CODE)
    pairs = [few_labels(encoder, train, test, args.labels, args.label_epochs, s) for s in args.seeds]
    result = {
        "train_images": len(train[0]),
        "autoencoder_epochs": args.epochs,
        "autoencoder_train_loss": [round(v, 5) for v in losses],
        "autoencoder_seconds": round(seconds, 1),
        "test_mse": float(np.mean((recon - test[0]) ** 2)),
        "pca_test_mse": float(np.mean((pca_recon - test[0]) ** 2)),
        "code_classifier_accuracy": code_accuracy(codes, train[1], codes_test, test[1], args.code_epochs, 0),
        "pca_code_classifier_accuracy": code_accuracy(
            pca_codes, train[1], pca_codes_test, test[1], args.code_epochs, 0
        ),
        "labels": args.labels,
        "label_epochs": args.label_epochs,
        "seeds": args.seeds,
        "pretrained_accuracy": [p for p, _ in pairs],
        "scratch_accuracy": [s for _, s in pairs],
    }
    if args.png:
        sinapse.viz.plot_reconstructions(
            test[0][:10],
            recon[:10],
            args.png,
            title=f"Fashion-MNIST test images (top) and their {CODE}-D reconstructions",
        )
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
