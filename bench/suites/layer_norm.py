"""layer_norm vs PyTorch (2 threads by default): LayerNormalization's forward and backward on a
BERT-base activation (128 tokens x 768 features) and a sequence batch (64 x 50 x 256, rows of
256), and group_norm on an NHWC feature map.

PyTorch: torch.nn.functional.layer_norm (its fused native_layer_norm, allocating y, mean and
rstd) for the forward; torch.ops.aten.native_layer_norm_backward (the kernel autograd runs,
from the forward's saved mean and rstd) for the backward. sinapse writes into preallocated
arrays (out=), as a layer does, timed both as a plain op call (the full argument validation
every call) and as a prepared plan (``op.prepare``: validated once, a few cheap checks per call,
what the LayerNormalization layer runs). group_norm: torch.nn.functional.group_norm on the same values
in PyTorch's NCHW layout (its only layout), forward only.

Memory-bound: the forward reads x and writes y (8 bytes per element), the backward reads x
and dy and writes dx (12). The story is docs/kernels/layer_norm.md.
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _single

# (label, shape): rows over the last axis
SHAPES = [("BERT-base 128x768", (128, 768)), ("sequence 64x50x256", (64, 50, 256))]
GROUP_NORM = ("group_norm G32, N8 28x28x128 NHWC", (8, 28, 28, 128), 32)
EPS = 1e-3


def _layer_cases(torch, rng, label, shape):
    f = shape[-1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    g, b = (rng.standard_normal(f) + 1).astype(np.float32), rng.standard_normal(f).astype(np.float32)
    y, mean, inv = ops.layer_norm(x, g, b, epsilon=EPS)
    outs = (np.empty_like(x), np.empty_like(mean), np.empty_like(inv))
    grads = (np.empty_like(x), np.empty_like(g), np.empty_like(b))
    t_fwd = t_bwd = None
    if torch is not None:
        tx, tdy, tg, tb = (torch.from_numpy(a) for a in (x, dy, g, b))
        _, tmean, trstd = torch.native_layer_norm(tx, [f], tg, tb, EPS)

        def t_fwd():
            return torch.nn.functional.layer_norm(tx, (f,), tg, tb, EPS)

        def t_bwd():
            return torch.ops.aten.native_layer_norm_backward(tdy, tx, [f], tmean, trstd, tg, tb, [True, True, True])

    fwd_plan = ops.layer_norm.prepare(x, g, b, epsilon=EPS, out=outs)
    bwd_plan = ops.layer_norm_backward.prepare(dy, x, g, mean, inv, out=grads)
    return [
        _single.Case(f"{label} (prepared)", "forward", 8.0 * x.size, lambda: fwd_plan(x, g, b, out=outs), t_fwd),
        _single.Case(
            f"{label} (prepared)", "backward", 12.0 * x.size, lambda: bwd_plan(dy, x, g, mean, inv, out=grads), t_bwd
        ),
        _single.Case(label, "forward", 8.0 * x.size, lambda: ops.layer_norm(x, g, b, epsilon=EPS, out=outs), t_fwd),
        _single.Case(
            label, "backward", 12.0 * x.size, lambda: ops.layer_norm_backward(dy, x, g, mean, inv, out=grads), t_bwd
        ),
    ]


def _group_case(torch, rng):
    label, shape, groups = GROUP_NORM
    x = rng.standard_normal(shape).astype(np.float32)
    g, b = np.ones(shape[-1], np.float32), np.zeros(shape[-1], np.float32)
    y, mean, inv = ops.group_norm(x, g, b, groups=groups, epsilon=EPS)
    outs = (y, mean, inv)
    t_fwd = None
    if torch is not None:
        tx = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        tg, tb = torch.from_numpy(g), torch.from_numpy(b)

        def t_fwd():
            return torch.nn.functional.group_norm(tx, groups, tg, tb, EPS)

    fwd = lambda: ops.group_norm(x, g, b, groups=groups, epsilon=EPS, out=outs)  # noqa: E731
    return [_single.Case(label, "forward", 8.0 * x.size, fwd, t_fwd)]


def cases(torch, quick):
    rng = np.random.default_rng(0)
    out = []
    for label, shape in SHAPES[:1] if quick else SHAPES:
        out += _layer_cases(torch, rng, label, shape)
    return out + ([] if quick else _group_case(torch, rng))


def run(args) -> int:
    return _single.run("layer_norm", "Layer normalization (and group normalization) vs PyTorch", args, cases)
