"""Facts about this machine that show_config() and the benchmarks both record."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU's model name, e.g. 'AMD EPYC 9B45' (from /proc/cpuinfo on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
