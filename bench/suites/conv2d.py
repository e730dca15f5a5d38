"""CNN ops: conv2d, pooling, softmax cross-entropy and batch norm vs PyTorch, forward and
forward+backward, on the seed models' layer shapes.

PyTorch runs each op in NCHW and in channels_last; the faster of the two is the reference
("torch best"). sinapse works in NHWC. 2 threads for both.

Each conv2d layer is also timed in each CPU algorithm variant that applies to it (im2col,
direct, winograd; naive is left out: seconds per call at these sizes) beside the default
tuned one (the cost model's choice per pass, csrc/cpu/conv2d_select.cpp), all in the same
side-by-side run, so coursework can compare the algorithms with each other and with PyTorch.
"""

from __future__ import annotations

import sys

import numpy as np

import sinapse
from sinapse import ops
from sinapse.ops.conv2d import geometry

from .. import harness
from ._single import use_threads

# (label, N, H, W, C, K, kernel, strides, padding)
CONVS = [
    ("mnist conv1", 128, 28, 28, 1, 32, 3, 1, "valid"),
    ("mnist conv2", 128, 13, 13, 32, 64, 3, 1, "valid"),
    ("fashion 7x7", 128, 28, 28, 1, 64, 7, 1, "same"),
    ("fashion conv2", 128, 14, 14, 64, 128, 3, 1, "same"),
    ("fashion conv3", 128, 7, 7, 128, 256, 3, 1, "same"),
    ("lenet C1", 128, 32, 32, 1, 6, 5, 1, "valid"),
    ("lenet C3", 128, 14, 14, 6, 16, 5, 1, "valid"),
    ("alexnet conv1", 32, 227, 227, 3, 96, 11, 4, "valid"),
    ("alexnet conv3", 32, 13, 13, 256, 384, 3, 1, "same"),
]
# The CPU algorithms timed beside the default (tuned) one, where they apply.
ALGORITHMS = ("im2col", "direct", "winograd")
# (label, kind, N, H, W, C, pool, strides)
POOLS = [
    ("max 2x2 s2", "max", 128, 26, 26, 32, 2, 2),
    ("max 3x3 s2", "max", 32, 55, 55, 96, 3, 2),
    ("avg 2x2 s2", "avg", 128, 28, 28, 6, 2, 2),
]


def _conv_rows(torch, threads, opts, quick):
    rows = []
    rng = np.random.default_rng(0)
    for label, n, h, w, c, k, ks, s, pad in CONVS[:3] if quick else CONVS:
        x = rng.standard_normal((n, h, w, c), dtype=np.float32)
        wt = rng.standard_normal((ks, ks, c, k), dtype=np.float32) * 0.1
        b = np.zeros(k, np.float32)
        y = ops.conv2d(x, wt, b, strides=s, padding=pad)
        dy = rng.standard_normal(y.shape, dtype=np.float32)
        flops = 2.0 * y.size * ks * ks * c
        fwd, both = variant_fns(
            geometry("bench", x.shape, wt.shape, s, pad, 1),
            ALGORITHMS,
            lambda v, x=x, wt=wt, b=b, s=s, pad=pad, y=y: ops.conv2d(
                x, wt, b, strides=s, padding=pad, out=y, variant=v
            ),
            lambda v, x=x, wt=wt, s=s, pad=pad, dy=dy: ops.conv2d_backward(
                dy, x, wt, strides=s, padding=pad, variant=v
            ),
        )
        if torch is not None:
            F = torch.nn.functional
            tpad = pad if pad == "valid" else ("same" if s == 1 else ks // 2)
            for fmt in ("NCHW", "NHWC"):
                mf = torch.channels_last if fmt == "NHWC" else torch.contiguous_format
                tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_()
                tw = torch.from_numpy(wt).permute(3, 2, 0, 1).contiguous(memory_format=mf).requires_grad_()
                tb = torch.from_numpy(b).requires_grad_()
                tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)

                def tf(tx=tx, tw=tw, tb=tb):
                    with torch.no_grad():
                        return F.conv2d(tx, tw, tb, stride=s, padding=tpad)

                def tfb(tx=tx, tw=tw, tb=tb, tdy=tdy):
                    F.conv2d(tx, tw, tb, stride=s, padding=tpad).backward(tdy)

                fwd[f"torch {fmt}"], both[f"torch {fmt}"] = tf, tfb
        for kind, fns, work in (("forward", fwd, flops), ("forward+backward", both, 3 * flops)):
            print(f"  conv2d {label} {kind} ...", file=sys.stderr)
            row = harness.Row(
                f"{label} N{n} {h}x{w}x{c}->{k} {ks}x{ks} s{s} {pad}", work, extra={"op": "conv2d", "pass": kind}
            )
            row.timings = harness.time_side_by_side(fns, **opts)
            rows.append(row)
    return rows


