"""Losses with their gradient (``ops.loss(..., grad=True)``: one pass computes both), vs
PyTorch's functional losses forward + backward through autograd: softmax cross-entropy from
logits (sparse labels and one-hot targets; ImageNet-sized 128 x 1000 and MNIST-sized
128 x 10), binary cross-entropy from logits and mean squared error.

Memory-bound: the table counts the predictions and targets read and the gradient written.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _single

# (label, loss, from_logits, N, C)
CASES = [
    ("sparse CE logits", "sparse_categorical_crossentropy", True, 128, 1000),
    ("sparse CE logits", "sparse_categorical_crossentropy", True, 128, 10),
    ("categorical CE logits", "categorical_crossentropy", True, 128, 1000),
    ("binary CE logits", "binary_crossentropy", True, 4096, 256),
    ("mse", "mse", False, 4096, 256),
]


def _torch_loss(torch, name, t_true, t_pred):
    f = torch.nn.functional
    if name == "sparse_categorical_crossentropy":
        return f.cross_entropy(t_pred, t_true)
    if name == "categorical_crossentropy":
        return f.cross_entropy(t_pred, t_true)  # probability targets
    if name == "binary_crossentropy":
        return f.binary_cross_entropy_with_logits(t_pred, t_true)
    return f.mse_loss(t_pred, t_true)


def cases(torch, quick):
    rng = np.random.default_rng(0)
    out = []
    for label, name, logits, n, c in CASES[:2] if quick else CASES:
        y_pred = rng.standard_normal((n, c), dtype=np.float32)
        if name == "sparse_categorical_crossentropy":
            y_true = rng.integers(0, c, n).astype(np.int32)
        elif name == "categorical_crossentropy":
            y_true = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]
        else:
            y_true = (rng.random((n, c)) < 0.5).astype(np.float32)
        grad = np.empty_like(y_pred)
        moved = 8.0 * y_pred.size + 4.0 * y_true.size  # read y_pred and y_true, write the gradient
        t_true = t_pred = None
        if torch:
            t_true = torch.from_numpy(y_true.astype(np.int64) if y_true.dtype == np.int32 else y_true)
            t_pred = torch.from_numpy(y_pred).requires_grad_()

        def torch_both(name=name, t_true=t_true, t_pred=t_pred):
            t_pred.grad = None
            _torch_loss(torch, name, t_true, t_pred).backward()

        out.append(
            _single.Case(
                f"{label} {n}x{c}",
                "forward+backward",
                moved,
                lambda name=name, y_true=y_true, y_pred=y_pred, grad=grad, logits=logits: ops.loss(
                    name, y_true, y_pred, from_logits=logits, grad=True, grad_out=grad
                ),
                torch_both if torch else None,
            )
        )
    return out


def run(args) -> int:
    return _single.run("losses", "Losses and their gradient", args, cases)
