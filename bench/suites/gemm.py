"""GEMM: sinapse vs NumPy (OpenBLAS) vs PyTorch, and sinapse's variants against each other.

Rows: the Dense-layer shapes of the seed MLP (batch 128), an AlexNet-size fully connected
layer, square matrices, and every GEMM variant (and every SIMD path of the tuned one) on
512^3 so the naive -> blocked -> tuned steps show. Throughput is also given as % of this
machine's measured FMA peak on the SIMD path in use (bench/peak.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import sinapse
from sinapse.registry import OPS

from .. import harness, peak

# (M, K, N): C[M, N] = A[M, K] @ B[K, N]
PEER_SHAPES = [
    (128, 784, 300),  # Fashion-MNIST MLP, first Dense layer, batch 128
    (128, 300, 100),  # ... second Dense layer
    (128, 9216, 4096),  # AlexNet fc6, batch 128
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (1, 4096, 4096),  # batch-1 inference of a wide Dense layer (a GEMV)
    (20000, 256, 10),  # tall-skinny: a 10-class output layer over a large batch
]
VARIANT_SHAPE = (512, 512, 512)
# A 60-wide MLP at several batch sizes, and the seed MLP: 2 threads must never lose to 1.
THREAD_SHAPES = [(32, 60, 60), (128, 60, 60), (256, 60, 60), (128, 300, 100), (128, 784, 300)]


def _peers(a, b, c, threads):
    """name -> zero-argument callable computing c = a @ b in that library (no allocation)."""
    fns = {
        "sinapse": lambda: sinapse.ops.gemm(a, b, out=c),
        "numpy": lambda: np.matmul(a, b, out=c),
    }
    try:
        import torch
    except ImportError:
        return fns
    torch.set_num_threads(threads)
    ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
    fns["torch"] = lambda: torch.mm(ta, tb, out=tc)
    return fns


def _inputs(m, k, n, rng):
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    return a, b, np.empty((m, n), np.float32)


def run(args) -> int:
    threads = args.threads
    sinapse.set_num_threads(threads)
    rng = np.random.default_rng(0)
    simd = sinapse.cpu.simd_path()
    print(f"measuring FMA peak ({threads} threads) ...", file=sys.stderr)
    peak_runs = 2 if args.quick else 3
    peaks = peak.measure(threads, runs=peak_runs)
    timing_opts = dict(min_repeats=3, min_seconds=0.1) if args.quick else dict(min_repeats=7, min_seconds=1.0)

    rows: list[harness.Row] = []
    shapes = PEER_SHAPES[:4] if args.quick else PEER_SHAPES
    for m, k, n in shapes:
        a, b, c = _inputs(m, k, n, rng)
        ref = sinapse.reference.gemm(a[:, :64], b[:64, :])  # cheap sanity check of the peers
        for name, fn in _peers(a[:, :64].copy(), b[:64, :].copy(), c, threads).items():
            fn()
            if not np.allclose(c, ref, rtol=1e-3, atol=1e-3):
                raise SystemExit(f"bench gemm: {name} disagrees with the reference on {m}x64x{n}")
        print(f"  {m}x{k}x{n} ...", file=sys.stderr)
        row = harness.Row(f"{m}x{k}x{n}", 2.0 * m * k * n, extra={"kind": "peers", "simd": simd})
        row.timings = harness.time_side_by_side(_peers(a, b, c, threads), **timing_opts)
        rows.append(row)

    m, k, n = VARIANT_SHAPE
    a, b, c = _inputs(m, k, n, rng)
    variant_fns = {}
    for variant in OPS["gemm"].variants:
        paths = sinapse.cpu.supported_simd_paths() if variant == "tuned" else [simd]
        for path in paths:
            label = f"{variant} ({path})" if variant == "tuned" else variant
            variant_fns[label] = lambda v=variant, p=path: sinapse.ops.gemm(a, b, out=c, variant=v, simd=p)
    print(f"  variants on {m}x{k}x{n} ...", file=sys.stderr)
    slow_opts = dict(timing_opts, min_repeats=2, min_seconds=0.0, warmup=1)
    for label, fn in variant_fns.items():
        row = harness.Row(f"{m}x{k}x{n} {label}", 2.0 * m * k * n, extra={"kind": "variant", "label": label})
        opts = slow_opts if label in ("naive", "blocked") else timing_opts
        row.timings = harness.time_side_by_side({"sinapse": fn}, **opts)
        rows.append(row)

    if threads > 1:
        print("  1 vs 2 threads on small shapes ...", file=sys.stderr)
        for m, k, n in THREAD_SHAPES:
            a, b, c = _inputs(m, k, n, rng)

            def with_threads(t):
                def call():
                    sinapse.set_num_threads(t)
                    sinapse.ops.gemm(a, b, out=c)

                return call

            sinapse.set_num_threads(threads)
            used = sinapse._cpu.gemm_threads(m, n, k)  # what the serial cut-off grants it
            row = harness.Row(f"{m}x{k}x{n}", 2.0 * m * k * n, extra={"kind": "threads", "threads_used": used})
            row.timings = harness.time_side_by_side(
                {"1 thread": with_threads(1), f"{threads} threads": with_threads(threads)},
                **dict(timing_opts, min_repeats=200 if not args.quick else 50),
            )
            rows.append(row)
        sinapse.set_num_threads(threads)

    env = harness.environment(threads)
    env["fma_peak_gflops"] = peaks
    env["fma_peak_method"] = peak.describe(runs=peak_runs)
    md = _markdown(rows, env, peaks, simd)
    return harness.publish("gemm", args, env, rows, md, chart=lambda p: _chart(rows, peaks, simd, p))


def _gflops(row, peer):
    return row.work / row.timings[peer].median_s / 1e9


def _gemm_config(cfg) -> str:
    """'sgemm_ukernel_avx512_12x32 KC=1024 MC=96 NC=3072, table: zen4 on zen4' (older records: the name)."""
    bk = cfg["gemm_blocking"]
    if "source" not in bk:
        return bk["ukernel"]
    arch = cfg.get("microarchitecture", {}).get("name", "?")
    return f"{bk['ukernel']} KC={bk['KC']} MC={bk['MC']} NC={bk['NC']}, {bk['source']}, CPU {arch}"


def _markdown(rows, env, peaks, simd) -> str:
    cfg = env["sinapse"]
    head = [
        f"# GEMM benchmark — {cfg['cpu']}, {env['threads']} threads",
        "",
        f"sinapse {cfg['version']} (SIMD path {simd}, {_gemm_config(cfg)}), NumPy {env['numpy']} "
        f"({env['numpy_blas']}), PyTorch {env['torch'] or 'not installed'}; {env['date']}.",
        f"{env['fma_peak_method']}: " + ", ".join(f"{p} {g:.0f} GFLOP/s" for p, g in peaks.items()) + ".",
        "Times are medians (min-max) in ms; ratio = peer time / sinapse time (> 1: sinapse is faster).",
        "",
    ]
    peers_present = [p for p in ("sinapse", "numpy", "torch") if any(p in r.timings for r in rows)]
    headers = ["M x K x N"]
    for p in peers_present:
        headers += [f"{p} ms", f"{p} GFLOP/s"]
    headers += ["sinapse % peak"] + [f"vs {p}" for p in peers_present if p != "sinapse"]
    table = []
    for r in rows:
        if r.extra["kind"] != "peers":
            continue
        line = [r.label]
        for p in peers_present:
            t = r.timings.get(p)
            line += (
                [f"{t.median_s * 1e3:.3f} ({t.min_s * 1e3:.3f}-{t.max_s * 1e3:.3f})", f"{_gflops(r, p):.1f}"]
                if t
                else ["-", "-"]
            )
        line.append(f"{100 * _gflops(r, 'sinapse') / peaks[simd]:.0f}%")
        for p in peers_present:
            if p != "sinapse" and p in r.timings:
                line.append(f"{r.timings[p].median_s / r.timings['sinapse'].median_s:.2f}x")
        table.append(line)
    out = "\n".join(head) + harness.markdown_table(headers, table)

    vrows = [r for r in rows if r.extra["kind"] == "variant"]
    if vrows:
        base = vrows[0].timings["sinapse"].median_s
        vt = []
        for r in vrows:
            t = r.timings["sinapse"]
            path = r.extra["label"].split("(")[-1].rstrip(")") if "(" in r.extra["label"] else simd
            vt.append(
                [
                    r.extra["label"],
                    f"{t.median_s * 1e3:.2f}",
                    f"{_gflops(r, 'sinapse'):.1f}",
                    f"{100 * _gflops(r, 'sinapse') / peaks[path]:.0f}% of {path}",
                    f"{base / t.median_s:.1f}x",
                ]
            )
        out += "\n\n## Variants on 512x512x512\n\n" + harness.markdown_table(
            ["variant (SIMD path)", "ms", "GFLOP/s", "% of peak", "speed-up vs naive"], vt
        )
    trows = [r for r in rows if r.extra["kind"] == "threads"]
    if trows:
        many = [p for p in trows[0].timings if p != "1 thread"][0]
        tt = [
            [
                r.label,
                f"{r.timings['1 thread'].median_s * 1e6:.1f}",
                f"{r.timings[many].median_s * 1e6:.1f}",
                f"{r.timings['1 thread'].median_s / r.timings[many].median_s:.2f}x",
                str(r.extra["threads_used"]),
            ]
            for r in trows
        ]
        out += (
            "\n\n## Small GEMMs: 1 thread vs " + many + " (ops.gemm call, Python overhead included)\n\n"
            "Threads used: what the serial cut-off (3 MFLOP per thread) grants the shape with "
            f"{many} allowed. Where it is 1, both columns run the same serial code, and their "
            "difference is the machine's noise.\n\n"
            + harness.markdown_table(
                ["M x K x N", "1 thread us", f"{many} us", "speed-up", f"threads used ({many} allowed)"], tt
            )
        )
    return out


def _chart(rows, peaks, simd, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prow = [r for r in rows if r.extra["kind"] == "peers"]
    peers = [p for p in ("sinapse", "numpy", "torch") if p in prow[0].timings]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(peers)
    for i, p in enumerate(peers):
        ax.bar([x + i * width for x in range(len(prow))], [_gflops(r, p) for r in prow], width, label=p)
    ax.axhline(peaks[simd], color="gray", linestyle="--", label=f"FMA peak ({simd})")
    ax.set_xticks([x + width * (len(peers) - 1) / 2 for x in range(len(prow))], [r.label for r in prow])
    ax.set_ylabel("GFLOP/s")
    ax.set_title("SGEMM, float32, row-major")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
