"""GEMM blocksizes: sweep KC (and MC) of the tuned kernel at run time, no rebuild needed.

For coursework and retuning on a new machine: shows how the packed-panel depth KC and the
A-block height MC move the tuned GEMM's throughput on the SIMD path in use, through
sinapse.cpu.set_gemm_blocking. The configuration in use is marked with *. Then every compiled
micro-kernel shape of the path (sinapse.cpu.gemm_ukernels) at the in-use KC, and at the blocksizes
the analytical model gives it on this CPU's caches (sinapse._cpu.gemm_model_blocksizes).
"""

from __future__ import annotations

import sys

import numpy as np

import sinapse

from .. import harness, peak

SHAPES = [(2048, 2048, 2048), (128, 784, 300)]
KCS = [128, 256, 512, 768, 1024]
MC_FACTORS = [4, 8, 16]  # MC = factor * MR


def run(args) -> int:
    threads = args.threads
    sinapse.set_num_threads(threads)
    simd = sinapse.cpu.simd_path()
    builtin = sinapse.cpu.gemm_blocking(simd)
    mr = builtin["MR"]
    print("measuring FMA peak ...", file=sys.stderr)
    peaks = peak.measure(threads, runs=2)
    opts = (
        dict(min_repeats=3, min_seconds=0.2, rounds=1) if args.quick else dict(min_repeats=7, min_seconds=1.0, rounds=1)
    )
    shapes = [(1024, 1024, 1024), (128, 784, 300)] if args.quick else SHAPES
    rng = np.random.default_rng(0)
    rows = []
    shape = f"{mr}x{builtin['NR']}"
    configs = [(shape, kc, builtin["MC"], builtin["NC"]) for kc in KCS] + [
        (shape, builtin["KC"], f * mr, builtin["NC"]) for f in MC_FACTORS if f * mr != builtin["MC"]
    ]
    caches = sinapse.cpu.microarchitecture()["caches"]
    for u in sinapse.cpu.gemm_ukernels(simd):
        s = f"{u['MR']}x{u['NR']}"
        if s != shape:  # the in-use blocksizes, rounded to the shape
            mc = max(1, builtin["MC"] // u["MR"]) * u["MR"]
            configs.append((s, builtin["KC"], mc, max(1, builtin["NC"] // u["NR"]) * u["NR"]))
        configs.append((s, *sinapse._cpu.gemm_model_blocksizes(caches, u["MR"], u["NR"])))
    try:
        for m, k, n in shapes:
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((k, n), dtype=np.float32)
            c = np.empty((m, n), np.float32)
            for uk, kc, mc, nc in configs:
                sinapse.cpu.set_gemm_blocking(simd, ukernel=uk, KC=kc, MC=mc, NC=nc)
                print(f"  {m}x{k}x{n} {uk} KC={kc} MC={mc} NC={nc}", file=sys.stderr)
                extra = {"ukernel": uk, "KC": kc, "MC": mc, "NC": nc}
                row = harness.Row(f"{m}x{k}x{n}", 2.0 * m * k * n, extra=extra)
                row.timings = harness.time_side_by_side({"sinapse": lambda: sinapse.ops.gemm(a, b, out=c)}, **opts)
                rows.append(row)
    finally:
        sinapse.cpu.reset_gemm_blocking(simd)

    env = harness.environment(threads)
    env["fma_peak_gflops"] = peaks
    env["fma_peak_method"] = peak.describe(runs=2)
    table = []
    for r in rows:
        gf = r.work / r.timings["sinapse"].median_s / 1e9
        in_use = (shape, builtin["KC"], builtin["MC"], builtin["NC"])
        mark = "*" if tuple(r.extra[k] for k in ("ukernel", "KC", "MC", "NC")) == in_use else ""
        table.append(
            [
                r.label,
                r.extra["ukernel"],
                f"{r.extra['KC']}{mark}",
                str(r.extra["MC"]),
                str(r.extra["NC"]),
                f"{r.timings['sinapse'].median_s * 1e3:.3f}",
                f"{gf:.1f}",
                f"{100 * gf / peaks[simd]:.0f}%",
            ]
        )
    md = (
        f"# GEMM blocksize sweep — {env['sinapse']['cpu']}, {threads} threads, {builtin['ukernel']}\n\n"
        f"{env['fma_peak_method']}: {peaks[simd]:.0f} GFLOP/s on {simd}. "
        f"* = the configuration in use ({builtin['source']}). {env['date']}.\n\n"
        + harness.markdown_table(["M x K x N", "ukernel", "KC", "MC", "NC", "median ms", "GFLOP/s", "% peak"], table)
    )
    return harness.publish("gemm_blocking", args, env, rows, md)
