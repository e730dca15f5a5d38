"""Optimizer steps: sinapse's fused update kernels vs torch.optim (foreach, single-tensor and
fused), over 1M and 10M float32 parameters, and a whole MLP's step through sinapse.optimizers.

Memory-bound: an Adam step reads param, grad, m, v and writes param, m, v — 28 bytes per
parameter; SGD with momentum 20 bytes. The table gives each row's achieved bandwidth next to
two measured references on the same machine: NumPy's copy (1 thread, 8 bytes/element) and
sinapse's axpy (the library's threads, 12 bytes/element).
"""

from __future__ import annotations

import sys

import numpy as np

from sinapse import ops, optimizers

from .. import harness
from ._single import use_threads

SIZES = [1_000_000, 10_000_000]
MLP = [(784, 300), (300,), (300, 100), (100,), (100, 10), (10,)]


def _torch_variants(torch, make, params):
    """torch.optim flavours on ``params`` (grads set): foreach (the default), single-tensor and fused."""
    out = {}
    for label, kwargs in (
        ("torch foreach", dict(foreach=True)),
        ("torch single", dict(foreach=False)),
        ("torch fused", dict(fused=True)),
    ):
        try:
            opt = make(params, **kwargs)
            opt.step()
        except (RuntimeError, TypeError, ValueError):  # fused unsupported for this optimizer/device
            continue
        out[label] = opt.step
    return out


def _rows(torch, opts, quick):
    rows = []
    rng = np.random.default_rng(0)
    for n in SIZES[:1] if quick else SIZES:
        w = rng.standard_normal(n, dtype=np.float32)
        g = rng.standard_normal(n, dtype=np.float32) * 1e-3
        for name, bytes_per in (("adam", 28), ("sgd momentum 0.9", 20)):
            state = [np.zeros(n, np.float32) for _ in range(2 if name == "adam" else 1)]
            counter = [0]

            def step(state=state, name=name):
                counter[0] += 1
                if name == "adam":
                    ops.adam_update(w, g, *state, learning_rate=1e-3, step=counter[0])
                else:
                    ops.sgd_update(w, g, *state, learning_rate=1e-3, momentum=0.9)

            fns = {"sinapse": step}
            if torch is not None:
                tw = torch.nn.Parameter(torch.from_numpy(w.copy()))
                tw.grad = torch.from_numpy(g)
                make = (
                    (lambda p, **k: torch.optim.Adam(p, lr=1e-3, **k))
                    if name == "adam"
                    else (lambda p, **k: torch.optim.SGD(p, lr=1e-3, momentum=0.9, **k))
                )
                fns.update(_torch_variants(torch, make, [tw]))
            print(f"  {name} {n} ...", file=sys.stderr)
            row = harness.Row(f"{name}, {n / 1e6:g}M params", float(bytes_per * n), extra={"params": n})
            row.timings = harness.time_side_by_side(fns, **opts)
            rows.append(row)
    # A whole model's step through the Keras-style class (6 tensors, 266,610 parameters).
    params = [rng.standard_normal(s, dtype=np.float32) for s in MLP]
    grads = [rng.standard_normal(s, dtype=np.float32) * 1e-3 for s in MLP]
    opt = optimizers.Adam()
    fns = {"sinapse": lambda: opt.apply(params, grads)}
    if torch is not None:
        tps = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
        for tp, gr in zip(tps, grads):
            tp.grad = torch.from_numpy(gr)
        fns.update(_torch_variants(torch, lambda p, **k: torch.optim.Adam(p, lr=1e-3, **k), tps))
    n = sum(p.size for p in params)
    print("  adam MLP ...", file=sys.stderr)
    row = harness.Row(
        f"adam, MLP 784-300-100-10 ({n:,} params, 6 tensors), optimizers.Adam.apply", float(28 * n), extra={"params": n}
    )
    row.timings = harness.time_side_by_side(fns, **opts)
    rows.append(row)
    return rows


def _bandwidth_rows(opts):
    n = SIZES[-1]
    x = np.random.default_rng(1).standard_normal(n, dtype=np.float32)
    y = np.zeros(n, np.float32)
    rows = []
    for label, fn, bytes_per in (
        ("numpy copy (1 thread)", lambda: np.copyto(y, x), 8),
        ("sinapse axpy", lambda: ops.axpy(1e-3, x, y, out=y), 12),
    ):
        row = harness.Row(f"{label}, {n / 1e6:g}M floats", float(bytes_per * n), extra={"reference": True})
        row.timings = harness.time_side_by_side({"sinapse": fn}, **opts)
        rows.append(row)
    return rows


def run(args) -> int:
    threads = args.threads
    torch = use_threads(threads)
    opts = dict(min_repeats=5, min_seconds=0.2) if args.quick else dict(min_repeats=20, min_seconds=1.0)
    rows = _rows(torch, opts, args.quick)
    refs = _bandwidth_rows(opts)
    env = harness.environment(threads)
    flavours = ("torch foreach", "torch single", "torch fused")
    table = []
    for r in rows:
        s = r.timings["sinapse"].median_s
        torch_times = {k: r.timings[k].median_s for k in flavours if k in r.timings}
        best = min(torch_times.values()) if torch_times else None
        table.append(
            [r.label, f"{s * 1e3:.3f}", f"{r.work / s / 1e9:.1f}"]
            + [f"{torch_times[k] * 1e3:.3f}" if k in torch_times else "-" for k in flavours]
            + [f"{s / best:.2f}x" if best else "-"]
        )
    ref_table = [
        [r.label, f"{r.timings['sinapse'].median_s * 1e3:.3f}", f"{r.work / r.timings['sinapse'].median_s / 1e9:.1f}"]
        for r in refs
    ]
    md = (
        f"# Optimizer steps — {env['sinapse']['cpu']}, {threads} threads\n\n"
        f"sinapse {env['sinapse']['version']}, PyTorch {env['torch'] or 'not installed'}; {env['date']}. "
        "Medians in ms; GB/s = bytes the step must move (Adam 28 B/param, SGD momentum 20 B/param) / time; "
        "ratio = sinapse / the fastest torch.optim flavour (< 1: sinapse is faster). "
        "Command: `python -m bench optimizers`.\n\n"
        + harness.markdown_table(
            [
                "step",
                "sinapse ms",
                "sinapse GB/s",
                "torch foreach ms",
                "torch single ms",
                "torch fused ms",
                "sinapse / torch best",
            ],
            table,
        )
        + "\n\nBandwidth references (same run):\n\n"
        + harness.markdown_table(["kernel", "ms", "GB/s"], ref_table)
    )
    return harness.publish("optimizers", args, env, rows + refs, md)
