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


def cpu_title(arch: dict) -> str:
    """The CPU as every benchmark title names it: the OS's model name and the detected
    microarchitecture, e.g. 'AMD EPYC (zen4, family 25 model 17)' — cloud VMs often report
    only a family name, and a number means little without the core it ran on."""
    return f"{cpu_model()} ({arch['name']}, family {arch['family']} model {arch['model']})"


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 and n % (1024 * 1024) == 0 else f"{n // 1024} KiB"


def describe_arch(arch: dict) -> str:
    """One line for sinapse.cpu.microarchitecture(): 'zen4 (amd family 25 model 17; L1d 32 KiB ...)'."""
    c = arch["caches"]
    l3 = f", L3 {_size(c['l3']['size'])} shared by {c['l3']['shared_by']}" if c["l3"]["size"] else ""
    return (
        f"{arch['name']} ({arch['vendor']} family {arch['family']} model {arch['model']}; "
        f"L1d {_size(c['l1d']['size'])}, L2 {_size(c['l2']['size'])}{l3}; caches from {c['source']})"
    )
