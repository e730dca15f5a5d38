"""The per-kernel resource table of sinapse._cuda for sm_90 (registers, shared, local and constant bytes).

The table (python/sinapse/data/cuda_resources_sm90.json) is written by tools/cuda_resources.py from nvcc's
own build of csrc/cuda/*.cu (`-Xptxas -v` and the sm_90 cubin), keyed by the LAUNCH NAME: the first argument
of `launch("NAME", kernel, ...)`, the `name` of a profiler record. Regenerate it after changing a kernel:

    nice -n 19 python3 tools/cuda_resources.py
"""

from __future__ import annotations

import functools
import json
from importlib import resources as _resources

TABLE = "cuda_resources_sm90.json"
REGENERATE = "nice -n 19 python3 tools/cuda_resources.py"


def table_path():
    """Where the package keeps the table (an importlib.resources Traversable; it may not exist)."""
    return _resources.files("sinapse").joinpath("data").joinpath(TABLE)


@functools.cache
def table() -> dict:
    """The whole table: {"arch", "nvcc", "generated_by", "kernels": {launch name: entry}, "simulator_only"}."""
    return json.loads(table_path().read_text(encoding="utf-8"))


def kernel_names() -> list[str]:
    """Every launch name the table knows, sorted."""
    return sorted(table()["kernels"])


def kernel_resources(launch_name: str) -> dict:
    """One kernel's resources on sm_90, by its launch name (e.g. "gemm_tuned_kernel").

    Returns:
        a copy of the entry: registers (per thread), static_shared_bytes (per block, without the 1 KiB the
        system reserves), local_bytes (stack frame: local memory per thread), spill_store_bytes,
        spill_load_bytes, constant_bytes (constant banks of the kernel: parameters + 0x210 driver bytes,
        compiler constants), barriers, file, symbol (demangled); a name reaching several instantiations
        (e.g. int32/int64 ids) holds their worst case and lists them in "variants".

    Raises:
        KeyError: the name is not in the table (a new or renamed kernel, or a simulator-only mutant); the
            message names the kernel and the command that regenerates the table.
    """
    kernels = table()["kernels"]
    if launch_name not in kernels:
        where = (
            "it is a simulator-only launch (a mutant), which nvcc does not build"
            if launch_name in table().get("simulator_only", ())
            else f"regenerate the table with `{REGENERATE}` (tools/cuda_resources.py) after adding or renaming a kernel"
        )
        raise KeyError(f"kernel_resources: no sm_90 resources for the kernel '{launch_name}' in {TABLE}; {where}")
    return json.loads(json.dumps(kernels[launch_name]))
