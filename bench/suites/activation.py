"""Element-wise activations (relu, sigmoid, tanh, gelu, silu) over 4M float32 elements,
forward and forward+backward, vs torch (torch.relu/sigmoid/tanh, F.gelu, F.silu; the
backward through autograd).

Memory-bound for relu (8 bytes per element forward, 20 forward+backward: read x, write y;
then read x and dy, write dx); the transcendental ones also test the vectorised exp/tanh.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _single

N = 1 << 22
NAMES = ["relu", "sigmoid", "tanh", "gelu", "silu"]


def _torch_fn(torch, name):
    f = torch.nn.functional
    return {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "gelu": f.gelu, "silu": f.silu}[name]


def cases(torch, quick):
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal(N, dtype=np.float32), rng.standard_normal(N, dtype=np.float32)
    y, dx = np.empty_like(x), np.empty_like(x)
    tx, tdy = (torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)) if torch else (None, None)
    out = []
    for name in NAMES[:2] if quick else NAMES:
        label = f"{name} {N >> 20}M"

        def forward(name=name):
            ops.activation(x, name, out=y)

        def both(name=name):
            ops.activation(x, name, out=y)
            ops.activation_backward(dy, x, name, out=dx)

        tf = _torch_fn(torch, name) if torch else None

        def torch_forward(tf=tf):
            with torch.no_grad():
                return tf(tx)

        def torch_both(tf=tf):
            tx.grad = None
            tf(tx).backward(tdy)

        out.append(_single.Case(label, "forward", 8.0 * N, forward, torch_forward if torch else None))
        out.append(_single.Case(label, "forward+backward", 20.0 * N, both, torch_both if torch else None))
    return out + _prelu_cases(torch, rng)


def _prelu_cases(torch, rng):
    """PReLU with one slope per channel over NHWC (128, 28, 28, 32) vs F.prelu over the same values
    in PyTorch's NCHW (its weight is per channel there); the backward includes alpha's gradient."""
    shape = (128, 28, 28, 32)
    x, dy = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)
    alpha = np.full((1, 1, 32), 0.25, np.float32)
    y, dx, da = np.empty_like(x), np.empty_like(x), np.empty_like(alpha)
    n = x.size

    def forward():
        ops.prelu(x, alpha, out=y)

    def both():
        ops.prelu(x, alpha, out=y)
        ops.prelu_backward(dy, x, alpha, out=(dx, da))

    torch_forward = torch_both = None
    if torch:
        tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
        tdy = torch.from_numpy(dy.transpose(0, 3, 1, 2).copy())
        tw = torch.full((32,), 0.25, requires_grad=True)

        def torch_forward():
            with torch.no_grad():
                return torch.nn.functional.prelu(tx, tw)

        def torch_both():
            tx.grad = tw.grad = None
            torch.nn.functional.prelu(tx, tw).backward(tdy)

    label = "prelu per channel 128x28x28x32"
    return [
        _single.Case(label, "forward", 8.0 * n, forward, torch_forward),
        _single.Case(label, "forward+backward", 20.0 * n, both, torch_both),
    ]


def run(args) -> int:
    return _single.run("activation", "Element-wise activations", args, cases)
