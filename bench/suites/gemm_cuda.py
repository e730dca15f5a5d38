"""GEMM on the GPU: sinapse's CUDA variants vs cuBLAS (variant 0), checked, then timed.

The kernel lab of docs/kernels/gemm.md, in the spirit of llm.c's dev/cuda: every variant is
first checked against cuBLAS's result (itself checked against the float64 reference on a
slice), and only then timed with CUDA events recorded on the stream around each call, the
clock stopped only after the end event has completed (so queued work is counted). Reports
GFLOP/s and % of cuBLAS. Needs a GPU with CuPy; without one it says why and exits 2.
"""

from __future__ import annotations

import sys

import numpy as np

import sinapse
from sinapse.registry import OPS

from .. import harness

SHAPES = [(1024, 1024, 1024), (4096, 4096, 4096), (128, 784, 300), (128, 9216, 4096)]


def _time_events(cupy, fn, warmup: int, repeats: int) -> harness.Timing:
    for _ in range(warmup):
        fn()
    cupy.cuda.get_current_stream().synchronize()
    samples = []
    for _ in range(repeats):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        samples.append(cupy.cuda.get_elapsed_time(start, end) / 1e3)
    samples.sort()
    return harness.Timing(samples[len(samples) // 2], samples[0], samples[-1], len(samples))


def run(args) -> int:
    if not sinapse.cuda.is_available():
        print(f"bench gemm_cuda needs a GPU: {sinapse.cuda.why_unavailable()}", file=sys.stderr)
        return 2
    import cupy

    rng = np.random.default_rng(0)
    repeats = 5 if args.quick else 20
    device = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"].decode()
    rows = []
    for m, k, n in SHAPES[:2] if args.quick else SHAPES:
        a_host = rng.standard_normal((m, k), dtype=np.float32)
        b_host = rng.standard_normal((k, n), dtype=np.float32)
        a, b = cupy.asarray(a_host), cupy.asarray(b_host)
        c = cupy.empty((m, n), cupy.float32)
        fns = {"0: cuBLAS": lambda: cupy.matmul(a, b, out=c)}
        for i, v in enumerate(OPS["gemm"].variants, start=1):
            fns[f"{i}: {v}"] = lambda v=v: sinapse.ops.gemm(a, b, out=c, variant=v)
        # Check before timing: cuBLAS against the reference on a slice, every variant against cuBLAS.
        ref = cupy.asnumpy(cupy.matmul(a, b))
        rows_slice = slice(0, min(m, 64))
        exact = sinapse.reference.gemm(a_host[rows_slice].astype(np.float64), b_host.astype(np.float64))
        if not np.allclose(ref[rows_slice], exact, rtol=1e-3, atol=1e-2 * np.sqrt(k)):
            raise SystemExit(f"bench gemm_cuda: cuBLAS disagrees with the reference on {m}x{k}x{n}")
        for name, fn in fns.items():
            fn()
            got = cupy.asnumpy(c)
            if not np.allclose(got, ref, rtol=1e-3, atol=1e-3 * np.sqrt(k)):
                raise SystemExit(f"bench gemm_cuda: variant {name} is wrong on {m}x{k}x{n}; not timing it")
        row = harness.Row(f"{m}x{k}x{n}", 2.0 * m * k * n, extra={"device": device})
        row.timings = {name: _time_events(cupy, fn, 3, repeats) for name, fn in fns.items()}
        rows.append(row)

    env = harness.environment(threads=args.threads)
    env["device"] = device
    table = []
    for r in rows:
        base = r.timings["0: cuBLAS"].median_s
        for name, t in r.timings.items():
            table.append(
                [
                    r.label,
                    name,
                    f"{t.median_s * 1e3:.3f}",
                    f"{r.work / t.median_s / 1e9:.0f}",
                    f"{100 * base / t.median_s:.0f}%",
                ]
            )
    md = (
        f"# CUDA GEMM — {device}\n\nCUDA-event medians of {repeats} calls after 3 warm-ups; every variant "
        f"checked against cuBLAS first. {env['date']}.\n\n"
        + harness.markdown_table(["M x K x N", "variant", "ms", "GFLOP/s", "% of cuBLAS"], table)
    )
    return harness.publish("gemm_cuda", args, env, rows, md)
