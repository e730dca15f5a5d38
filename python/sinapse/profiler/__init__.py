"""The CUDA profiler of the SIMT simulator: what sinapse's CUDA kernels would cost a GPU,
measured on a machine without one.

    with sinapse.cuda.simulate(profile=True) as prof:
        sinapse.ops.gemm(a, b, variant="tuned")
    print(prof.table())                 # per kernel: sectors/request, bank conflicts, FLOPs, ...
    prof.records[0]["global_load_sectors"]

Counts are exact for the simulated run (csrc/cuda/sim/profiler.h says how accesses are
observed: the kernels compiled with GCC's load/store and basic-block instrumentation into
sinapse._cuda_prof). ``sinapse.profiler.roofline`` turns a record into an H200 time estimate;
``python -m bench cuda_profile`` profiles every kernel at the seed models' shapes. The model,
its assumptions and its validation status: docs/cuda_profiler.md.

Record keys (one dict per launch, in launch order):
    name, launch, grid, block, dynamic_shared_bytes, blocks, threads;
    global_{load,store}_{requests,sectors,ideal_sectors,bytes}, global_atomic_{requests,sectors}
        (requests are warp-level instructions; sectors are 32-byte; ideal = the fewest sectors
        holding the distinct bytes the lanes asked for);
    dram_read_bytes, dram_write_bytes (the L2 model of ``_record._dram``);
    shared_{load,store}_{requests,wavefronts,ideal_wavefronts}, shared_atomic_requests;
    instructions, warp_instructions, fp32_warp_instructions, fp32_fma, fp32_add, fp32_mul,
        fp32_div, fp32_sqrt, fp32_other, fp64, special, flops (2 x FMA + add + mul + div + sqrt),
        active_lane_fraction (thread instructions / (32 x warp instructions));
    local_loads, local_stores (stack traffic), unclassified_loads, unclassified_stores and
        duplicate_lane_events (diagnostics: zero for every sinapse kernel, tests check it).
"""

from __future__ import annotations

from collections.abc import Iterator

from . import _record
from ._record import derived

__all__ = ["Profile", "derived"]

_TABLE_COLUMNS = (
    ("kernel", "{name}"),
    ("launches", "{launches}"),
    ("ld sect/req", "{load_sectors_per_request:.2f}"),
    ("st sect/req", "{store_sectors_per_request:.2f}"),
    ("coalescing", "{coalescing_efficiency:.0%}"),
    ("smem wavefronts/req", "{wavefronts_per_shared_request:.2f}"),
    ("bank conflict x", "{bank_conflict_degree:.2f}"),
    ("FLOPs", "{flops:,}"),
    ("DRAM bytes", "{dram_bytes:,}"),
    ("active lanes", "{active_lane_fraction:.0%}"),
)


class Profile:
    """What ``sinapse.cuda.simulate(profile=True)`` recorded: ``records``, one dict per kernel
    launch in launch order (filled when the ``with`` block exits)."""

    def __init__(self, l2_bytes: int = _record.DEFAULT_L2_BYTES):
        self.records: list[dict] = []
        self.l2_bytes = l2_bytes

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records)

    def _fill(self, raw_records: list[dict], module_path: str | None) -> None:
        self.records = [_record.build(r, module_path, self.l2_bytes) for r in raw_records]

    def kernels(self) -> list[dict]:
        """The records summed per kernel name (first-launch order), with ``launches``; grid,
        block and launch are those of the first launch."""
        out: dict[str, dict] = {}
        for r in self.records:
            if r["name"] not in out:
                out[r["name"]] = dict(r, launches=1)
                continue
            acc = out[r["name"]]
            acc["launches"] += 1
            for k, v in r.items():
                if isinstance(v, int) and not isinstance(v, bool) and k not in ("dynamic_shared_bytes",):
                    acc[k] += v
        for acc in out.values():
            wi = acc["warp_instructions"]
            acc["active_lane_fraction"] = min(1.0, acc["instructions"] / (32 * wi)) if wi else 1.0
        return list(out.values())

    def table(self) -> str:
        """A Markdown table, one row per kernel (``kernels()``)."""
        head = "| " + " | ".join(c for c, _ in _TABLE_COLUMNS) + " |"
        rule = "|" + "|".join("---" for _ in _TABLE_COLUMNS) + "|"
        rows = [head, rule]
        for k in self.kernels():
            values = dict(k, **derived(k), dram_bytes=k["dram_read_bytes"] + k["dram_write_bytes"])
            rows.append("| " + " | ".join(fmt.format(**values) for _, fmt in _TABLE_COLUMNS) + " |")
        return "\n".join(rows)
