"""Roofline time of one profiled kernel launch on an H100/H200, and the library's time for the same work.

The model (docs/cuda_profiler_model.md; the record's keys are the profiler's, docs of sinapse.cuda.simulate(profile=True)):

    time = max(compute, dram, l2, shared) + launch overhead

- compute = the largest of three throughput bounds, on the SMs the grid occupies:
  FP32 pipe: fp32 lane operations (fma + add + mul + div + sqrt + other; one FMA = 2 FLOPs) at 128 lanes per SM
  per clock (the FP32 peak / 2), times the active-lane fraction (a diverged warp instruction still takes the
  whole 32-lane issue slot); special functions: at 16 per SM per clock (CUDA C++ Programming Guide, "Arithmetic Instructions" throughput
  table, cc 9.0: 32-bit reciprocal, rsqrt, log2, exp2, sin, cos: 16 results per clock per SM).
  Both are divided by a latency-hiding factor min(1, resident warps per SM / 16): dependent FP32
  instructions have about 4 cycles of latency since Volta (Jia et al., "Dissecting the NVIDIA Volta GPU
  Architecture via Microbenchmarking", 2018), so each of the 4 schedulers needs 4 ready warps to issue every
  cycle without instruction-level parallelism (Little's law: warps = latency x issue rate). Resident warps per
  SM = min(the occupancy calculator's warps per SM, the grid's warps spread over the SMs it uses). Without a
  resource table entry the factor is 1 (full latency hiding assumed).
- issue (reported, not in the bound): warp instructions at 4 per SM per clock (one per sub-partition scheduler).
  The record's instruction count is of the simulator's x86 build — the shared-memory views' checks and calls,
  64-bit index arithmetic, register spills: the tuned GEMM runs 19 x86 instructions per FMA in that build
  (measured, 256x128x192), where its inner loop's source has one FMA per shared-memory load pair and register
  tile element. Counted as issue, every shared-memory kernel would look issue-bound.
- dram = (dram_read_bytes + dram_write_bytes) / HBM bandwidth (the record's L2 model decides the bytes).
- l2 = (global_load_sectors + global_store_sectors) x 32 bytes / L2 bandwidth (an estimate, hardware.py).
- shared = (shared_load_wavefronts + shared_store_wavefronts) x 128 bytes / (128 bytes per clock per SM x the
  SMs used): a wavefront is one pass of the 32 banks x 4 bytes.
- SMs used = min(SM count, blocks): a grid of 8 blocks runs on 8 SMs.

Not modelled (so the estimate is a lower bound on time): memory latency when few warps are in flight (DRAM
and L2 are taken at full bandwidth whatever the occupancy), tail effects of partial waves, instruction
latencies other than FP32's, atomics, and the clock falling below boost under load.
"""

from __future__ import annotations

import math

from . import occupancy as _occupancy
from .hardware import GPU, H200

ISSUE_PER_SM_PER_CLOCK = 4  # one warp instruction per sub-partition scheduler per clock (4 per SM) [WP]
SPECIAL_PER_SM_PER_CLOCK = 16  # CUDA C++ Programming Guide, throughput table, cc 9.0 (MUFU ops)
WARPS_TO_HIDE_LATENCY = 16  # 4 schedulers x 4 cycles of dependent FP32 latency (Jia et al. 2018)
SECTOR_BYTES = 32
WAVEFRONT_BYTES = 128  # 32 banks x 4 bytes

FP32_KEYS = ("fp32_fma", "fp32_add", "fp32_mul", "fp32_div", "fp32_sqrt", "fp32_other")
REQUIRED_KEYS = (
    "name",
    "block",
    "blocks",
    "dynamic_shared_bytes",
    "global_load_sectors",
    "global_store_sectors",
    "dram_read_bytes",
    "dram_write_bytes",
    "shared_load_wavefronts",
    "shared_store_wavefronts",
    *FP32_KEYS,
    "special",
    "warp_instructions",
    "active_lane_fraction",
)


def flops_of(record: dict) -> int:
    """FLOPs of a record: 2 fp32_fma + fp32_add + fp32_mul + fp32_div + fp32_sqrt (specials not counted)."""
    return 2 * record["fp32_fma"] + record["fp32_add"] + record["fp32_mul"] + record["fp32_div"] + record["fp32_sqrt"]


def _check_record(record: dict) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise KeyError(f"estimate: the profiler record lacks {missing} (the keys of simulate(profile=True)'s records)")
    if record["blocks"] < 1:
        raise ValueError(f"estimate: record['blocks'] must be >= 1, got {record['blocks']} for {record['name']}")
    if not 0.0 < record["active_lane_fraction"] <= 1.0 and record["warp_instructions"] > 0:
        raise ValueError(
            f"estimate: record['active_lane_fraction'] must be in (0, 1], got {record['active_lane_fraction']} "
            f"for {record['name']}"
        )


