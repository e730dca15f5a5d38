"""Timing, statistics and result files shared by every suite.

Timing rules: wall-clock (time.perf_counter, never clock(), which sums CPU time over
threads); warm-up calls first (page faults, thread wake-up, caches); then repeats until
both a minimum count and a minimum time are reached; medians reported, with min and max.
The peers of one row are timed in the same run, in alternating blocks (time_side_by_side),
so a slow phase of a shared, noisy machine hits them all alike and the ratios stay fair.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Timing:
    median_s: float
    min_s: float
    max_s: float
    repeats: int


@dataclass
class Row:
    """One line of a suite's table: a piece of work and its timing in each peer."""

    label: str
    work: float  # flops (or bytes) of one call, for the throughput column
    timings: dict[str, Timing] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def time_side_by_side(
    fns: dict[str, Callable[[], object]],
    *,
    warmup: int = 2,
    min_repeats: int = 5,
    min_seconds: float = 0.5,
    max_repeats: int = 200,
    rounds: int = 2,
    settle_s: float = 1.0,
) -> dict[str, Timing]:
    """Time each callable in blocks of calls, alternating the order of the blocks (ABC, CBA, ...).

    Why blocks and not one call of each in turn: BLAS and OpenMP thread pools busy-wait
    for a while after each call (OpenBLAS and OpenMP runtimes for up to ~0.2 s). On a 2-core machine, a library
    called right after another competes with the previous one's spinning threads and runs
    several times slower. So each library gets a block of consecutive calls, after a pause
    that lets the other pools go to sleep; alternating the block order spreads slow phases
    of a shared machine over all peers. Each block starts with warm-up calls (not counted).
    """
    samples: dict[str, list[float]] = {name: [] for name in fns}
    per_block = max(1, -(-min_repeats // rounds))
    names = list(fns)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            fn = fns[name]
            time.sleep(settle_s)
            for _ in range(warmup):
                fn()
            start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
                done = len(samples[name]) - per_block * r
                if done >= max_repeats // rounds or (
                    done >= per_block and time.perf_counter() - start >= min_seconds / rounds
                ):
                    break
    return {name: Timing(statistics.median(s), min(s), max(s), len(s)) for name, s in samples.items()}


def environment(threads: int) -> dict:
    """What a result depends on: CPU, SIMD path, library versions, threads."""
    import numpy as np

    import sinapse

    env = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "platform": platform.platform(),
        "threads": threads,
        "numpy": np.__version__,
        "numpy_blas": _numpy_blas(),
        "sinapse": sinapse.config(),
    }
    try:
        import torch

        env["torch"] = torch.__version__
    except ImportError:
        env["torch"] = None
    return env


def _numpy_blas() -> str:
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_results(
    suite: str,
    env: dict,
    rows: list[Row],
    markdown: str,
    out_dir: Path = RESULTS_DIR,
    chart: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Save <suite>.json (everything), <suite>.md (the table) and, with matplotlib, <suite>.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{suite}.json", out_dir / f"{suite}.md"
    payload = {"suite": suite, "environment": env, "rows": [asdict(r) for r in rows]}
    _atomic_write(json_path, json.dumps(payload, indent=2) + "\n")
    _atomic_write(md_path, markdown + "\n")
    written = [json_path, md_path]
    if chart is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            pass
        else:
            png = out_dir / f"{suite}.png"
            chart(png)
            written.append(png)
    return written


def publish(
    suite: str, args, env: dict, rows: list[Row], markdown: str, chart: Callable[[Path], None] | None = None
) -> int:
    """The end of every suite: print the table, write the results to ``--out`` (default
    bench/results/), name the files on stderr; returns the exit code 0."""
    print(markdown)
    out_dir = Path(args.out) if args.out else RESULTS_DIR
    for path in write_results(suite, env, rows, markdown, out_dir, chart=chart):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so an interrupted run never leaves half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
