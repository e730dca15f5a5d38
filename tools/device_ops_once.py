"""Run every public op of sinapse.ops on the device a few times, checked against the CPU: the
short workload tools/device_check.sh runs under compute-sanitizer (memcheck, racecheck, ...).

    python3 tools/device_ops_once.py                 # CuPy arrays on the GPU
    python3 tools/device_ops_once.py --sim           # the CUDA simulator instead (no GPU needed)
    python3 tools/device_ops_once.py --examples 3 gemm conv2d

The cases and checks are tests/device_parity.py's (valid calls from the fuzz specs, results
compared with the CPU's, non-contiguous and mixed-device arrays refused). Exit status: 0 when
every op agrees, 1 when any disagrees (each problem printed), 2 when the device is unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

import sinapse  # noqa: E402
from device_parity import HOST_ONLY, Device, check_op  # noqa: E402
from fuzz.specs import SPECS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ops", nargs="*", help="ops to run (default: every public op with device arrays)")
    parser.add_argument("--sim", action="store_true", help="run on the CUDA simulator instead of the GPU")
    parser.add_argument("--pool", action="store_true", help="keep CuPy's memory pool (default: off, for memcheck)")
    parser.add_argument("--examples", type=int, default=2, help="cases per op that run on both sides (default 2)")
    args = parser.parse_args(argv)

    print(f"sinapse from {os.path.dirname(sinapse.__file__)}; CUDA build {sinapse.cuda.build_info() or 'none'}")
    if not args.sim and not sinapse.cuda.is_available():
        print(f"device_ops_once: CUDA is not usable here: {sinapse.cuda.why_unavailable()}", file=sys.stderr)
        return 2
    device = Device("cuda_sim" if args.sim else "cuda")
    if not args.sim and not args.pool:
        # Every array its own cudaMalloc: compute-sanitizer's memcheck then sees an access just
        # past an array's end, which inside a CuPy pool block lands unnoticed in another array.
        device.xp.cuda.set_allocator(None)
    names = args.ops or [n for n in SPECS if n not in HOST_ONLY]
    failed, start = 0, time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        counts, problems = check_op(name, device, args.examples)
        failed += bool(problems)
        summary = " ".join(f"{k}={v}" for k, v in counts.items())
        print(f"{'FAIL' if problems else 'ok  '} {name:24s} {summary}  ({time.perf_counter() - t0:.2f} s)", flush=True)
        for p in problems[:5]:
            print("     ", p)
    print(
        f"device_ops_once: {len(names) - failed} of {len(names)} ops agree on {device.name} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
