"""One profiled launch: sinapse._cuda_prof's raw counts turned into the record the rest of the
profiler reads (docs/cuda_profiler.md lists every key).

Raw counts come from the simulator (csrc/cuda/sim/profiler.h): warp-level memory requests with
their sectors and wavefronts, the distinct sectors of the launch, and each basic block's
executions by warps and by lanes. This module adds what the basic blocks compute (their static
counts, ``_instructions``) and the DRAM traffic under the L2 model below.
"""

from __future__ import annotations

import numpy as np

from . import _instructions

#: The DRAM model's L2: the H100 SXM5 / H200 SXM L2 cache, 50 MB (NVIDIA H100 Tensor Core GPU
#: Architecture whitepaper, 2022, "H100 SXM5 ... 50 MB L2"; the full GH100 die has 60 MB).
DEFAULT_L2_BYTES = 50 * 1000**2

_SUMMED = (
    "global_load_requests",
    "global_load_sectors",
    "global_load_ideal_sectors",
    "global_load_bytes",
    "global_store_requests",
    "global_store_sectors",
    "global_store_ideal_sectors",
    "global_store_bytes",
    "global_atomic_requests",
    "global_atomic_sectors",
    "shared_load_requests",
    "shared_load_wavefronts",
    "shared_load_ideal_wavefronts",
    "shared_store_requests",
    "shared_store_wavefronts",
    "shared_store_ideal_wavefronts",
    "shared_atomic_requests",
    "local_loads",
    "local_stores",
    "unclassified_loads",
    "unclassified_stores",
    "duplicate_lane_events",
)


def _dram(raw: dict, l2_bytes: int) -> tuple[int, int]:
    """(read, write) bytes between L2 and DRAM. When the launch's distinct footprint fits in
    L2, each distinct sector moves once (reads miss once, writes are written back once);
    otherwise every sector a request touches is assumed to miss (an upper bound)."""
    distinct = (raw["distinct_load_sectors"] + raw["distinct_store_sectors"]) * 32
    if distinct <= l2_bytes:
        return raw["distinct_load_sectors"] * 32, raw["distinct_store_sectors"] * 32
    reads = raw["global_load_sectors"] + raw["global_atomic_sectors"]
    return reads * 32, (raw["global_store_sectors"] + raw["global_atomic_sectors"]) * 32


def _compute(raw: dict, module_path: str | None) -> dict:
    """Lane- and warp-level operation counts from the basic blocks' executions."""
    bbs = raw["basic_blocks"]
    out = {name: 0 for name in _instructions.COLUMNS}
    out.update(warp_instructions=0, fp32_warp_instructions=0, computed=module_path is not None)
    if module_path is None or len(bbs) == 0:
        return out
    keys, values = _instructions.block_table(module_path)
    offsets = bbs[:, 0].astype(np.uint64)
    idx = np.searchsorted(keys, offsets)
    found = (idx < len(keys)) & (keys[np.minimum(idx, len(keys) - 1)] == offsets)
    static = np.zeros((len(bbs), len(_instructions.COLUMNS)), dtype=np.int64)
    static[found] = values[idx[found]]
    warp = bbs[:, 1].astype(np.float64)
    lane = bbs[:, 2].astype(np.float64)
    totals = lane @ static
    for i, name in enumerate(_instructions.COLUMNS):
        out[name] = int(round(totals[i]))
    out["warp_instructions"] = int(round(warp @ static[:, 0]))
    out["fp32_warp_instructions"] = int(round(warp @ static[:, 1:7].sum(axis=1)))
    out["unknown_blocks"] = int((~found).sum())
    return out


def build(raw: dict, module_path: str | None, l2_bytes: int = DEFAULT_L2_BYTES) -> dict:
    """The record of one launch (``module_path``: the profiling module, for the static counts;
    None skips them)."""
    gx, gy, gz = raw["grid"]
    bx, by, bz = raw["block"]
    blocks, per_block = gx * gy * gz, bx * by * bz
    # Traced blocks stand for the whole grid (the C++ side already scaled the distinct sectors).
    sampled = raw.get("sampled_blocks", blocks) or blocks
    scale = blocks / sampled
    rec = {k: round(raw[k] * scale) for k in _SUMMED}
    if scale != 1:
        # block executions stay fractional until summed (rounding each could break lanes <= 32 x warps)
        raw = dict(raw, basic_blocks=raw["basic_blocks"] * np.array([1.0, scale, scale]))
        raw.update({k: rec[k] for k in _SUMMED})
    rec["sampled_blocks"] = sampled
    rec.update(
        name=raw["name"],
        launch=raw["launch"],
        grid=tuple(raw["grid"]),
        block=tuple(raw["block"]),
        dynamic_shared_bytes=raw["dynamic_shared_bytes"],
        blocks=blocks,
        threads=blocks * per_block,
    )
    rec["dram_read_bytes"], rec["dram_write_bytes"] = _dram(raw, l2_bytes)
    rec.update(_compute(raw, module_path))
    rec["flops"] = 2 * rec["fp32_fma"] + rec["fp32_add"] + rec["fp32_mul"] + rec["fp32_div"] + rec["fp32_sqrt"]
    wi = rec["warp_instructions"]
    rec["active_lane_fraction"] = min(1.0, rec["instructions"] / (32 * wi)) if wi else 1.0
    return rec


def ratio(num: float, den: float) -> float:
    """num / den, or nan when there is nothing to divide (no requests of that kind)."""
    return num / den if den else float("nan")


def derived(rec: dict) -> dict:
    """The ratios a profile table shows: sectors per request (loads, stores), coalescing
    efficiency (ideal / actual sectors), bank-conflict degree (wavefronts / ideal wavefronts)."""
    gl = rec["global_load_sectors"]
    gs = rec["global_store_sectors"]
    shared_w = rec["shared_load_wavefronts"] + rec["shared_store_wavefronts"]
    shared_ideal = rec["shared_load_ideal_wavefronts"] + rec["shared_store_ideal_wavefronts"]
    return {
        "load_sectors_per_request": ratio(gl, rec["global_load_requests"]),
        "store_sectors_per_request": ratio(gs, rec["global_store_requests"]),
        "coalescing_efficiency": ratio(rec["global_load_ideal_sectors"] + rec["global_store_ideal_sectors"], gl + gs),
        "bank_conflict_degree": ratio(shared_w, shared_ideal),
        "wavefronts_per_shared_request": ratio(shared_w, rec["shared_load_requests"] + rec["shared_store_requests"]),
    }
