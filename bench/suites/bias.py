"""bias_add (``x + bias`` over the last axis) and bias_backward (``dy`` summed over every axis
but the last), vs torch.add(x, b, out=...) and dy.sum(0), on a dense layer's output
(N 128 x 4096) and a convolution's (N 32 x 56 x 56 x 64, flattened to rows).

Memory-bound: bias_add reads x and writes y (8 bytes per element); bias_backward reads dy once
(4 bytes per element) and writes C values.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _single

SHAPES = [("dense N128 C4096", (128, 4096)), ("conv N32 56x56 C64", (32, 56, 56, 64))]


def cases(torch, quick):
    rng = np.random.default_rng(0)
    out = []
    for label, shape in SHAPES[:1] if quick else SHAPES:
        x = rng.standard_normal(shape, dtype=np.float32)
        b = rng.standard_normal(shape[-1], dtype=np.float32)
        y = np.empty_like(x)
        tx = tb = ty = t2 = None
        if torch:
            tx, tb, ty = torch.from_numpy(x), torch.from_numpy(b), torch.from_numpy(y)
            t2 = tx.reshape(-1, shape[-1])
        out.append(
            _single.Case(
                f"bias_add {label}",
                "forward",
                8.0 * x.size,
                lambda x=x, b=b, y=y: ops.bias_add(x, b, out=y),
                (lambda tx=tx, tb=tb, ty=ty: torch.add(tx, tb, out=ty)) if torch else None,
            )
        )
        out.append(
            _single.Case(
                f"bias_backward {label}",
                "backward",
                4.0 * x.size,
                lambda x=x: ops.bias_backward(x),
                (lambda t2=t2: t2.sum(0)) if torch else None,
            )
        )
    return out


def run(args) -> int:
    return _single.run("bias", "Bias add and bias gradient", args, cases)
