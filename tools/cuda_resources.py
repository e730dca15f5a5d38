"""Per-kernel resource table of sinapse._cuda for sm_90, from nvcc's own build of csrc/cuda/*.cu.

    nice -n 19 python3 tools/cuda_resources.py            # writes python/sinapse/data/cuda_resources_sm90.json
    python3 tools/cuda_resources.py --out /tmp/x.json     # elsewhere

How (nothing here needs a GPU; cuobjdump is not required):
1. CMake is configured in a temporary folder with SINAPSE_CUDA=ON, SINAPSE_CUDA_ARCHS=90 and
   CMAKE_EXPORT_COMPILE_COMMANDS=ON, so each .cu file is compiled with exactly the flags CMakeLists.txt
   gives sinapse._cuda (defines, include folders, -O3, the exact-maths flags, --generate-code for sm_90);
   only the SINAPSE_CUDA_ARCHS define string differs ("90" for "80,90"), which no kernel reads.
2. Each file is compiled, one at a time, with that command plus `-Xptxas -v -keep`: ptxas prints per entry
   function the registers, barriers, static shared memory ("smem") and the stack frame / spill bytes
   (local memory); the kept sm_90 cubin (an ELF file) gives the sizes of the kernel's constant banks
   (.nv.constant0.<symbol>: the 0x210 bytes the driver reserves plus the parameters; .nv.constant2.<symbol>:
   the compiler's constants), which ptxas 13 no longer prints.
3. The symbols are demangled with c++filt and matched to the LAUNCH NAMES, the first argument of each
   `launch("NAME", kernel, ...)` in csrc/cuda/*.cu (comments and SINAPSE_SIM-only code removed by the C
   preprocessor first). A kernel expression's template arguments select the instantiation
   (`forward_kernel<false>`); an argument that is a template parameter of the enclosing function is bound
   from that function's call sites in the file (explicit arguments, then defaults) or, when deduced, matches
   every compiled instantiation. A name passed through a helper (`launch(name, ...)` inside
   `launch_tiled(const char* name, ...)`) is taken from the helper's call sites; a name computed by a
   function (`kernel_name(a.kind)`: `case Kind::adam: return "adam_update_kernel";`) maps each case to the
   instantiations whose template arguments carry that enumerator. The macros the file's own headers define
   are expanded first (SINAPSE_MUTANT(kernel, "name", broken, ...) is `kernel` for nvcc).

The tool fails (exit status 1, the launch named) when a launch matches no compiled kernel. One launch name
may reach several instantiations (e.g. an int32 and an int64 index variant): its entry then lists them in
"variants" and its top-level numbers are the worst case (the most registers, shared and local bytes), the
occupancy-limiting choice. Launches that exist only in the simulator build (the mutants) are listed under
"simulator_only". Needs cmake, ninja, pybind11, nvcc and c++filt (the CUDA build's own requirements).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cuda_launches import demangled_parts, fail, file_launch_sites, matches  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE_PATH = ("python", "sinapse", "data", "cuda_resources_sm90.json")  # under the checkout
RESOURCE_KEYS = (
    "registers",
    "static_shared_bytes",
    "local_bytes",
    "spill_store_bytes",
    "spill_load_bytes",
    "constant_bytes",
)


# ----------------------------------------------------------------------------------------- compiling
def compile_commands(build: str) -> dict[str, str]:
    """{absolute .cu path: nvcc command} from a CMake configure of this checkout for sm_90."""
    import pybind11

    cmd = [
        "cmake",
        ROOT,
        "-G",
        "Ninja",
        "-DSINAPSE_CUDA=ON",
        "-DSINAPSE_CUDA_SIM=OFF",
        "-DSINAPSE_CUDA_ARCHS=90",
        "-DCMAKE_BUILD_TYPE=Release",
        "-DSKBUILD_PROJECT_VERSION=0.0.0",
        f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
        "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
        "-DCMAKE_CUDA_COMPILER_LAUNCHER=",
        "-DCMAKE_CXX_COMPILER_LAUNCHER=",
    ]
    done = subprocess.run(cmd, cwd=build, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"CMake configure failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    with open(os.path.join(build, "compile_commands.json")) as f:
        return {os.path.realpath(e["file"]): e["command"] for e in json.load(f) if e["file"].endswith(".cu")}


def compile_with_ptxas_info(command: str, keep: str) -> str:
    """Run one CMake nvcc command with -Xptxas -v and the intermediates kept in `keep`; ptxas's report."""
    args = shlex.split(command)
    out = args.index("-o")
    args[out + 1] = os.path.join(keep, "kernels.o")
    args += ["-Xptxas", "-v", "-keep", "-keep-dir", keep]
    done = subprocess.run(args, cwd=keep, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"nvcc failed:\n{' '.join(args)}\n{done.stderr[-4000:]}")
    return done.stdout + done.stderr


