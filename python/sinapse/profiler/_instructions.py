"""What each basic block of sinapse._cuda_prof's kernels computes, read from its machine code.

The profiler counts how often each warp executes each basic block, and with how many lanes
(csrc/cuda/sim/profiler.h). What a block computes is static: this module disassembles the module
once (``objdump -d``, binutils) and classifies the instructions from each coverage call (the
start of a basic block) to the next one, or to an unconditional jump or return:

- ``fp32_fma``: ``vfmadd/vfmsub/vfnmadd/vfnmsub ..ss`` (the module is built with ``-mfma
  -ffp-contract=fast``, so ``a * b + c`` is one FMA, as nvcc contracts it into FFMA);
- ``fp32_add`` (add and subtract), ``fp32_mul``, ``fp32_div``, ``fp32_sqrt``;
- ``fp32_other``: min, max, compare, convert and round of floats;
- ``fp64``: the same operations on doubles;
- ``special``: calls to libm (expf, logf, tanhf, powf, ...): a GPU computes them with its special
  function units plus a few FP32 instructions;
- ``instructions``: every x86 instruction but the instrumentation's (the coverage and TSan calls,
  the register moves that set up their argument, and the calls that read threadIdx & co.).

The module has no vectorised loops (``-fno-tree-vectorize``): one scalar x86 instruction is one
CUDA thread's operation. Packed instructions that remain (copies of float4 values) count each
lane. ``instructions`` is an x86 count — a proxy for the SASS count, not that count (address
arithmetic differs between the two instruction sets).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

import numpy as np

#: The columns of a block's static counts, in the order of ``block_table``'s rows.
COLUMNS = ("instructions", "fp32_fma", "fp32_add", "fp32_mul", "fp32_div", "fp32_sqrt", "fp32_other", "fp64", "special")

_LINE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
_FMA = re.compile(r"^vf(n)?m(add|sub)(sub|add)?(132|213|231)(s|p)(s|d)$")
_ARITH = re.compile(r"^v?(add|sub|mul|div|sqrt|rsqrt|rcp|min|max|round|comi|ucomi|cmp\w*)(s|p)(s|d)$")
_CONVERT = re.compile(r"^v?cvt\w*$")
_SPECIAL = re.compile(
    r"<(expf|exp2f|expm1f|logf|log2f|log10f|log1pf|tanhf|powf|sinf|cosf|erff|erfcf|atan2f|"
    r"exp|exp2|expm1|log|log2|log10|log1p|tanh|pow|sin|cos|erf|erfc)(@plt)?>"
)
_INSTRUMENTATION = re.compile(r"<(__sanitizer_cov_trace_pc|__tsan_\w+|sinapse::sim::current\(\))(@plt)?>")
_KIND = {"add": 2, "sub": 2, "mul": 3, "div": 4, "sqrt": 5, "rsqrt": 5, "rcp": 4}


def _lanes(mnemonic_kind: str, operands: str) -> int:
    if mnemonic_kind == "s":
        return 1
    width = 16 if "%zmm" in operands else 8 if "%ymm" in operands else 4
    return width


def _classify(mnemonic: str, operands: str, counts: list[int]) -> None:
    m = _FMA.match(mnemonic)
    if m:
        lanes = _lanes(m.group(5), operands) // (2 if m.group(6) == "d" else 1)
        counts[7 if m.group(6) == "d" else 1] += lanes
        return
    m = _ARITH.match(mnemonic)
    if m:
        op, scalar, precision = m.group(1), m.group(2), m.group(3)
        lanes = _lanes(scalar, operands) // (2 if precision == "d" else 1)
        counts[7 if precision == "d" else _KIND.get(op, 6)] += lanes
    elif _CONVERT.match(mnemonic):
        counts[6] += 1


def parse_disassembly(lines) -> dict[int, tuple[int, ...]]:
    """Static counts (``COLUMNS``) of every basic block, keyed by the address the coverage call
    returns to, from ``objdump -d --no-show-raw-insn -C`` output lines."""
    table: dict[int, tuple[int, ...]] = {}
    current: list[int] | None = None
    start: int | None = None
    setup = 0  # argument-setting moves right before an instrumentation call: not the kernel's
    for raw in lines:
        m = _LINE.match(raw)
        if not m:
            continue
        address, mnemonic, operands = int(m.group(1), 16), m.group(2), m.group(3)
        if current is not None and start is None:
            start = address  # the coverage call's return address
        if mnemonic.startswith("call") and _INSTRUMENTATION.search(operands):
            if current is not None:
                current[0] -= setup
            setup = 0
            if "__sanitizer_cov_trace_pc" in operands:
                if current is not None and start is not None:
                    table[start] = tuple(current)
                current, start = [0] * len(COLUMNS), None
            continue
        if current is None:
            continue
        current[0] += 1
        setup = setup + 1 if re.match(r"^(mov|lea)\w*$", mnemonic) and operands.endswith(",%rdi") else 0
        if mnemonic.startswith("call") and _SPECIAL.search(operands):
            current[8] += 1
        else:
            _classify(mnemonic, operands, current)
        if mnemonic.startswith(("jmp", "ret")):
            table[start] = tuple(current)  # type: ignore[index]
            current, start = None, None
    if current is not None and start is not None:
        table[start] = tuple(current)
    return table


@functools.cache
def _table_for(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    objdump = shutil.which("objdump")
    if objdump is None:
        raise RuntimeError(
            "sinapse.profiler: counting FP32 operations needs objdump (binutils), which is not on PATH; "
            "memory counts do not (apt-get install binutils)"
        )
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-C", path], capture_output=True, text=True, check=True)
    table = parse_disassembly(out.stdout.splitlines())
    keys = np.array(sorted(table), dtype=np.uint64)
    values = np.array([table[int(k)] for k in keys], dtype=np.int64).reshape(len(keys), len(COLUMNS))
    return keys, values


def block_table(module_path: str) -> tuple[np.ndarray, np.ndarray]:
    """(sorted block start offsets, their static counts as rows of ``COLUMNS``) of a module."""
    st = os.stat(module_path)
    return _table_for(module_path, st.st_mtime_ns, st.st_size)
