"""Pooling kernel variants (naive vs tuned): max and average, forward and backward, on the
seed models' layers (MNIST convnet, AlexNet, LeNet-5).

naive: the definition as loops, one thread, no SIMD (csrc/cpu/pooling_naive.cpp); tuned:
threads over output rows, the channel loop vectorised (csrc/cpu/pooling.cpp). The story is
docs/kernels/pooling.md.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _variants

# (label, kind, N, H, W, C, pool, strides)
POOLS = [
    ("mnist max 2x2", "max", 128, 26, 26, 32, 2, 2),
    ("alexnet max 3x3 s2", "max", 32, 55, 55, 96, 3, 2),
    ("lenet avg 2x2", "avg", 128, 28, 28, 6, 2, 2),
]


def cases(quick: bool) -> list[_variants.Case]:
    out = []
    rng = np.random.default_rng(0)
    for label, kind, n, h, w, c, k, s in POOLS[:1] if quick else POOLS:
        x = rng.standard_normal((n, h, w, c), dtype=np.float32)
        fwd, bwd = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
        y = fwd(x, k, s)
        dy = rng.standard_normal(y.shape, dtype=np.float32)
        dx = np.empty_like(x)
        name = f"{label} N{n} {h}x{w}x{c}"
        moved = 4.0 * (x.size + y.size)
        out.append((name, "forward", moved, lambda v, x=x, y=y, f=fwd, k=k, s=s: lambda: f(x, k, s, out=y, variant=v)))
        back = 4.0 * (2 * x.size + y.size) if kind == "max" else 4.0 * (x.size + y.size)
        out.append(
            (
                name,
                "backward",
                back,
                lambda v, x=x, dy=dy, dx=dx, f=bwd, k=k, s=s: lambda: f(dy, x, k, s, out=dx, variant=v),
            )
        )
    return out


def run(args) -> int:
    about = "naive = the definition as loops, one thread; tuned = threads over rows, SIMD over channels."
    return _variants.run("pooling", "pooling", args, cases(args.quick), about)