PTXAS_ENTRY = re.compile(r"Compiling entry function '(\S+)' for '(sm_\d+a?)'")
PTXAS_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
PTXAS_USED = re.compile(
    r"Used (\d+) registers(?:, used (\d+) barriers)?(?:, (\d+) bytes smem)?((?:, \d+ bytes cmem\[\d+\])*)"
)


def parse_ptxas(report: str) -> dict[str, dict]:
    """{mangled entry symbol: resources} from `ptxas -v` output (sm_90 entries only)."""
    kernels: dict[str, dict] = {}
    current = None
    for line in report.splitlines():
        if m := PTXAS_ENTRY.search(line):
            current = kernels.setdefault(m.group(1), {}) if m.group(2) == "sm_90" else None
        elif current is not None and (m := PTXAS_FRAME.search(line)):
            current["local_bytes"], current["spill_store_bytes"], current["spill_load_bytes"] = map(int, m.groups())
        elif current is not None and (m := PTXAS_USED.search(line)):
            current["registers"] = int(m.group(1))
            current["barriers"] = int(m.group(2) or 0)
            current["static_shared_bytes"] = int(m.group(3) or 0)
    for symbol, res in kernels.items():
        missing = {"registers", "local_bytes"} - res.keys()
        if missing:
            fail(f"ptxas printed no {sorted(missing)} for {symbol}")
    return kernels


def cubin_constant_banks(path: str) -> dict[str, dict[int, int]]:
    """{mangled symbol: {bank: bytes}} from the .nv.constantN.<symbol> sections of an ELF64 cubin."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        fail(f"{path} is not an ELF64 cubin")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab_offset = sections[shstrndx][4]
    banks: dict[str, dict[int, int]] = {}
    for name_offset, _, _, _, _, size, *_ in sections:
        name = data[strtab_offset + name_offset : data.index(b"\0", strtab_offset + name_offset)].decode()
        if m := re.fullmatch(r"\.nv\.constant(\d+)\.(.+)", name):
            banks.setdefault(m.group(2), {})[int(m.group(1))] = size
    return banks


def demangle(symbols: list[str]) -> dict[str, str]:
    done = subprocess.run(["c++filt"], input="\n".join(symbols), capture_output=True, text=True, check=True)
    return dict(zip(symbols, done.stdout.splitlines()))


# ----------------------------------------------------------------------------------------- the table
def file_kernels(path: str, command: str) -> dict[str, dict]:
    """{mangled symbol: resources + 'demangled'} of one .cu file compiled for sm_90."""
    with tempfile.TemporaryDirectory(prefix="cuda_resources_") as keep:
        kernels = parse_ptxas(compile_with_ptxas_info(command, keep))
        cubins = [f for f in os.listdir(keep) if f.endswith(".sm_90.cubin")]
        if len(cubins) != 1:
            fail(f"expected one sm_90 cubin from {path}, found {cubins}")
        banks = cubin_constant_banks(os.path.join(keep, cubins[0]))
    for symbol, name in demangle(sorted(kernels)).items():
        kernels[symbol]["demangled"] = name
        kernels[symbol]["constant_bytes"] = sum(banks.get(symbol, {}).values())
        kernels[symbol]["constant_banks"] = {str(b): n for b, n in sorted(banks.get(symbol, {}).items())}
    return kernels


def resources_of(kernel: dict, path: str) -> dict:
    entry = {k: kernel[k] for k in RESOURCE_KEYS}
    entry.update(barriers=kernel["barriers"], constant_banks=kernel["constant_banks"])
    entry.update(file=os.path.relpath(path, ROOT), symbol=kernel["demangled"])
    return entry


def table_entry(kernels: list[dict], path: str) -> dict:
    """One launch name's entry: its kernel, or the worst case of its variants with each listed."""
    variants = [resources_of(k, path) for k in sorted(kernels, key=lambda k: k["demangled"])]
    if len(variants) == 1:
        return variants[0]
    worst = max(variants, key=lambda v: (v["registers"], v["static_shared_bytes"], v["local_bytes"]))
    entry = dict(worst)
    for key in RESOURCE_KEYS + ("barriers",):
        entry[key] = max(v[key] for v in variants)
    entry["variants"] = variants
    return entry