def variant_fns(g, algorithms, forward, backward) -> tuple[dict, dict]:
    """({name: forward call}, {name: forward+backward call}) for the default variant ("sinapse")
    and each of ``algorithms`` that can run geometry ``g`` ("sinapse <algorithm>");
    ``forward(v)`` / ``backward(v)`` run one pass with variant v (None: the default)."""
    fwd, both = {}, {}
    for v in (None, *algorithms):
        if v is not None and sinapse._cpu.conv2d_variant_refusal(g, v):
            continue  # outside the variant's domain
        name = "sinapse" if v is None else f"sinapse {v}"
        fwd[name] = lambda v=v: forward(v)
        both[name] = lambda v=v: (forward(v), backward(v))
    return fwd, both


def _pool_rows(torch, opts):
    rows = []
    rng = np.random.default_rng(1)
    for label, kind, n, h, w, c, p, s in POOLS:
        x = rng.standard_normal((n, h, w, c), dtype=np.float32)
        fwd_op, bwd_op = getattr(ops, f"{kind}_pool2d"), getattr(ops, f"{kind}_pool2d_backward")
        y = fwd_op(x, p, s)
        dy = rng.standard_normal(y.shape, dtype=np.float32)
        fwd = {"sinapse": lambda: fwd_op(x, p, s, out=y)}
        both = {"sinapse": lambda: (fwd_op(x, p, s, out=y), bwd_op(dy, x, p, s))}
        if torch is not None:
            F = torch.nn.functional
            tpool = F.max_pool2d if kind == "max" else F.avg_pool2d
            for fmt in ("NCHW", "NHWC"):
                mf = torch.channels_last if fmt == "NHWC" else torch.contiguous_format
                tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_()
                tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)

                def tf(tx=tx):
                    with torch.no_grad():
                        return tpool(tx, p, s)

                def tfb(tx=tx, tdy=tdy):
                    tpool(tx, p, s).backward(tdy)

                fwd[f"torch {fmt}"], both[f"torch {fmt}"] = tf, tfb
        for kind_pass, fns in (("forward", fwd), ("forward+backward", both)):
            print(f"  pool {label} {kind_pass} ...", file=sys.stderr)
            row = harness.Row(f"{label} N{n} {h}x{w}x{c}", float(x.size), extra={"op": "pool", "pass": kind_pass})
            row.timings = harness.time_side_by_side(fns, **opts)
            rows.append(row)
    return rows


