"""UpSampling2D's resize, nearest and bilinear, forward and backward, vs PyTorch's
torch.nn.functional.interpolate (scale 2, align_corners=False: the same sampling as Keras's)
in both of its layouts: NCHW contiguous and channels_last (NHWC, sinapse's layout); the
ratio is against the faster of the two.

Shapes: the decoder of the Fashion-MNIST convolutional autoencoder (batch 128: 7x7x64 ->
14x14 and 14x14x32 -> 28x28). PyTorch's backward is the kernel autograd runs
(aten.upsample_*2d_backward), called directly. Work: the bytes one call must move (input
read once, output written once).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from sinapse import ops

from .. import harness
from ._single import use_threads

# (label, N, H, W, C): the input; the output is 2H x 2W
SHAPES = [("decoder 7x7x64", 128, 7, 7, 64), ("decoder 14x14x32", 128, 14, 14, 32)]
MODES = ("nearest", "bilinear")


def _torch_fns(torch, x, dy, mode, layout):
    """PyTorch's forward and backward on NCHW tensors in ``layout`` (contiguous / channels_last)."""
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).contiguous(memory_format=fmt)
    tdy = torch.from_numpy(dy.transpose(0, 3, 1, 2).copy()).contiguous(memory_format=fmt)
    out_size, in_size = list(tdy.shape[2:]), list(tx.shape)
    kw = {"align_corners": False} if mode == "bilinear" else {}

    def forward():
        with torch.no_grad():
            return torch.nn.functional.interpolate(tx, scale_factor=2, mode=mode, **kw)

    if mode == "bilinear":

        def backward():
            return torch.ops.aten.upsample_bilinear2d_backward(tdy, out_size, in_size, False, 2.0, 2.0)

    else:

        def backward():
            return torch.ops.aten.upsample_nearest2d_backward(tdy, out_size, in_size, 2.0, 2.0)

    return forward, backward


def run(args) -> int:
    torch = use_threads(args.threads)
    opts = dict(min_repeats=3, min_seconds=0.1) if args.quick else dict(min_repeats=10, min_seconds=0.5)
    rng = np.random.default_rng(0)
    rows = []
    for label, n, h, w, c in SHAPES[:1] if args.quick else SHAPES:
        x = rng.standard_normal((n, h, w, c), dtype=np.float32)
        dy = rng.standard_normal((n, 2 * h, 2 * w, c), dtype=np.float32)
        y, dx = np.empty_like(dy), np.empty_like(x)
        moved = 4.0 * (x.size + dy.size)
        for mode in MODES:
            ours = {
                "forward": lambda x=x, y=y, mode=mode: ops.resize(x, y.shape[1:3], interpolation=mode, out=y),
                "backward": lambda dy=dy, dx=dx, mode=mode: ops.resize_backward(
                    dy, dx.shape[1:3], interpolation=mode, out=dx
                ),
            }
            theirs = (
                {layout: _torch_fns(torch, x, dy, mode, layout) for layout in ("nchw", "channels_last")}
                if torch
                else {}
            )
            for i, kind in enumerate(("forward", "backward")):
                name = f"UpSampling2D {mode} {label} N{n}"
                print(f"  {name} {kind} ...", file=sys.stderr)
                fns = {"sinapse": ours[kind], **{f"torch {k}": v[i] for k, v in theirs.items()}}
                row = harness.Row(name, moved, extra={"pass": kind})
                row.timings = harness.time_side_by_side(fns, **opts)
                rows.append(row)
    env = harness.environment(args.threads)
    env["load_average"] = list(os.getloadavg())
    return harness.publish("resize", args, env, rows, _markdown(env, args.threads, rows))


def _markdown(env: dict, threads: int, rows: list[harness.Row]) -> str:
    table = []
    for r in rows:
        s = r.timings["sinapse"].median_s
        t = {k: v.median_s for k, v in r.timings.items() if k.startswith("torch")}
        best = min(t.values()) if t else None
        table.append(
            [
                r.label,
                r.extra["pass"],
                f"{s * 1e6:.1f}",
                f"{r.work / s / 1e9:.1f}",
                *(f"{t[k] * 1e6:.1f}" if k in t else "-" for k in ("torch nchw", "torch channels_last")),
                f"{s / best:.2f}x" if best else "-",
            ]
        )
    torch = env["torch"] or "not installed: sinapse alone"
    return (
        f"# Resize (UpSampling2D 2x) — {env['sinapse']['cpu']}, {threads} threads\n\n"
        f"sinapse {env['sinapse']['version']}, PyTorch {torch}; {env['date']}. Medians in µs; GB/s = the bytes "
        "one call must move / time; ratio = sinapse time / the faster PyTorch layout's (< 1: sinapse is faster). "
        f"Load average (1, 5, 15 min) at the end: {', '.join(f'{v:.1f}' for v in env['load_average'])}. "
        "Command: `python -m bench resize`.\n\n"
        + harness.markdown_table(
            [
                "case",
                "pass",
                "sinapse µs",
                "sinapse GB/s",
                "torch NCHW µs",
                "torch channels_last µs",
                "sinapse / best torch",
            ],
            table,
        )
    )
