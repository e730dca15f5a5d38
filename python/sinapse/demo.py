"""The main job, for now: train a 2-layer MLP with sinapse.ops on a synthetic task.

    python -m sinapse.demo [--epochs 30] [--hidden 128] [--seed 0]

Three interleaved spirals in 2-D, lifted to 16 features by a fixed random projection, are
to be told apart by a Dense(hidden, relu) -> Dense(3) network trained with softmax
cross-entropy and plain SGD. Every matrix product — forward (with the bias and relu fused
into the GEMM), and both backward products (through the transpose flags, without
transposed copies) — and every weight update (axpy) runs in sinapse's kernels; NumPy only
does the softmax and the bookkeeping, until the layers issue gives them kernels too.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from . import ops


def make_spirals(n_per_class: int, n_features: int, rng: np.random.Generator):
    """Three noisy spirals, projected to ``n_features`` dimensions; labels 0, 1, 2."""
    xs, ys = [], []
    for label in range(3):
        r = np.linspace(0.05, 1.0, n_per_class)
        theta = np.linspace(label * 2.1, label * 2.1 + 4.0, n_per_class) + rng.normal(0, 0.25, n_per_class)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(n_per_class, label))
    x2 = np.concatenate(xs)
    lift = rng.normal(0, 1, (2, n_features))
    x = np.concatenate([x2, np.tanh(x2 @ lift)], axis=1)
    return x.astype(np.float32), np.concatenate(ys)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """Mean loss and its gradient (p - y) / n with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = -np.log(p[np.arange(n), labels] + 1e-12).mean()
    p[np.arange(n), labels] -= 1.0
    return float(loss), (p / n).astype(np.float32)


def train(
    epochs: int = 30, hidden: int = 128, batch: int = 64, lr: float = 0.5, seed: int = 0, verbose: bool = True
) -> list[float]:
    """Train and return the mean training loss of each epoch."""
    rng = np.random.default_rng(seed)
    x, y = make_spirals(1000, 14, rng)
    n_in, n_out = x.shape[1], 3
    # Glorot-uniform weights, zero biases.
    w1 = rng.uniform(-1, 1, (n_in, hidden)).astype(np.float32) * np.sqrt(6 / (n_in + hidden)).astype(np.float32)
    w2 = rng.uniform(-1, 1, (hidden, n_out)).astype(np.float32) * np.sqrt(6 / (hidden + n_out)).astype(np.float32)
    b1, b2 = np.zeros(hidden, np.float32), np.zeros(n_out, np.float32)
    losses = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            xb, yb = x[idx], y[idx]
            h = ops.gemm(xb, w1, bias=b1, activation="relu")  # (B, hidden), bias + relu fused
            logits = ops.gemm(h, w2, bias=b2)  # (B, 3)
            loss, dlogits = softmax_cross_entropy(logits, yb)
            total += loss * len(idx)
            dw2 = ops.gemm(h, dlogits, trans_a=True)  # h^T @ dlogits
            dh = ops.gemm(dlogits, w2, trans_b=True)  # dlogits @ w2^T
            dh *= h > 0  # relu'
            dw1 = ops.gemm(xb, dh, trans_a=True)
            for param, grad in ((w1, dw1), (b1, dh.sum(axis=0)), (w2, dw2), (b2, dlogits.sum(axis=0))):
                ops.axpy(-lr, grad, param, out=param)  # param -= lr * grad, in place
        losses.append(total / len(x))
        if verbose:
            hidden_all = ops.gemm(x, w1, bias=b1, activation="relu")
            accuracy = (ops.gemm(hidden_all, w2, bias=b2).argmax(axis=1) == y).mean()
            print(
                f"epoch {epoch + 1:3d}/{epochs}  loss {losses[-1]:.4f}  accuracy {accuracy:.3f}  "
                f"({(time.perf_counter() - t0) * 1e3:.1f} ms)"
            )
    return losses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sinapse.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from . import show_config

    show_config()
    print(f"\nTraining Dense({args.hidden}, relu) -> Dense(3) on 3 spirals (3000 points, 16 features)")
    losses = train(args.epochs, args.hidden, args.batch, args.lr, args.seed)
    print(f"\nloss {losses[0]:.4f} -> {losses[-1]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
