"""The CUDA kernels measured without a GPU: every kernel of a training step of each seed model
(and of the later lessons' layers) run in the SIMT simulator's profiler, then estimated on an
H200 by the roofline model — the baseline the fast-CUDA work improves.

Per kernel: launches, sectors per request (global loads and stores: 4 is perfect for float32),
coalescing (ideal / actual sectors), shared-memory wavefronts per request and the bank-conflict
degree (wavefronts / ideal), occupancy (sm_90 rules, nvcc's registers and shared memory), FLOPs,
DRAM bytes (the L2 model), the bound and the estimated time, and the share of the FP32 peak.
Per workload: the step's estimated time, and GEMM/convolution time beside what cuBLAS/cuDNN
would take for the same FLOPs (sinapse.profiler.roofline.reference_time's stated efficiencies).

Launches with more blocks than --sample (default 16) trace that many blocks, spread evenly, and
scale (simulate(sample_blocks=...)); distinct sectors are counted over every block. The model, its
assumptions and what validates it: docs/cuda_profiler.md. No GPU is used.
"""

from __future__ import annotations

import math
import sys
import time

import sinapse
from sinapse.profiler import derived, resources, roofline
from sinapse.profiler.hardware import H200

from .. import harness
from . import _cuda_workloads as work

SAMPLE_BLOCKS = 16


def _resources(name: str):
    try:
        return resources.kernel_resources(name)
    except KeyError:
        return None


