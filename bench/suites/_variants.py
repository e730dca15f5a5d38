"""Kernel variants side by side, the llm.c ``dev/cuda`` way: every variant of an op (the
registry's list, simplest first) timed on the same work in the same run, in alternating
blocks (harness.time_side_by_side), so the ratios are fair on a shared machine.

A suite gives ``cases``: (label, pass, bytes moved, make) where ``make(variant)`` returns the
callable to time. The table has one median per variant and each variant's time over the
default (tuned) one's.
"""

from __future__ import annotations

import sys
from typing import Callable

import sinapse
from sinapse.registry import op_info

from .. import harness

Case = tuple[str, str, float, Callable[[str], Callable[[], object]]]


def time_cases(op: str, cases: list[Case], opts: dict) -> list[harness.Row]:
    rows = []
    for label, kind, work, make in cases:
        print(f"  {op} {label} {kind} ...", file=sys.stderr)
        row = harness.Row(label, work, extra={"op": op, "pass": kind})
        row.timings = harness.time_side_by_side({v: make(v) for v in op_info(op).variants}, **opts)
        rows.append(row)
    return rows


def table(op: str, rows: list[harness.Row]) -> str:
    """Medians in ms per variant, GB/s of the default variant, and time / default per variant."""
    variants, default = op_info(op).variants, op_info(op).default_variant
    lines = []
    for r in rows:
        base = r.timings[default].median_s
        lines.append(
            [r.label, r.extra["pass"]]
            + [f"{r.timings[v].median_s * 1e3:.3f}" for v in variants]
            + [f"{r.work / base / 1e9:.1f}"]
            + [f"{r.timings[v].median_s / base:.1f}x" for v in variants if v != default]
        )
    headers = (
        ["shape", "pass"]
        + [f"{v} ms" for v in variants]
        + [f"{default} GB/s"]
        + [f"{v} / {default}" for v in variants if v != default]
    )
    return harness.markdown_table(headers, lines)


def run(suite: str, op: str, args, cases: list[Case], about: str) -> int:
    """Time every case in every variant and publish ``suite`` (bench/results/<suite>.md/.json)."""
    sinapse.set_num_threads(args.threads)
    opts = dict(min_repeats=3, min_seconds=0.2) if args.quick else dict(min_repeats=7, min_seconds=0.5)
    rows = time_cases(op, cases, opts)
    env = harness.environment(args.threads)
    md = (
        f"# {op} kernel variants — {env['sinapse']['cpu']}, {args.threads} threads\n\n"
        f"sinapse {env['sinapse']['version']}; {env['date']}. {about} Medians in ms; GB/s = the bytes the "
        "op must move (inputs read once, outputs written once) / the default variant's time.\n\n" + table(op, rows)
    )
    return harness.publish(suite, args, env, rows, md)
