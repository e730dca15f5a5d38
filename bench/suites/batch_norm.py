"""Batch norm kernel variants (naive vs tuned): the training forward, the inference forward
and the backward, on convolution feature maps (NHWC) and a dense layer's activations.

naive: the definition as loops, one channel at a time (a column walk through NHWC), one
thread (csrc/cpu/batch_norm_naive.cpp); tuned: rows walked contiguously, every channel
reduced at once over threads, SIMD (csrc/cpu/batch_norm.cpp). The story is
docs/kernels/batch_norm.md.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _variants

# (label, shape)
SHAPES = [("conv 14x14x64", (128, 14, 14, 64)), ("conv 7x7x256", (32, 7, 7, 256)), ("dense 512", (256, 512))]


def _shape_cases(name, x, dy) -> list[_variants.Case]:
    c = x.shape[-1]
    gamma, beta = np.ones(c, np.float32), np.zeros(c, np.float32)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    y, dx = np.empty_like(x), np.empty_like(x)
    _, mean, invstd = ops.batch_norm(x, gamma, beta, rm, rv, training=True)

    def train(v):
        return lambda: ops.batch_norm(x, gamma, beta, rm, rv, training=True, out=(y, None, None), variant=v)

    def infer(v):
        return lambda: ops.batch_norm(x, gamma, beta, rm, rv, training=False, out=(y, None, None), variant=v)

    def backward(v):
        return lambda: ops.batch_norm_backward(
            dy, x, gamma, mean, invstd, training=True, out=(dx, None, None), variant=v
        )

    moved = 8.0 * x.size  # x read (the statistics' passes stay in cache only for small maps), y written
    return [(name, "train forward", moved, train), (name, "infer forward", moved, infer)] + [
        (name, "backward", 12.0 * x.size, backward)  # x and dy read, dx written
    ]


def cases(quick: bool) -> list[_variants.Case]:
    out = []
    rng = np.random.default_rng(0)
    for label, shape in SHAPES[:1] if quick else SHAPES:
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        dy = rng.standard_normal(shape).astype(np.float32)
        out += _shape_cases(f"{label} {'x'.join(map(str, shape))}", x, dy)
    return out


def run(args) -> int:
    about = "naive = per-channel column walks, one thread; tuned = contiguous rows over threads, SIMD."
    return _variants.run("batch_norm", "batch_norm", args, cases(args.quick), about)
