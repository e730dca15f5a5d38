"""axpy: ``alpha * x + y`` over 1M and 16M float32 elements, into a new array and in place
(``out=y``, the SGD step), vs torch.add(y, x, alpha=...).

Memory-bound: 12 bytes per element (read x and y, write the result). The 1M case fits in
the caches of most CPUs; 16M (192 MB moved) does not, so it measures DRAM bandwidth.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _single

SIZES = [1 << 20, 1 << 24]


def cases(torch, quick):
    rng = np.random.default_rng(0)
    out = []
    for n in SIZES[:1] if quick else SIZES:
        x, y = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
        result = np.empty_like(y)
        label = f"axpy {n >> 20}M"
        tx, ty, tr = (torch.from_numpy(a) for a in (x, y.copy(), result)) if torch else (None, None, None)
        out.append(
            _single.Case(
                f"{label} into out",
                "forward",
                12.0 * n,
                lambda x=x, y=y, r=result: ops.axpy(0.5, x, y, out=r),
                (lambda tx=tx, ty=ty, tr=tr: torch.add(ty, tx, alpha=0.5, out=tr)) if torch else None,
            )
        )
        yy = y.copy()
        out.append(
            _single.Case(
                f"{label} in place (out=y)",
                "forward",
                12.0 * n,
                lambda x=x, yy=yy: ops.axpy(1e-9, x, yy, out=yy),
                (lambda tx=tx, ty=ty: ty.add_(tx, alpha=1e-9)) if torch else None,
            )
        )
    return out


def run(args) -> int:
    return _single.run("axpy", "axpy (alpha * x + y)", args, cases)
