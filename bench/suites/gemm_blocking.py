"""GEMM blocksizes: sweep KC (and MC) of the tuned kernel at run time, no rebuild needed.

For coursework and retuning on a new machine: shows how the packed-panel depth KC and the
A-block height MC move the tuned GEMM's throughput on the SIMD path in use, through
sinapse.cpu.set_gemm_blocking. The built-in table row is marked with *.
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
    configs = [(kc, builtin["MC"]) for kc in KCS] + [
        (builtin["KC"], f * mr) for f in MC_FACTORS if f * mr != builtin["MC"]
    ]
    try:
        for m, k, n in shapes:
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((k, n), dtype=np.float32)
            c = np.empty((m, n), np.float32)
            for kc, mc in configs:
                sinapse.cpu.set_gemm_blocking(simd, KC=kc, MC=mc)
                print(f"  {m}x{k}x{n} KC={kc} MC={mc}", file=sys.stderr)
                row = harness.Row(f"{m}x{k}x{n}", 2.0 * m * k * n, extra={"KC": kc, "MC": mc, "NC": builtin["NC"]})
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
        mark = "*" if (r.extra["KC"], r.extra["MC"]) == (builtin["KC"], builtin["MC"]) else ""
        table.append(
            [
                r.label,
                f"{r.extra['KC']}{mark}",
                str(r.extra["MC"]),
                f"{r.timings['sinapse'].median_s * 1e3:.3f}",
                f"{gf:.1f}",
                f"{100 * gf / peaks[simd]:.0f}%",
            ]
        )
    md = (
        f"# GEMM blocksize sweep — {env['sinapse']['cpu_model']}, {threads} threads, {builtin['ukernel']}\n\n"
        f"{env['fma_peak_method']}: {peaks[simd]:.0f} GFLOP/s on {simd}. NC = {builtin['NC']}. "
        f"* = the built-in table row. {env['date']}.\n\n"
        + harness.markdown_table(["M x K x N", "KC", "MC", "median ms", "GFLOP/s", "% peak"], table)
    )
    return harness.publish("gemm_blocking", args, env, rows, md)
