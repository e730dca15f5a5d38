"""The run loop shared by the single-op suites (axpy, activation, bias, dropout, embedding,
losses): each times a list of cases, sinapse beside PyTorch when torch is installed (else
sinapse alone), and tabulates time, bandwidth and the ratio.

These ops are memory-bound, so a case's work is the bytes one call must move at least (each
input read once, each output written once), and the table's GB/s is that over the median.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable

import sinapse

from .. import harness


@dataclass
class Case:
    label: str  # what is computed, with its shape
    kind: str  # "forward", "backward" or "forward+backward"
    bytes: float  # the least memory traffic of one call
    sinapse: Callable[[], object]
    torch: Callable[[], object] | None = None  # the same work in PyTorch, when it is installed


def use_threads(threads: int):
    """Run sinapse, and PyTorch when it is installed, on ``threads`` threads. Returns torch, or
    None when it is not installed (the suites then time sinapse alone). Every suite comparing
    with PyTorch starts with it."""
    sinapse.set_num_threads(threads)
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def run(suite: str, title: str, args, make_cases: Callable[[object, bool], list[Case]]) -> int:
    """Time ``make_cases(torch_or_None, quick)`` on ``args.threads`` threads, print and save
    the table (bench/results/<suite>.md and .json); returns the exit code 0."""
    rows, env = time_cases(args, make_cases)
    return harness.publish(suite, args, env, rows, _markdown(suite, title, env, args.threads, rows))


def time_cases(args, make_cases: Callable[[object, bool], list[Case]]) -> tuple[list[harness.Row], dict]:
    """(rows, environment): each case of ``make_cases(torch_or_None, quick)`` timed side by side on
    ``args.threads`` threads (what ``run`` tabulates; suites adding rows of their own call it)."""
    threads = args.threads
    torch = use_threads(threads)
    opts = dict(min_repeats=3, min_seconds=0.1) if args.quick else dict(min_repeats=10, min_seconds=0.5)
    rows = []
    for case in make_cases(torch, args.quick):
        print(f"  {case.label} {case.kind} ...", file=sys.stderr)
        fns = {"sinapse": case.sinapse, **({"torch": case.torch} if case.torch is not None else {})}
        row = harness.Row(case.label, case.bytes, extra={"pass": case.kind})
        row.timings = harness.time_side_by_side(fns, **opts)
        rows.append(row)
    env = harness.environment(threads)
    env["load_average"] = list(os.getloadavg())  # 1, 5, 15 min: how busy a shared machine was
    return rows, env


def _markdown(suite: str, title: str, env: dict, threads: int, rows: list[harness.Row]) -> str:
    table = []
    for r in rows:
        s = r.timings["sinapse"].median_s
        t = r.timings["torch"].median_s if "torch" in r.timings else None
        table.append(
            [
                r.label,
                r.extra["pass"],
                f"{s * 1e6:.1f}",
                f"{r.work / s / 1e9:.1f}",
                f"{t * 1e6:.1f}" if t else "-",
                f"{s / t:.2f}x" if t else "-",
            ]
        )
    torch = env["torch"] or "not installed: sinapse alone"
    return (
        f"# {title} — {env['sinapse']['cpu']}, {threads} threads\n\n"
        f"sinapse {env['sinapse']['version']}, PyTorch {torch}; {env['date']}. Medians in µs; GB/s = the "
        "bytes one call must move (inputs read once, outputs written once) / time; ratio = sinapse time / "
        f"PyTorch time (< 1: sinapse is faster). Load average (1, 5, 15 min) at the end: "
        f"{', '.join(f'{v:.1f}' for v in env['load_average'])}. Command: `python -m bench {suite}`.\n\n"
        + harness.markdown_table(["case", "pass", "sinapse µs", "sinapse GB/s", "torch µs", "sinapse / torch"], table)
    )
