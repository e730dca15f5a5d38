"""depthwise_conv2d vs PyTorch: MobileNet's depthwise layers (3x3, stride 1, "same") at
112x112x32 and 14x14x512, batch 32, forward and backward (dx, dW and db from dy), 2 threads.

sinapse runs NHWC with Keras's (KH, KW, C, 1) weights, in both variants (naive: the
definition as loops, one thread; tuned: the default). PyTorch runs Conv2d(groups=C) in NCHW
(contiguous) and in channels_last; the faster of the two is the reference ("torch best").
The backward rows time the gradients only (sinapse: one depthwise_conv2d_backward call;
PyTorch: autograd's backward of a forward kept from before). The naive variant is timed on
the --quick shapes only (seconds per call at full size): docs/kernels/depthwise_conv2d.md.
"""

from __future__ import annotations

import sys

import numpy as np

import sinapse
from sinapse import ops

from .. import harness

# (label, N, H, W, C, kernel, strides)
LAYERS = [
    ("mobilenet conv_dw_1 112x112x32", 32, 112, 112, 32, 3, 1),
    ("mobilenet conv_dw_7 14x14x512", 32, 14, 14, 512, 3, 1),
]
QUICK = [("mobilenet 28x28x128 (quick)", 8, 28, 28, 128, 3, 1)]


def _sinapse_fns(x, w, b, y, dy, s, variants):
    fwd, bwd = {}, {}
    grads = (np.empty_like(x), np.empty_like(w), np.empty_like(b))
    for v in variants:
        name = "sinapse" if v == "tuned" else f"sinapse {v}"

        def f(v=v):
            return ops.depthwise_conv2d(x, w, b, strides=s, padding="same", out=y, variant=v)

        def fb(v=v):
            return ops.depthwise_conv2d_backward(dy, x, w, strides=s, padding="same", out=grads, variant=v)

        fwd[name], bwd[name] = f, fb
    return fwd, bwd


def _torch_fns(torch, x, w, b, dy, s, ks):
    fwd, bwd = {}, {}
    c = x.shape[3]
    for fmt in ("NCHW", "NHWC"):
        mf = torch.channels_last if fmt == "NHWC" else torch.contiguous_format
        tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_()
        # (KH, KW, C, 1) -> (C, 1, KH, KW): PyTorch's depthwise weight
        tw = torch.from_numpy(w).permute(2, 3, 0, 1).contiguous(memory_format=mf).requires_grad_()
        tb = torch.from_numpy(b).requires_grad_()
        tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)
        conv = torch.nn.functional.conv2d
        pad = ks // 2

        def tf(tx=tx, tw=tw, tb=tb):
            with torch.no_grad():
                return conv(tx, tw, tb, stride=s, padding=pad, groups=c)

        def tb_(tx=tx, tw=tw, tb=tb, tdy=tdy):
            y = conv(tx, tw, tb, stride=s, padding=pad, groups=c)
            return torch.autograd.grad(y, (tx, tw, tb), tdy)

        fwd[f"torch {fmt}"], bwd[f"torch {fmt}"] = tf, tb_
    return fwd, bwd


def run(args) -> int:
    try:
        import torch
    except ImportError:
        torch = None
    sinapse.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    opts = dict(min_repeats=3, min_seconds=0.2, warmup=1) if args.quick else dict(min_repeats=7, min_seconds=1.0)
    rng = np.random.default_rng(0)
    rows = []
    for label, n, h, wd, c, ks, s in QUICK if args.quick else LAYERS:
        x = rng.standard_normal((n, h, wd, c), dtype=np.float32)
        w = rng.standard_normal((ks, ks, c, 1), dtype=np.float32) * 0.3
        b = rng.standard_normal(c, dtype=np.float32)
        y = ops.depthwise_conv2d(x, w, b, strides=s, padding="same")
        dy = rng.standard_normal(y.shape, dtype=np.float32)
        variants = ("naive", "tuned") if args.quick else ("tuned",)
        fwd, bwd = _sinapse_fns(x, w, b, y, dy, s, variants)
        if torch is not None:
            tf, tb = _torch_fns(torch, x, w, b, dy, s, ks)
            fwd.update(tf)
            bwd.update(tb)
        flops = 2.0 * y.size * ks * ks
        for kind, fns, work in (("forward", fwd, flops), ("backward", bwd, 2 * flops)):
            print(f"  depthwise_conv2d {label} {kind} ...", file=sys.stderr)
            row = harness.Row(f"{label} N{n} {ks}x{ks} s{s}", work, extra={"op": "depthwise_conv2d", "pass": kind})
            row.timings = harness.time_side_by_side(fns, **opts)
            rows.append(row)
    env = harness.environment(args.threads)
    table = []
    for r in rows:
        t = r.timings["sinapse"].median_s
        torch_times = {k: v.median_s for k, v in r.timings.items() if k.startswith("torch")}
        best = min(torch_times.values()) if torch_times else None
        naive = r.timings.get("sinapse naive")
        table.append(
            [r.label, r.extra["pass"], f"{t * 1e3:.2f}", f"{naive.median_s * 1e3:.2f}" if naive else "-"]
            + [f"{torch_times[k] * 1e3:.2f}" if k in torch_times else "-" for k in ("torch NCHW", "torch NHWC")]
            + [f"{r.work / t / 1e9:.1f}", f"{t / best:.2f}x" if best else "-"]
        )
    md = (
        f"# depthwise_conv2d — {env['sinapse']['cpu']}, {args.threads} threads\n\n"
        f"sinapse {env['sinapse']['version']} (NHWC), PyTorch {env['torch'] or 'not installed'}; {env['date']}. "
        f"{'Batch 8 (--quick)' if args.quick else 'Batch 32'}, 3x3, stride 1, 'same', bias. Medians in ms; "
        "backward = dx, dW and db from dy; "
        "torch NCHW = contiguous, NHWC = channels_last; GFLOP/s of sinapse (2 flops per multiply-add, "
        "the backward twice the forward); ratio = sinapse / the faster PyTorch layout (< 1: sinapse is "
        "faster).\n\n"
        + harness.markdown_table(
            [
                "layer",
                "pass",
                "sinapse ms",
                "naive ms",
                "torch NCHW ms",
                "torch NHWC ms",
                "GFLOP/s",
                "sinapse / torch best",
            ],
            table,
        )
    )
    return harness.publish("depthwise_conv2d", args, env, rows, md)
