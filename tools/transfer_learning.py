"""Seed 000's transfer-learning experiment (Géron, ch. 11, "Reusing Pretrained Layers"), end to end
with sinapse's functional API, on Fashion-MNIST:

1. model A: a small CNN trained on classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat),
   all their training images;
2. model B on A: A's base (everything but the softmax head: conv, pooling, dense features),
   frozen (``trainable = False``), under a new 5-way head for classes 5-9 (Sandal, Shirt,
   Sneaker, Bag, Ankle boot), trained on a small subset (``--per-class`` images per class, as
   Géron trains B on 200 images); then the base unfrozen and the whole model fine-tuned with a
   10x lower learning rate (recompiled after changing ``trainable``, as Keras requires);
3. the same base + head trained from scratch on the same subset, for the same number of epochs.

The test accuracies on classes 5-9 (5,000 test images) are printed and written to
bench/results/transfer_learning.md. Several seeds (``--seeds``), since B's subset is small.

    python tools/transfer_learning.py                    # ~3-5 minutes on 2 cores
    python tools/transfer_learning.py --per-class 100 --seeds 1 --no-save
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def make_base(sinapse, layers, name="base"):
    """The shared feature extractor, a functional Model: (N, 28, 28, 1) -> (N, 128)."""
    inputs = sinapse.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", padding="same")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    return sinapse.Model(inputs, x, name=name)


def with_head(sinapse, layers, base, classes=5, name="model"):
    """base under a new softmax head, as a functional Model (the base is a nested model)."""
    inputs = sinapse.Input(shape=(28, 28, 1))
    outputs = layers.Dense(classes, activation="softmax", name=name + "_head")(base(inputs))
    return sinapse.Model(inputs, outputs, name=name)


def split(data, classes, per_class=None, seed=0):
    """The images of ``classes`` (labels renumbered 0..len-1), at most ``per_class`` of each."""
    x, y = data
    rng = np.random.default_rng(seed)
    keep = []
    for c in classes:
        idx = np.flatnonzero(y == c)
        keep.append(rng.choice(idx, per_class, replace=False) if per_class else idx)
    keep = rng.permutation(np.concatenate(keep))
    labels = np.searchsorted(np.array(classes), y[keep]).astype(np.int32)
    return (x[keep, ..., None] / np.float32(255)).astype(np.float32), labels


def compile_(sinapse, model, lr):
    model.compile(
        optimizer=sinapse.optimizers.Adam(learning_rate=lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def accuracy(model, x, y) -> float:
    return float((model.predict(x, batch_size=1000, verbose=0).argmax(1) == y).mean())


def run_seed(sinapse, layers, a, data, seed, log=print) -> dict:
    """One seed of the experiment: returns the test accuracies on classes 5-9 (and A's on 0-4)."""
    (train, test), timings = data, {}
    sinapse.utils.set_random_seed(seed)
    xa, ya = split(train, range(5), seed=seed)
    xat, yat = split(test, range(5))
    xb, yb = split(train, range(5, 10), a.per_class, seed=seed)
    xbt, ybt = split(test, range(5, 10))

    t0 = time.perf_counter()
    base_a = make_base(sinapse, layers, "base_a")
    model_a = with_head(sinapse, layers, base_a, name="model_a")
    compile_(sinapse, model_a, 1e-3)
    model_a.fit(xa, ya, batch_size=128, epochs=a.epochs_a, verbose=0)
    timings["A"] = time.perf_counter() - t0
    acc_a = accuracy(model_a, xat, yat)
    log(f"seed {seed}: model A on classes 0-4: test accuracy {acc_a:.4f} ({timings['A']:.0f} s)")

    # B on A: a copy of A's base (A itself stays as trained, as Géron's clone_model), frozen.
    base_b = make_base(sinapse, layers, "base_b")
    base_b.set_weights(base_a.get_weights())
    base_b.trainable = False
    model_b = with_head(sinapse, layers, base_b, name="model_b_on_a")
    compile_(sinapse, model_b, 1e-3)
    model_b.fit(xb, yb, batch_size=32, epochs=a.epochs_frozen, verbose=0)
    acc_frozen = accuracy(model_b, xbt, ybt)
    base_b.trainable = True
    compile_(sinapse, model_b, 1e-4)  # fine-tuning: the whole model, a 10x lower learning rate
    model_b.fit(xb, yb, batch_size=32, epochs=a.epochs_fine, verbose=0)
    acc_fine = accuracy(model_b, xbt, ybt)

    scratch = with_head(sinapse, layers, make_base(sinapse, layers, "base_scratch"), name="scratch")
    compile_(sinapse, scratch, 1e-3)
    scratch.fit(xb, yb, batch_size=32, epochs=a.epochs_frozen + a.epochs_fine, verbose=0)
    acc_scratch = accuracy(scratch, xbt, ybt)
    log(
        f"seed {seed}: classes 5-9 ({a.per_class}/class): frozen base + new head {acc_frozen:.4f}, "
        f"fine-tuned {acc_fine:.4f}, from scratch {acc_scratch:.4f}"
    )
    return dict(seed=seed, a=acc_a, frozen=acc_frozen, fine_tuned=acc_fine, scratch=acc_scratch)


def markdown(rows, a) -> str:
    def mean(k):
        return np.mean([r[k] for r in rows])

    lines = [
        "# Transfer learning on Fashion-MNIST (seed 000, Géron ch. 11) with sinapse's functional API\n",
        f"`python tools/transfer_learning.py --per-class {a.per_class} --seeds {a.seeds}`. Model A: a CNN "
        "(conv 32, pool, conv 64, pool, dense 128: the base) + softmax head, trained on classes 0-4 "
        f"(T-shirt/top, Trouser, Pullover, Dress, Coat; 30,000 images, {a.epochs_a} epochs, Adam 1e-3). "
        f"B: classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), {a.per_class} training images per class. "
        f"B on A: A's base frozen (trainable=False) + a new head, {a.epochs_frozen} epochs at Adam 1e-3; then "
        f"unfrozen, {a.epochs_fine} epochs at 1e-4. From scratch: the same model, random weights, "
        f"{a.epochs_frozen + a.epochs_fine} epochs at 1e-3. Test accuracy on the 5,000 test images of "
        "classes 5-9 (model A: on the 5,000 of classes 0-4).\n",
        "| seed | A (0-4) | B on A, frozen base | B on A, fine-tuned | B from scratch |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['seed']} | {r['a']:.4f} | {r['frozen']:.4f} | {r['fine_tuned']:.4f} | {r['scratch']:.4f} |")
    lines.append(
        f"| mean | {mean('a'):.4f} | {mean('frozen'):.4f} | {mean('fine_tuned'):.4f} | {mean('scratch'):.4f} |"
    )
    err = {k: 1 - mean(k) for k in ("fine_tuned", "scratch")}
    lines.append(
        f"\nError rate on classes 5-9: {err['fine_tuned']:.2%} with transfer (fine-tuned) against "
        f"{err['scratch']:.2%} from scratch.\n"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Seed 000's transfer-learning experiment with sinapse's functional API.")
    p.add_argument("--per-class", type=int, default=200, help="training images per class of task B")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs-a", type=int, default=3)
    p.add_argument("--epochs-frozen", type=int, default=5)
    p.add_argument("--epochs-fine", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-save", action="store_true")
    a = p.parse_args(argv)
    if not 1 <= a.per_class <= 6000:
        p.error(f"--per-class must be in [1, 6000], got {a.per_class}")
    import sinapse
    from sinapse import layers
    from sinapse.datasets import fashion_mnist

    if not hasattr(sinapse, "Model"):
        print("transfer_learning: this sinapse has no functional API (sinapse.Model)", file=sys.stderr)
        return 1
    sinapse.set_num_threads(a.threads)
    data = fashion_mnist.load_data()
    rows = [run_seed(sinapse, layers, a, data, seed) for seed in range(a.seeds)]
    md = markdown(rows, a)
    print(md)
    if not a.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "transfer_learning.md").write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
