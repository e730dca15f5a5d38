"""The CUDA simulator's launch limits: the registers table it checks launches against.

The simulator refuses every launch a real sm_90 GPU would refuse (csrc/cuda/sim/scheduler.cpp,
``check_launch``). Registers per thread are the one limit it cannot see in the kernel source:
they come from nvcc's resource table, ``sinapse/data/cuda_resources_sm90.json``
({"arch": "sm_90", "kernels": {launch name: {"registers": int, ...}}}), handed to the simulator
once, at the first ``sinapse.cuda.simulate()``. Without the file (a checkout where nobody ran
tools/cuda_resources.py yet) registers are simply not checked.
"""

from __future__ import annotations

import functools
import json
from types import ModuleType

from .profiler import resources as _table

RESOURCE_TABLE = _table.TABLE


@functools.cache
def kernel_registers() -> dict[str, int]:
    """Registers per thread of each kernel, by launch name, from the packaged sm_90 table.

    Returns an empty dict when the table is not there. Raises ValueError naming the file when
    it exists but is not a table for sm_90 (a broken file must not silently disable the check).
    """
    path = _table.table_path()  # the profiler's reader knows where the package keeps it
    if not path.is_file():
        return {}
    try:
        table = json.loads(path.read_text())
        if table.get("arch") != "sm_90":
            raise ValueError(f"arch is {table.get('arch')!r}, expected 'sm_90'")
        return {str(name): int(entry["registers"]) for name, entry in table["kernels"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"sinapse/data/{RESOURCE_TABLE}: not a resource table of sm_90 kernels: {exc}") from None


@functools.cache
def configure_simulator(module: ModuleType) -> None:
    """Gives the simulator module the registers table (once per process)."""
    module.set_kernel_registers(kernel_registers())
