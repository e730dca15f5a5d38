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

    python tools/transfer_learning.py                    # ~4-5 minutes on 2 quiet cores
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


def run_seed(sinapse, layers, a, data, seed, log=print) -> list[dict]:
    """One seed of the experiment: model A once, then task B at every --per-class size; returns
    one dict per size with the test accuracies on classes 5-9 (and A's on 0-4)."""
    (train, test), timings = data, {}
    sinapse.utils.set_random_seed(seed)
    xa, ya = split(train, range(5), seed=seed)
    xat, yat = split(test, range(5))

    t0 = time.perf_counter()
    base_a = make_base(sinapse, layers, "base_a")
    model_a = with_head(sinapse, layers, base_a, name="model_a")
    compile_(sinapse, model_a, 1e-3)
    model_a.fit(xa, ya, batch_size=128, epochs=a.epochs_a, verbose=0)
    timings["A"] = time.perf_counter() - t0
    acc_a = accuracy(model_a, xat, yat)
    log(f"seed {seed}: model A on classes 0-4: test accuracy {acc_a:.4f} ({timings['A']:.0f} s)")
    return [dict(task_b(sinapse, layers, a, data, base_a, n, seed, log), a=acc_a) for n in a.per_class]


def task_b(sinapse, layers, a, data, base_a, per_class, seed, log) -> dict:
    """Classes 5-9 with ``per_class`` training images each: B on A (frozen, then fine-tuned) and from scratch."""
    train, test = data
    xb, yb = split(train, range(5, 10), per_class, seed=seed)
    xbt, ybt = split(test, range(5, 10))
    # B on A: a copy of A's base (A itself stays as trained, as Géron's clone_model), frozen.
    base_b = make_base(sinapse, layers, "base_b")
    base_b.set_weights(base_a.get_weights())
    base_b.trainable = False
    model_b = with_head(sinapse, layers, base_b, name="model_b_on_a")
    compile_(sinapse, model_b, a.lr_frozen)
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
        f"seed {seed}: classes 5-9 ({per_class}/class): frozen base + new head {acc_frozen:.4f}, "
        f"fine-tuned {acc_fine:.4f}, from scratch {acc_scratch:.4f}"
    )
    return dict(seed=seed, per_class=per_class, frozen=acc_frozen, fine_tuned=acc_fine, scratch=acc_scratch)


def markdown(rows, a) -> str:
    sizes = ",".join(map(str, a.per_class))
    lines = [
        "# Transfer learning on Fashion-MNIST (seed 000, Géron ch. 11) with sinapse's functional API\n",
        f"`python tools/transfer_learning.py --per-class {sizes} --seeds {a.seeds} --lr-frozen {a.lr_frozen:g}`. Model A: a CNN "
        "(conv 32, pool, conv 64, pool, dense 128: the base) + softmax head, trained on classes 0-4 "
        f"(T-shirt/top, Trouser, Pullover, Dress, Coat; 30,000 images, {a.epochs_a} epochs, Adam 1e-3). "
        "B: classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), a few training images per class. "
        f"B on A: a copy of A's base, frozen (trainable=False), + a new head, {a.epochs_frozen} epochs at "
        f"Adam {a.lr_frozen:g}, batch 32; then unfrozen, {a.epochs_fine} epochs at 1e-4. From scratch: the same model, "
        f"random weights, {a.epochs_frozen + a.epochs_fine} epochs at 1e-3. Test accuracy on the 5,000 test "
        "images of classes 5-9 (model A: on the 5,000 of classes 0-4).\n",
        "| images per class (B) | seed | A (0-4) | B on A, frozen base | B on A, fine-tuned | B from scratch |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['per_class']} | {r['seed']} | {r['a']:.4f} | {r['frozen']:.4f} | {r['fine_tuned']:.4f} | "
            f"{r['scratch']:.4f} |"
        )
    for n in a.per_class:
        m = {k: np.mean([r[k] for r in rows if r["per_class"] == n]) for k in ("a", "frozen", "fine_tuned", "scratch")}
        lines.append(f"| {n} | mean | {m['a']:.4f} | {m['frozen']:.4f} | {m['fine_tuned']:.4f} | {m['scratch']:.4f} |")
    for n in a.per_class:
        m = {k: 1 - np.mean([r[k] for r in rows if r["per_class"] == n]) for k in ("fine_tuned", "scratch")}
        lines.append(
            f"\n{n} images per class: error rate on classes 5-9 {m['fine_tuned']:.2%} with transfer "
            f"(fine-tuned) against {m['scratch']:.2%} from scratch."
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Seed 000's transfer-learning experiment with sinapse's functional API.")
    p.add_argument(
        "--per-class", default="10,50,200", help="training images per class of task B (comma-separated sizes)"
    )
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs-a", type=int, default=3)
    p.add_argument("--epochs-frozen", type=int, default=20)
    p.add_argument("--epochs-fine", type=int, default=10)
    p.add_argument("--lr-frozen", type=float, default=1e-2, help="Adam's learning rate while the base is frozen")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-save", action="store_true")
    a = p.parse_args(argv)
    try:
        sizes = [int(n) for n in a.per_class.split(",")]
    except ValueError:
        sizes = []
    if not sizes or not all(1 <= n <= 6000 for n in sizes):
        p.error(f"--per-class: comma-separated sizes in [1, 6000], got {a.per_class!r}")
    a.per_class = sizes
    import sinapse
    from sinapse import layers
    from sinapse.datasets import fashion_mnist

    if not hasattr(sinapse, "Model"):
        print("transfer_learning: this sinapse has no functional API (sinapse.Model)", file=sys.stderr)
        return 1
    sinapse.set_num_threads(a.threads)
    data = fashion_mnist.load_data()
    rows = [row for seed in range(a.seeds) for row in run_seed(sinapse, layers, a, data, seed)]
    md = markdown(rows, a)
    print(md)
    if not a.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "transfer_learning.md").write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
