"""Inverted dropout (rate 0.5) over 4M float32 elements, forward (the mask drawn by
Philox4x32-10 per element block) and backward (the same mask regenerated from the seed,
applied to dy), vs torch.nn.functional.dropout (which draws its own mask and keeps it).

Memory-bound: 8 bytes per element each way (read, write); sinapse stores no mask — the
backward recomputes it, PyTorch's backward reads its saved mask.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _single

SIZES = [1 << 20, 1 << 22]


def cases(torch, quick):
    rng = np.random.default_rng(0)
    out = []
    for n in SIZES[:1] if quick else SIZES:
        x, dy = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
        y, dx = np.empty_like(x), np.empty_like(x)
        label = f"dropout 0.5 {n >> 20}M"
        tx = tdy = None
        if torch:
            tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

        def torch_forward(tx=tx):
            with torch.no_grad():
                return torch.nn.functional.dropout(tx, 0.5, training=True)

        def torch_both(tx=tx, tdy=tdy):
            tx.grad = None
            torch.nn.functional.dropout(tx, 0.5, training=True).backward(tdy)

        def both(x=x, y=y, dy=dy, dx=dx):
            ops.dropout(x, 0.5, 7, 0, out=y)
            ops.dropout_backward(dy, 0.5, 7, 0, out=dx)

        out.append(
            _single.Case(
                label,
                "forward",
                8.0 * n,
                lambda x=x, y=y: ops.dropout(x, 0.5, 7, 0, out=y),
                torch_forward if torch else None,
            )
        )
        out.append(_single.Case(label, "forward+backward", 16.0 * n, both, torch_both if torch else None))
    return out + ([] if quick else _noise_cases(torch, rng))


def _noise_cases(torch, rng):
    """Spatial dropout over NHWC (128, 28, 28, 32) vs F.dropout2d on the same values in NCHW, and
    Gaussian noise over 4M values vs ``x + stddev * torch.randn_like(x)`` (forward only: its
    gradient is dy)."""
    x = rng.standard_normal((128, 28, 28, 32), dtype=np.float32)
    y = np.empty_like(x)
    flat, flat_y = x.reshape(-1), y.reshape(-1)
    torch_spatial = torch_noise = None
    if torch:
        tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        tflat = torch.from_numpy(flat.copy())

        def torch_spatial():
            with torch.no_grad():
                return torch.nn.functional.dropout2d(tx, 0.5, training=True)

        def torch_noise():
            with torch.no_grad():
                return tflat + 0.1 * torch.randn_like(tflat)

    return [
        _single.Case(
            "spatial dropout 0.5 128x28x28x32",
            "forward",
            8.0 * x.size,
            lambda: ops.spatial_dropout(x, 0.5, 7, 0, out=y),
            torch_spatial,
        ),
        _single.Case(
            "gaussian noise 3.2M",
            "forward",
            8.0 * x.size,
            lambda: ops.gaussian_noise(flat, 0.1, 7, 0, out=flat_y),
            torch_noise,
        ),
    ]


def run(args) -> int:
    return _single.run("dropout", "Dropout", args, cases)