def build_table(sources: list[str], commands: dict[str, str]) -> dict:
    kernels_by_name: dict[str, list[dict]] = {}
    files: dict[str, str] = {}
    simulator_only: set[str] = set()
    blocks: dict[str, list[int] | None] = {}
    not_launched: list[str] = []
    for path in sources:
        if path not in commands:
            fail(
                f"{os.path.relpath(path, ROOT)} is not in sinapse._cuda's sources (CMakeLists.txt SINAPSE_CUDA_KERNELS)"
            )
        print(f"cuda_resources: compiling {os.path.relpath(path, ROOT)}", file=sys.stderr, flush=True)
        compiled = file_kernels(path, commands[path])
        parts = {s: demangled_parts(k["demangled"]) for s, k in compiled.items()}
        sites = file_launch_sites(path, simulator=False)
        reached: set[str] = set()
        for name, base, targs, required, block in sites:
            if blocks.setdefault(name, block) != block:
                blocks[name] = None  # launched with different block shapes
            symbols = [s for s, part in parts.items() if matches(part, base, targs, required)]
            found = [compiled[s] for s in symbols]
            if not found:
                shown = "<" + ", ".join(t or "?" for t in targs) + ">" if targs else ""
                fail(
                    f"launch '{name}' ({os.path.relpath(path, ROOT)}: {base}{shown}) matches no compiled kernel; "
                    f"compiled: {sorted(k['demangled'] for k in compiled.values())}"
                )
            if files.setdefault(name, path) != path:
                fail(f"launch name '{name}' is used in both {files[name]} and {path}")
            group = kernels_by_name.setdefault(name, [])
            group.extend(k for k in found if all(k is not g for g in group))
            reached |= set(symbols)
        not_launched += sorted(k["demangled"] for s, k in compiled.items() if s not in reached)
        real = {site[0] for site in sites}
        simulator_only |= {site[0] for site in file_launch_sites(path, simulator=True)} - real
    kernels = {n: table_entry(kernels_by_name[n], files[n]) for n in sorted(kernels_by_name)}
    for name, entry in kernels.items():
        entry["launch_block"] = blocks[name]  # None: chosen at run time (or several shapes)
    return {
        "kernels": kernels,
        "simulator_only": sorted(simulator_only),
        "not_launched": not_launched,
    }


def nvcc_version() -> str:
    out = subprocess.run(["nvcc", "--version"], capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-2].strip()  # "Cuda compilation tools, release 13.0, V13.0.88"


def set_root(root: str) -> None:
    """Compile another checkout (e.g. a branch's worktree) with this tool."""
    global ROOT
    ROOT = os.path.realpath(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", help="where to write the JSON table (default: the checkout's " + "/".join(TABLE_PATH) + ")"
    )
    parser.add_argument("files", nargs="*", help="csrc/cuda/*.cu files (default: all)")
    parser.add_argument("--root", default=ROOT, help="the checkout to compile (default: this one)")
    args = parser.parse_args(argv)
    set_root(args.root)
    args.out = args.out or os.path.join(ROOT, *TABLE_PATH)
    cuda = os.path.join(ROOT, "csrc", "cuda")
    sources = [os.path.realpath(f) for f in args.files] or sorted(
        os.path.join(cuda, f) for f in os.listdir(cuda) if f.endswith(".cu")
    )
    with tempfile.TemporaryDirectory(prefix="cuda_resources_cmake_") as build:
        commands = compile_commands(build)
        table = build_table(sources, commands)
    result = {"arch": "sm_90", "nvcc": nvcc_version(), "generated_by": "tools/cuda_resources.py", **table}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=False)
        f.write("\n")
    local = [n for n, k in table["kernels"].items() if k["local_bytes"] or k["spill_store_bytes"]]
    print(
        f"cuda_resources: {len(table['kernels'])} launch names -> {os.path.relpath(args.out, ROOT)}; "
        f"local memory or spills: {local or 'none'}; compiled but reached by no launch: "
        f"{table['not_launched'] or 'none'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
