"""Softmax kernel variants (naive vs tuned): softmax and log_softmax, forward and backward, on
classifier heads (MNIST 10 classes, ImageNet 1000) and a language-model vocabulary (32768).

naive: the definition as loops, one thread, the C library's expf (csrc/cpu/softmax_naive.cpp);
tuned: threads over rows, a vectorised polynomial exp (csrc/cpu/softmax.cpp). The story is
docs/kernels/softmax.md.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _variants

# (label, rows, cols)
SHAPES = [("mnist head", 128, 10), ("imagenet head", 256, 1000), ("lm vocabulary", 64, 32768)]


def _shape_cases(name, x, dy) -> list[_variants.Case]:
    y, dx = np.empty_like(x), np.empty_like(x)
    out = []
    for tag, fwd, bwd in (
        ("softmax", ops.softmax, ops.softmax_backward),
        ("log_softmax", ops.log_softmax, ops.log_softmax_backward),
    ):
        y_saved = fwd(x)  # the backward's input: the forward's output

        def forward(v, f=fwd):
            return lambda: f(x, out=y, variant=v)

        def backward(v, f=bwd, ys=y_saved):
            return lambda: f(dy, ys, out=dx, variant=v)

        out.append((name, f"{tag} forward", 8.0 * x.size, forward))  # x read, y written
        out.append((name, f"{tag} backward", 12.0 * x.size, backward))  # y and dy read, dx written
    return out


def cases(quick: bool) -> list[_variants.Case]:
    out = []
    rng = np.random.default_rng(0)
    for label, rows, cols in SHAPES[1:2] if quick else SHAPES:
        x = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
        dy = rng.standard_normal((rows, cols)).astype(np.float32)
        out += _shape_cases(f"{label} {rows}x{cols}", x, dy)
    return out


def run(args) -> int:
    about = "naive = the definition as loops, one thread, library expf; tuned = threads over rows, SIMD exp."
    return _variants.run("softmax", "softmax", args, cases(args.quick), about)