def _resident_warps(record: dict, resources: dict | None, sms_used: int) -> tuple[float, dict | None]:
    """(resident warps per SM used, occupancy result or None) for the latency-hiding factor."""
    threads = math.prod(record["block"])
    warps_per_block = -(-threads // _occupancy.WARP_SIZE)
    grid_warps_per_sm = record["blocks"] * warps_per_block / sms_used
    if resources is None:
        return grid_warps_per_sm, None
    shared = resources["static_shared_bytes"] + record["dynamic_shared_bytes"]
    occ = _occupancy.occupancy(threads, resources["registers"], shared, opt_in=shared > _occupancy.SHARED_PER_BLOCK)
    return min(occ["warps_per_sm"], grid_warps_per_sm), occ


def estimate(record: dict, resources: dict | None = None, gpu: GPU = H200) -> dict:
    """Roofline time of one kernel launch from its profiler record.

    Args:
        record: one launch's profiler record (simulate(profile=True)'s keys: name, block, blocks,
            dynamic_shared_bytes, the global/shared/DRAM counters, fp32_* counts, special,
            warp_instructions, active_lane_fraction).
        resources: the kernel's sm_90 resources (resources.kernel_resources(name)) for occupancy, or None.
        gpu: a hardware.GPU (default H200 SXM).

    Returns:
        dict: time_s, bound ("compute", "dram", "l2", "shared" or "launch": the largest term),
        compute_s (with its parts fp32_s, issue_s, special_s), dram_s, l2_s, shared_s, launch_s, flops,
        dram_bytes, arithmetic_intensity (FLOPs per DRAM byte, None without DRAM traffic), achieved_flops
        (FLOPs / time_s), share_of_peak (achieved_flops / the FP32 SIMT peak), sms_used,
        resident_warps_per_sm, latency_factor, occupancy (occupancy.occupancy's dict, or None).

    Raises:
        KeyError: a record key is missing. ValueError: blocks < 1, or a lane fraction outside (0, 1].
    """
    _check_record(record)
    sms_used = min(gpu.sms, record["blocks"])
    resident, occ = _resident_warps(record, resources, sms_used)
    latency = min(1.0, resident / WARPS_TO_HIDE_LATENCY)
    clocks = gpu.boost_clock_hz * sms_used * latency  # SM-clocks per second available to the launch
    lanes = max(record["active_lane_fraction"], 1e-9)
    fp32_s = sum(record[k] for k in FP32_KEYS) / (gpu.fp32_flops / 2 / gpu.sms * sms_used * latency * lanes)
    issue_s = record["warp_instructions"] / (ISSUE_PER_SM_PER_CLOCK * clocks)
    special_s = record["special"] / (SPECIAL_PER_SM_PER_CLOCK * clocks)
    terms = {
        "compute": max(fp32_s, special_s),
        "dram": (record["dram_read_bytes"] + record["dram_write_bytes"]) / gpu.dram_bytes_per_s,
        "l2": (record["global_load_sectors"] + record["global_store_sectors"]) * SECTOR_BYTES / gpu.l2_bytes_per_s,
        "shared": (record["shared_load_wavefronts"] + record["shared_store_wavefronts"])
        * WAVEFRONT_BYTES
        / (gpu.shared_bytes_per_clock_per_sm * gpu.boost_clock_hz * sms_used),
        "launch": gpu.launch_overhead_s,
    }
    time_s = max(terms[k] for k in ("compute", "dram", "l2", "shared")) + gpu.launch_overhead_s
    flops = flops_of(record)
    dram_bytes = record["dram_read_bytes"] + record["dram_write_bytes"]
    achieved = flops / time_s
    return {
        "name": record["name"],
        "gpu": gpu.name,
        "time_s": time_s,
        "bound": max(terms, key=lambda k: terms[k]),
        "compute_s": terms["compute"],
        "fp32_s": fp32_s,
        "issue_s": issue_s,
        "special_s": special_s,
        "dram_s": terms["dram"],
        "l2_s": terms["l2"],
        "shared_s": terms["shared"],
        "launch_s": terms["launch"],
        "flops": flops,
        "dram_bytes": dram_bytes,
        "arithmetic_intensity": flops / dram_bytes if dram_bytes else None,
        "achieved_flops": achieved,
        "share_of_peak": achieved / gpu.fp32_flops,
        "sms_used": sms_used,
        "resident_warps_per_sm": resident,
        "latency_factor": latency,
        "occupancy": occ,
    }


# What the vendor libraries would reach for the same work: peak x an efficiency. These efficiencies are
# ASSUMPTIONS stated with their grounds, not H200 measurements; a measured number replaces them when a GPU run
# records one (docs/cuda_profiler_model.md).
# - cuBLAS SGEMM (FP32 on the SIMT lanes): S. Boehm, "How to Optimize a CUDA Matmul Kernel for cuBLAS-like
#   Performance" (2022) measures cuBLAS at about 23.2 of the RTX A6000's 38.7 TFLOP/s (60%) at 4096^3; the A6000's
#   GA102 SM has Hopper's 128 FP32 lanes and 64K registers. We take 0.70 for the H200 (its SM has 2.3 times the
#   shared memory of a GA102's, 228 vs 100 KB, which a GEMM uses for deeper tiles; a judgement, not a measurement).
# - TF32 on tensor cores (cuBLAS with CUBLAS_COMPUTE_32F_FAST_TF32, cuDNN's default for FP32 convolutions on
#   Hopper in PyTorch): 0.70 of the dense TF32 peak (a published cuBLASLt benchmark, 189505.xyz/?p=618, reaches
#   965.8 of the H100's 989.5 dense FP16 TFLOP/s, 97.6%; TF32 GEMMs are held back by operand bandwidth; 0.70 is
#   a conservative round figure).
# - cuDNN FP32 convolution (implicit GEMM without tensor cores): 0.60, below cuBLAS's GEMM for the im2col
#   address arithmetic.
REFERENCE_EFFICIENCY = {
    ("gemm", "fp32"): 0.70,
    ("gemm", "tf32"): 0.70,
    ("conv2d", "fp32"): 0.60,
    ("conv2d", "tf32"): 0.70,
}
REFERENCE_LIBRARY = {"gemm": "cuBLAS", "conv2d": "cuDNN"}


def _work(kind: str, shape) -> tuple[int, int]:
    """(FLOPs, minimum DRAM bytes: each operand read once and the result written once, float32)."""
    if kind == "gemm":
        if len(shape) != 3:
            raise ValueError(f"reference_time: a gemm shape is (M, N, K), got {shape!r}")
        m, n, k = (int(v) for v in shape)
        return 2 * m * n * k, 4 * (m * k + k * n + m * n)
    if kind == "conv2d":
        keys = {"N", "H", "W", "C", "K", "KH", "KW"}
        if not isinstance(shape, dict) or not keys <= shape.keys():
            raise ValueError(
                f"reference_time: a conv2d shape is a dict with {sorted(keys)} (and OH, OW, default H, W), got {shape!r}"
            )
        s = {k: int(v) for k, v in shape.items()}
        oh, ow = s.get("OH", s["H"]), s.get("OW", s["W"])
        flops = 2 * s["N"] * oh * ow * s["K"] * s["KH"] * s["KW"] * s["C"]
        return flops, 4 * (
            s["N"] * s["H"] * s["W"] * s["C"] + s["KH"] * s["KW"] * s["C"] * s["K"] + s["N"] * oh * ow * s["K"]
        )
    raise ValueError(f"reference_time: kind must be 'gemm' or 'conv2d', got {kind!r}")


def reference_time(kind: str, shape, gpu: GPU = H200, precision: str = "fp32") -> dict:
    """The time cuBLAS (kind "gemm") or cuDNN (kind "conv2d") would take for the same work on `gpu`.

    Args:
        kind: "gemm" with shape (M, N, K): C[M, N] = A[M, K] B[K, N]; or "conv2d" with shape
            {"N", "H", "W", "C", "K", "KH", "KW", optional "OH", "OW"} (NHWC input, KH x KW x C x K filter;
            the data and filter gradients have the same FLOPs).
        precision: "fp32" (SIMT lanes, what sinapse's kernels compute) or "tf32" (tensor cores).

    Returns:
        dict: time_s = max(FLOPs / (peak x efficiency), minimum bytes / HBM bandwidth) + launch overhead;
        flops, bytes, efficiency, peak_flops, library, precision.

    Raises:
        ValueError: an unknown kind or precision, or a shape of the wrong form.
    """
    if precision not in ("fp32", "tf32"):
        raise ValueError(f"reference_time: precision must be 'fp32' or 'tf32', got {precision!r}")
    flops, nbytes = _work(kind, shape)
    efficiency = REFERENCE_EFFICIENCY[(kind, precision)]
    peak = gpu.fp32_flops if precision == "fp32" else gpu.tf32_tensor_flops
    time_s = max(flops / (peak * efficiency), nbytes / gpu.dram_bytes_per_s) + gpu.launch_overhead_s
    return {
        "time_s": time_s,
        "flops": flops,
        "bytes": nbytes,
        "efficiency": efficiency,
        "peak_flops": peak,
        "library": REFERENCE_LIBRARY[kind],
        "precision": precision,
        "gpu": gpu.name,
    }
