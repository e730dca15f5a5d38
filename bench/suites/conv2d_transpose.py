"""Conv2DTranspose (ops.conv2d_transpose, on conv2d's kernels) vs PyTorch's ConvTranspose2d,
forward and forward+backward, at the convolutional autoencoder's decoder shapes
(examples/autoencoder_fashion.py), 2 threads.

PyTorch runs in NCHW and in channels_last; the faster is the reference ("torch best").
sinapse works in NHWC with Keras's kernel layout (KH, KW, filters, in_channels). Keras's
"same" (output_padding None) at stride 2 and PyTorch's padding=1, output_padding=1 give the
same output size and the same work (the two crop the full scatter one pixel apart).

Each layer is also timed in each CPU algorithm of conv2d that applies to it (im2col, direct;
winograd is stride 1 only): the forward runs conv2d's dx pass, the backward its forward and
dW passes, so "tuned" is the cost model's choice per pass (csrc/cpu/conv2d_select.cpp).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from sinapse import ops
from sinapse.ops._conv2d_transpose import transpose_geometry

from .. import harness
from ._single import use_threads
from .conv2d import algorithm_table, variant_fns

# (label, N, H, W, C, F, kernel, strides, padding): the autoencoder's two decoder layers, and
# a larger one (a 64-filter decoder layer at 28x28)
LAYERS = [
    ("decoder 1", 128, 7, 7, 64, 32, 3, 2, "same"),
    ("decoder 2", 128, 14, 14, 32, 1, 3, 2, "same"),
    ("wide decoder", 64, 14, 14, 64, 64, 3, 2, "same"),
]
ALGORITHMS = ("im2col", "direct")


def _sinapse_fns(x, wt, b, dy, s, pad):
    y = ops.conv2d_transpose(x, wt, b, strides=s, padding=pad)
    return variant_fns(
        transpose_geometry("bench", x.shape, wt.shape, s, pad, None, 1),
        ALGORITHMS,
        lambda v: ops.conv2d_transpose(x, wt, b, strides=s, padding=pad, out=y, variant=v),
        lambda v: ops.conv2d_transpose_backward(dy, x, wt, strides=s, padding=pad, variant=v),
    )


def _torch_fns(torch, x, wt, b, dy, k, s):
    F = torch.nn.functional
    fwd, both = {}, {}
    for fmt in ("NCHW", "NHWC"):
        mf = torch.channels_last if fmt == "NHWC" else torch.contiguous_format
        tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_()
        # Keras (KH, KW, F, C) -> PyTorch's ConvTranspose2d weight (C, F, KH, KW)
        tw = torch.from_numpy(wt).permute(3, 2, 0, 1).contiguous(memory_format=mf).requires_grad_()
        tb = torch.from_numpy(b).requires_grad_()
        tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)
        geo = dict(stride=s, padding=k // 2, output_padding=s - 1)

        def tf(tx=tx, tw=tw, tb=tb, geo=geo):
            with torch.no_grad():
                return F.conv_transpose2d(tx, tw, tb, **geo)

        def tfb(tx=tx, tw=tw, tb=tb, tdy=tdy, geo=geo):
            F.conv_transpose2d(tx, tw, tb, **geo).backward(tdy)

        assert tuple(tf().shape) == (dy.shape[0], dy.shape[3], dy.shape[1], dy.shape[2])
        fwd[f"torch {fmt}"], both[f"torch {fmt}"] = tf, tfb
    return fwd, both


def rows(torch, opts, quick):
    out = []
    rng = np.random.default_rng(0)
    for label, n, h, w, c, f, k, s, pad in LAYERS[:1] if quick else LAYERS:
        x = rng.standard_normal((n, h, w, c), dtype=np.float32)
        wt = rng.standard_normal((k, k, f, c), dtype=np.float32) * 0.1
        b = np.zeros(f, np.float32)
        dy = rng.standard_normal(ops.conv2d_transpose(x, wt, b, strides=s, padding=pad).shape, dtype=np.float32)
        fwd, both = _sinapse_fns(x, wt, b, dy, s, pad)
        if torch is not None:
            tf, tfb = _torch_fns(torch, x, wt, b, dy, k, s)
            fwd.update(tf)
            both.update(tfb)
        flops = 2.0 * x.size * k * k * f  # every input pixel scatters a KxK window of F filters
        oh, ow = dy.shape[1:3]
        name = f"{label} N{n} {h}x{w}x{c}->{oh}x{ow}x{f} {k}x{k} s{s} {pad}"
        for kind, fns, work in (("forward", fwd, flops), ("forward+backward", both, 3 * flops)):
            print(f"  conv2d_transpose {label} {kind} ...", file=sys.stderr)
            row = harness.Row(name, work, extra={"op": "conv2d_transpose", "pass": kind})
            row.timings = harness.time_side_by_side(fns, **opts)
            out.append(row)
    return out


def run(args) -> int:
    threads = args.threads
    torch = use_threads(threads)
    opts = dict(min_repeats=3, min_seconds=0.1) if args.quick else dict(min_repeats=9, min_seconds=0.5)
    timed = rows(torch, opts, args.quick)
    env = harness.environment(threads)
    env["load_average"] = list(os.getloadavg())  # how busy the shared machine was
    md = (
        f"# Conv2DTranspose — {env['sinapse']['cpu']}, {threads} threads\n\n"
        f"sinapse {env['sinapse']['version']} (NHWC), PyTorch {env['torch'] or 'not installed'}; {env['date']}; "
        f"load average {env['load_average'][0]:.2f} (a shared machine: other jobs ran during this). Medians in ms; "
        "ratio = sinapse time (the default, tuned) / the faster PyTorch layout (< 1: sinapse is faster). The "
        "im2col and direct columns force that conv2d algorithm for every pass (- where it does not apply).\n\n"
        + algorithm_table(timed, ALGORITHMS)
    )
    return harness.publish("conv2d_transpose", args, env, timed, md)
