"""Recurrent layers: LSTM, GRU and SimpleRNN (tanh) vs torch.nn.LSTM/GRU/RNN, forward and
forward+backward over a whole sequence, plus LSTM inference latency at batch 1, and
Bidirectional(LSTM) vs torch.nn.LSTM(bidirectional=True) (_rnn_bidirectional.py).

Shapes from the issue: batch 64, sequence 50, input 128, hidden 256 (and batch 1). PyTorch
runs batch_first=True modules in float32 on the same threads; its forward is timed under
torch.no_grad() (inference), its forward+backward as a training step's autograd pass.

The LSTM rows also time the cell's other kernel variants (registry: naive = each step's
recurrent GEMM, then the gate equations as plain loops, one thread, library exp; the tuned
forward fuses the recurrent product and the gates in one kernel, the other GEMMs are the
same), side by side with the default one: the column "naive / tuned" is the cell's share of
a step plus, in the forward, the fusion (docs/kernels/rnn.md, "The LSTM cell's variants" and
"The fused recurrent step").
"""

from __future__ import annotations

import sys

import numpy as np

from sinapse import ops
from sinapse.registry import op_info

from .. import harness
from . import _rnn_bidirectional
from ._single import use_threads

# (label, cell, N, T, D, H, pass)
ROWS = [
    ("LSTM", "lstm", 64, 50, 128, 256, "forward"),
    ("LSTM", "lstm", 64, 50, 128, 256, "forward+backward"),
    ("GRU", "gru", 64, 50, 128, 256, "forward"),
    ("GRU", "gru", 64, 50, 128, 256, "forward+backward"),
    ("RNN tanh", "simple_rnn", 64, 50, 128, 256, "forward"),
    ("RNN tanh", "simple_rnn", 64, 50, 128, 256, "forward+backward"),
    ("LSTM batch 1", "lstm", 1, 50, 128, 256, "forward"),
]
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _sinapse_fns(cell, x, k, rk, b, dy, variant=None):
    forward = {"lstm": ops.lstm, "gru": ops.gru, "simple_rnn": ops.simple_rnn}[cell]
    backward = {"lstm": ops.lstm_backward, "gru": ops.gru_backward, "simple_rnn": ops.simple_rnn_backward}[cell]
    kw = {"variant": variant} if variant else {}

    def fwd():
        return forward(x, k, rk, b, **kw)

    def both():
        backward(dy, forward(x, k, rk, b, **kw)[-1])

    return fwd, both


def _variant_peers(cell, x, k, rk, b, dy, kind):
    """The cell's non-default kernel variants, as peers "sinapse <variant>" (LSTM only)."""
    if cell != "lstm":
        return {}
    info = op_info(cell)
    peers = {}
    for v in info.variants:
        if v != info.default_variant:
            fwd, both = _sinapse_fns(cell, x, k, rk, b, dy, v)
            peers[f"sinapse {v}"] = fwd if kind == "forward" else both
    return peers


def _torch_fns(torch, cell, x, k, rk, b, dy):
    from sinapse.ops import rnn_convert

    d, h = k.shape[0], rk.shape[0]
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[cell](d, h, batch_first=True)
    with torch.no_grad():
        for name, value in rnn_convert.keras_to_torch(cell, k, rk, b).items():
            getattr(module, name).copy_(torch.from_numpy(value))
    tx = torch.from_numpy(x).requires_grad_()
    tdy = torch.from_numpy(dy)

    def fwd():
        with torch.no_grad():
            return module(tx)

    def both():
        module(tx)[0].backward(tdy)

    return fwd, both


def _flops(cell, n, t, d, h, kind):
    forward = 2.0 * n * t * (d + h) * GATES[cell] * h
    return forward * (3 if kind == "forward+backward" else 1)


def run(args) -> int:
    threads = args.threads
    torch = use_threads(threads)
    opts = dict(min_repeats=3, min_seconds=0.1) if args.quick else dict(min_repeats=10, min_seconds=1.0)
    rng = np.random.default_rng(0)
    rows = []
    for label, cell, n, t, d, h, kind in ROWS:
        g = GATES[cell]
        x = rng.standard_normal((n, t, d), dtype=np.float32)
        k = (rng.standard_normal((d, g * h), dtype=np.float32) / np.sqrt(d)).astype(np.float32)
        rk = (rng.standard_normal((h, g * h), dtype=np.float32) / np.sqrt(h)).astype(np.float32)
        b = rng.standard_normal((2, g * h) if cell == "gru" else (g * h,), dtype=np.float32) * 0.1
        dy = rng.standard_normal((n, t, h), dtype=np.float32)
        fwd, both = _sinapse_fns(cell, x, k, rk, b, dy)
        fns = {"sinapse": fwd if kind == "forward" else both, **_variant_peers(cell, x, k, rk, b, dy, kind)}
        if torch is not None:
            tf, tb = _torch_fns(torch, cell, x, k, rk, b, dy)
            fns["torch"] = tf if kind == "forward" else tb
        print(f"  {label} N{n} {kind} ...", file=sys.stderr)
        row = harness.Row(
            f"{label} N{n} T{t} D{d} H{h}", _flops(cell, n, t, d, h, kind), extra={"op": cell, "pass": kind}
        )
        row.timings = harness.time_side_by_side(fns, **opts)
        rows.append(row)
    bidirectional = _rnn_bidirectional.rows(torch, opts)
    env = harness.environment(threads)
    table = []
    for r in rows:
        s = r.timings["sinapse"].median_s
        tt = r.timings["torch"].median_s if "torch" in r.timings else None
        naive = r.timings["sinapse naive"].median_s if "sinapse naive" in r.timings else None
        table.append(
            [
                r.label,
                r.extra["pass"],
                f"{s * 1e3:.2f}",
                f"{r.work / s / 1e9:.1f}",
                f"{naive * 1e3:.2f}" if naive else "-",
                f"{naive / s:.2f}x" if naive else "-",
                f"{tt * 1e3:.2f}" if tt else "-",
                f"{s / tt:.2f}x" if tt else "-",
            ]
        )
    md = (
        f"# Recurrent layers — {env['sinapse']['cpu']}, {threads} threads\n\n"
        f"sinapse {env['sinapse']['version']}, PyTorch {env['torch'] or 'not installed'} (batch_first=True, "
        f"float32); {env['date']}. Medians in ms; GFLOP/s counts the GEMM flops only; ratio = sinapse time / "
        "PyTorch time (< 1: sinapse is faster). Forward = inference (torch.no_grad()); forward+backward = "
        "the forward and BPTT for a gradient of every output. sinapse runs its default (tuned) kernels; "
        "naive ms = the LSTM with the naive cell kernel (same GEMMs).\n\n"
        + harness.markdown_table(
            [
                "layer",
                "pass",
                "sinapse ms",
                "sinapse GFLOP/s",
                "naive cell ms",
                "naive / tuned",
                "torch ms",
                "sinapse / torch",
            ],
            table,
        )
        + _rnn_bidirectional.markdown(bidirectional)
    )
    return harness.publish("rnn", args, env, rows + bidirectional, md)
