"""merge (element-wise Add of 2 and 3 inputs, Maximum of 2) and concatenate (along channels) on
a ResNet-like activation (N 8 x 56 x 56 x C 256, 6.4M floats = 25.7 MB per array), forward and
backward, vs PyTorch: torch.add(a, b, out=...) (then .add_(c) for a third input: PyTorch has no
n-ary add, a stack-and-sum would also copy the inputs), torch.maximum, torch.cat(out=...), and
autograd's backward of the same expressions.

Memory-bound: a merge of n inputs reads n arrays and writes one (4 (n + 1) bytes per element);
its backward reads dy (and, for maximum, the inputs) and writes n gradients. PyTorch's backward
of an add passes dy itself on to each input (no copy: autograd aliases it), so the backward
rows time autograd's whole forward+backward against sinapse's forward + merge_backward, each
writing every gradient into its own array (sinapse) or .grad (PyTorch, reset to None each call).
"""

from __future__ import annotations

import numpy as np

from sinapse import ops

from . import _single

SHAPE = (8, 56, 56, 256)  # a ResNet-50 stage-1 activation at batch 8
QUICK_SHAPE = (8, 28, 28, 256)


def _torch_fwd_bwd(torch, fn, tensors, dy):
    def run():
        for t in tensors:
            t.grad = None
        fn(*tensors).backward(dy)

    return run


def _merge_cases(torch, rng, shape, label):
    out = []
    n_el = int(np.prod(shape))
    for n, mode in ((2, "add"), (3, "add"), (2, "maximum")):
        xs = [rng.standard_normal(shape, dtype=np.float32) for _ in range(n)]
        dy = rng.standard_normal(shape, dtype=np.float32)
        y = np.empty_like(xs[0])
        dx = [np.empty_like(x) for x in xs]
        tx = [torch.from_numpy(x) for x in xs] if torch else None
        ty = torch.from_numpy(y) if torch else None
        t_fwd = expr = None
        if torch:
            t_fwd, expr = _torch_forms(torch, mode, tx, ty)
        name = f"{mode} of {n} {label}"
        out.append(
            _single.Case(
                name,
                "forward",
                4.0 * (n + 1) * n_el,
                lambda xs=xs, y=y, mode=mode: ops.merge(xs, mode, out=y),
                t_fwd,
            )
        )
        tg = [torch.from_numpy(x.copy()).requires_grad_() for x in xs] if torch else None
        out.append(
            _single.Case(
                name,
                "forward+backward",
                4.0 * (2 * n + 2) * n_el,
                lambda xs=xs, y=y, dy=dy, dx=dx, mode=mode: (
                    ops.merge(xs, mode, out=y),
                    ops.merge_backward(dy, xs, mode, out=dx),
                ),
                _torch_fwd_bwd(torch, expr, tg, torch.from_numpy(dy)) if torch else None,
            )
        )
    return out


def _torch_forms(torch, mode, tx, ty):
    """PyTorch's forward into ty (timed alone) and the expression autograd differentiates."""
    if mode == "maximum":
        return (lambda: torch.maximum(tx[0], tx[1], out=ty)), (lambda a, b: torch.maximum(a, b))
    if len(tx) == 2:
        return (lambda: torch.add(tx[0], tx[1], out=ty)), (lambda a, b: a + b)

    def add3():
        torch.add(tx[0], tx[1], out=ty)
        ty.add_(tx[2])

    return add3, (lambda a, b, c: a + b + c)


def _concat_cases(torch, rng, shape, label):
    half = (*shape[:-1], shape[-1] // 2)
    xs = [rng.standard_normal(half, dtype=np.float32) for _ in range(2)]
    y = np.empty(shape, np.float32)
    dy = rng.standard_normal(shape, dtype=np.float32)
    dx = [np.empty_like(x) for x in xs]
    n_el = int(np.prod(shape))
    tx = [torch.from_numpy(x) for x in xs] if torch else None
    ty = torch.from_numpy(y) if torch else None
    tg = [torch.from_numpy(x.copy()).requires_grad_() for x in xs] if torch else None
    name = f"concatenate 2 x C{half[-1]} on channels {label}"
    return [
        _single.Case(
            name,
            "forward",
            8.0 * n_el,
            lambda: ops.concatenate(xs, -1, out=y),
            (lambda: torch.cat(tx, dim=-1, out=ty)) if torch else None,
        ),
        _single.Case(
            name,
            "forward+backward",
            16.0 * n_el,
            lambda: (ops.concatenate(xs, -1, out=y), ops.concatenate_backward(dy, xs, -1, out=dx)),
            _torch_split(torch, tg, torch.from_numpy(dy)) if torch else None,
        ),
    ]


def _torch_split(torch, tensors, dy):
    """torch.cat and autograd's backward of it (the split into each .grad)."""
    return _torch_fwd_bwd(torch, lambda *t: torch.cat(t, dim=-1), tensors, dy)


def cases(torch, quick):
    rng = np.random.default_rng(0)
    shape = QUICK_SHAPE if quick else SHAPE
    label = "N{} {}x{} C{}".format(*shape)
    return _merge_cases(torch, rng, shape, label) + _concat_cases(torch, rng, shape, label)


def run(args) -> int:
    return _single.run("merge", "Merge (add, maximum) and concatenate", args, cases)