def _other_rows(torch, opts):
    """Softmax cross-entropy (fused, from logits) and batch norm, forward+backward."""
    rows = []
    rng = np.random.default_rng(2)
    for n, c in ((128, 10), (128, 1000)):
        z = rng.standard_normal((n, c), dtype=np.float32)
        labels = rng.integers(0, c, n).astype(np.int32)
        fns = {
            "sinapse": lambda z=z, labels=labels: ops.loss(
                labels, z, "sparse_categorical_crossentropy", from_logits=True, grad=True
            )
        }
        if torch is not None:
            tz = torch.from_numpy(z).requires_grad_()
            tl = torch.from_numpy(labels.astype(np.int64))

            def tce(tz=tz, tl=tl):
                torch.nn.functional.cross_entropy(tz, tl).backward()

            fns["torch NCHW"] = tce
        print(f"  softmax CE {n}x{c} ...", file=sys.stderr)
        row = harness.Row(
            f"softmax cross-entropy {n}x{c}", float(n * c), extra={"op": "loss", "pass": "forward+backward"}
        )
        row.timings = harness.time_side_by_side(fns, **opts)
        rows.append(row)

    x = rng.standard_normal((128, 14, 14, 64), dtype=np.float32)
    dy = rng.standard_normal(x.shape, dtype=np.float32)
    g, b = np.ones(64, np.float32), np.zeros(64, np.float32)
    rm, rv = np.zeros(64, np.float32), np.ones(64, np.float32)

    def sbn():
        y, mean, invstd = ops.batch_norm(x, g, b, rm, rv, training=True)
        ops.batch_norm_backward(dy, x, g, mean, invstd, training=True)

    fns = {"sinapse": sbn}
    if torch is not None:
        for fmt in ("NCHW", "NHWC"):
            mf = torch.channels_last if fmt == "NHWC" else torch.contiguous_format
            tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=mf).requires_grad_()
            tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=mf)
            tg, tb = torch.ones(64, requires_grad=True), torch.zeros(64, requires_grad=True)
            trm, trv = torch.zeros(64), torch.ones(64)

            def tbn(tx=tx, tdy=tdy, tg=tg, tb=tb, trm=trm, trv=trv):
                torch.nn.functional.batch_norm(tx, trm, trv, tg, tb, training=True, momentum=0.01, eps=1e-3).backward(
                    tdy
                )

            fns[f"torch {fmt}"] = tbn
    print("  batch norm ...", file=sys.stderr)
    row = harness.Row("batch norm N128 14x14x64", float(x.size), extra={"op": "batch_norm", "pass": "forward+backward"})
    row.timings = harness.time_side_by_side(fns, **opts)
    rows.append(row)
    return rows


def run(args) -> int:
    threads = args.threads
    torch = use_threads(threads)
    opts = dict(min_repeats=3, min_seconds=0.1) if args.quick else dict(min_repeats=7, min_seconds=0.5)
    rows = _conv_rows(torch, threads, opts, args.quick) + _pool_rows(torch, opts) + _other_rows(torch, opts)
    env = harness.environment(threads)
    md = (
        f"# CNN ops — {env['sinapse']['cpu']}, {threads} threads\n\n"
        f"sinapse {env['sinapse']['version']} (NHWC), PyTorch {env['torch'] or 'not installed'}; {env['date']}. "
        "Medians in ms; ratio = sinapse time (the default, tuned) / the faster PyTorch layout (< 1: sinapse "
        "is faster). The im2col, direct and winograd columns force that conv2d algorithm (- where it does not "
        "apply).\n\n" + algorithm_table(rows, ALGORITHMS)
    )
    return harness.publish("conv2d", args, env, rows, md)


def algorithm_table(rows, algorithms) -> str:
    """The markdown table of rows timed as sinapse (tuned), "sinapse <algorithm>" and "torch
    NCHW"/"torch NHWC": medians in ms and sinapse / the faster PyTorch layout (also
    bench/suites/conv2d_transpose.py's)."""
    table = []
    for r in rows:
        s = r.timings["sinapse"].median_s
        torch_times = [t.median_s for name, t in r.timings.items() if name.startswith("torch")]
        best = min(torch_times) if torch_times else None
        table.append(
            [r.label, r.extra["pass"], f"{s * 1e3:.2f}"]
            + [
                f"{r.timings[name].median_s * 1e3:.2f}" if name in r.timings else "-"
                for name in [f"sinapse {v}" for v in algorithms] + ["torch NCHW", "torch NHWC"]
            ]
            + [f"{s / best:.2f}x" if best else "-"]
        )
    return harness.markdown_table(
        ["layer", "pass", "sinapse ms"]
        + [f"{v} ms" for v in algorithms]
        + ["torch NCHW ms", "torch NHWC ms", "sinapse / torch best"],
        table,
    )
