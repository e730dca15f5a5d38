"""sinapse benchmarks: the same work in sinapse, NumPy and PyTorch, side by side in one process.

    python -m bench gemm            # full suite, writes bench/results/gemm.{json,md,png}
    python -m bench gemm --quick    # fewer repeats, for a smoke run
    python -m bench --list

Suites register in bench/suites/__init__.py; each returns rows for bench/harness.py to
time, tabulate and save. Ops and variants come from sinapse.registry.
"""