def _pct(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def _num(x: float, fmt: str = "{:.2f}") -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def _profile(build, sample: int):
    step = build()
    step()  # build the layers and the optimizer's slots outside the profile (on the CPU)
    with sinapse.cuda.simulate(profile=True, sample_blocks=sample) as prof:
        step()
    return prof


# What the results keep of each kernel's summed record (the table's inputs).
KEPT = (
    "name", "launches", "grid", "block", "blocks", "threads", "sampled_blocks",
    "global_load_requests", "global_load_sectors", "global_store_requests", "global_store_sectors",
    "shared_load_requests", "shared_load_wavefronts", "shared_store_requests", "shared_store_wavefronts",
    "dram_read_bytes", "dram_write_bytes", "flops", "fp32_fma", "special", "active_lane_fraction",
    "local_loads", "local_stores",
)  # fmt: skip


def _kernel_rows(prof) -> list[dict]:
    """One row per kernel: its records summed, the ratios, and the estimate summed over its launches
    (bound and occupancy: those of its longest launch)."""
    rows = []
    for k in prof.kernels():
        est_total, longest = 0.0, None
        for r in (rec for rec in prof.records if rec["name"] == k["name"]):
            e = roofline.estimate(r, _resources(r["name"]), H200)
            est_total += e["time_s"]
            if longest is None or e["time_s"] > longest["time_s"]:
                longest = e
        occ = longest["occupancy"]
        kept = {key: k[key] for key in KEPT}
        rows.append(
            dict(kept, **derived(k), est_s=est_total, occupancy=occ and occ["occupancy"], bound=longest["bound"])
        )
    return rows


def _summary(rows) -> str:
    """One line per workload: the step's estimate, the kernel that dominates it, GEMM/conv vs the libraries."""
    table = []
    for row in rows:
        e = row.extra
        kernels = sorted(e["kernels"], key=lambda r: -r["est_s"])
        top = kernels[0]
        step = e["estimated_step_s"]
        lib = e["library_s"]
        table.append(
            [
                row.label,
                f"{step * 1e6:,.0f}",
                str(sum(k["launches"] for k in kernels)),
                f"`{top['name']}` {top['est_s'] / step:.0%} ({top['bound']})",
                f"{e['gemm_conv_s'] / lib:.1f}x" if lib else "—",
                f"{row.work / step / H200.fp32_flops:.2%}" if step else "—",
            ]
        )
    headers = ["workload", "est. H200 µs", "launches", "largest kernel (share, bound)"]
    return harness.markdown_table(headers + ["GEMM+conv vs cuBLAS/cuDNN", "step % FP32 peak"], table)


def _reference_s(rows) -> tuple[float, float]:
    """(our estimated time, cuBLAS/cuDNN's for the same FLOPs) over the GEMM and convolution kernels."""
    ours = lib = 0.0
    for r in rows:
        kind = "gemm" if r["name"].startswith("gemm") else "conv2d" if r["name"].startswith("conv2d") else None
        if kind is None or r["flops"] == 0:
            continue
        ours += r["est_s"]
        eff = roofline.REFERENCE_EFFICIENCY[(kind, "fp32")]
        lib += r["flops"] / (H200.fp32_flops * eff) + r["launches"] * H200.launch_overhead_s
    return ours, lib


HEADERS = [
    "kernel",
    "launches",
    "ld sect/req",
    "st sect/req",
    "coalescing",
    "smem wf/req",
    "bank conflict",
    "occupancy",
    "active lanes",
    "MFLOP",
    "DRAM MB",
    "bound",
    "est. µs",
    "% FP32 peak",
]


def _table_row(r) -> list[str]:
    share = r["flops"] / r["est_s"] / H200.fp32_flops if r["est_s"] else float("nan")
    return [
        f"`{r['name']}`",
        str(r["launches"]),
        _num(r["load_sectors_per_request"]),
        _num(r["store_sectors_per_request"]),
        _pct(r["coalescing_efficiency"]),
        _num(r["wavefronts_per_shared_request"]),
        _num(r["bank_conflict_degree"], "{:.2f}x"),
        _pct(r["occupancy"]),
        _pct(r["active_lane_fraction"]),
        f"{r['flops'] / 1e6:,.1f}",
        f"{(r['dram_read_bytes'] + r['dram_write_bytes']) / 1e6:,.2f}",
        r["bound"],
        f"{r['est_s'] * 1e6:,.1f}",
        _pct(share),
    ]


def _workload_section(name, about, rows, seconds) -> tuple[str, harness.Row]:
    total = sum(r["est_s"] for r in rows)
    ours, lib = _reference_s(rows)
    lines = [
        f"### {name}: {about}",
        "",
        f"Estimated H200 step: **{total * 1e6:,.0f} µs** over {sum(r['launches'] for r in rows)} launches; "
        f"GEMM + convolution kernels {ours * 1e6:,.0f} µs vs {lib * 1e6:,.0f} µs for cuBLAS/cuDNN doing the "
        f"same FLOPs ({ours / lib:.1f}x)."
        if lib
        else f"Estimated H200 step: **{total * 1e6:,.0f} µs**.",
        f"(profiled in {seconds:.0f} s on this CPU)",
        "",
        harness.markdown_table(HEADERS, [_table_row(r) for r in sorted(rows, key=lambda r: -r["est_s"])]),
        "",
    ]
    row = harness.Row(
        name,
        sum(r["flops"] for r in rows),
        extra={"about": about, "estimated_step_s": total, "gemm_conv_s": ours, "library_s": lib, "kernels": rows},
    )
    return "\n".join(lines), row


def run(args) -> int:
    if not sinapse.cuda.simulator_built():
        print("bench cuda_profile needs the CUDA simulator (SINAPSE_CUDA_SIM=ON)", file=sys.stderr)
        return 2
    sample = 4 if args.quick else SAMPLE_BLOCKS
    workloads = work.WORKLOADS[:2] if args.quick else work.WORKLOADS
    sections, rows, seen = [], [], set()
    for suffix, variants, names in work.PASSES:
        for name, about, build in workloads:
            if names is not None and name not in names:
                continue
            label = name + suffix
            start = time.perf_counter()
            with variants():
                prof = _profile(build, sample)
            kernel_rows = _kernel_rows(prof)
            seen.update(r["name"] for r in kernel_rows)
            text, row = _workload_section(label, about, kernel_rows, time.perf_counter() - start)
            sections.append(text)
            rows.append(row)
            print(f"profiled {label}: {len(prof.records)} launches", file=sys.stderr, flush=True)
    summary = _summary(rows)
    missing = sorted(set(resources.kernel_names()) - seen)
    env = harness.environment(threads=args.threads)
    env.update(gpu_model=H200.name, sample_blocks=sample, kernels_not_run=missing)
    head = [
        "# CUDA kernels profiled in the simulator, estimated on an H200",
        "",
        f"CPU that ran the simulator: {env['sinapse'].get('cpu', '?')}, {args.threads} threads. GPU model: {H200.name} "
        f"({H200.fp32_flops / 1e12:.1f} TFLOP/s FP32, {H200.dram_bytes_per_s / 1e12:.1f} TB/s HBM3e). "
        f"Blocks traced per launch: at most {sample}.",
        "Kernels of the resource table not run by these workloads: "
        + (", ".join(f"`{m}`" for m in missing) or "none")
        + ".",
        "",
        "## What the profile says (one training step each)",
        "",
        summary,
        "",
        "## Per workload, per kernel",
        "",
    ]
    return harness.publish("cuda_profile", args, env, rows, "\n".join(head + sections))
