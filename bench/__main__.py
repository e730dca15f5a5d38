"""Command line: python -m bench <suite> [--quick] [--threads N]."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from .suites import SUITES

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suite", nargs="?", choices=sorted(SUITES), help="suite to run")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and shapes (smoke run)")
    parser.add_argument("--out", default=None, help="results folder (default bench/results)")
    args = parser.parse_args(argv)
    if args.list or not args.suite:
        for name, suite in sorted(SUITES.items()):
            print(f"{name:14s} {suite.__doc__.strip().splitlines()[0]}")
        return 0
    return SUITES[args.suite].run(args)


if __name__ == "__main__":
    # Thread counts must be fixed before NumPy's BLAS and PyTorch start their pools.
    _threads = "2"
    for _i, _a in enumerate(sys.argv):
        if _a == "--threads" and _i + 1 < len(sys.argv):
            _threads = sys.argv[_i + 1]
        elif _a.startswith("--threads="):
            _threads = _a.split("=", 1)[1]
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads
    sys.exit(main())
