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
   `launch_tiled(const char* name, ...)`) is taken from the helper's call sites.

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
# Source spellings of template arguments -> how c++filt prints them (x86-64 Linux, LP64).
TYPE_SPELLINGS = {
    "int64_t": "long",
    "int32_t": "int",
    "uint32_t": "unsigned int",
    "uint64_t": "unsigned long",
    "int8_t": "signed char",
    "uint8_t": "unsigned char",
    "size_t": "unsigned long",
}


def fail(message: str) -> None:
    print(f"cuda_resources: {message}", file=sys.stderr)
    raise SystemExit(1)


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


# ----------------------------------------------------------------------------------------- launch names
def preprocess(path: str, simulator: bool) -> str:
    """The file's own text after the C preprocessor: comments gone, SINAPSE_SIM set or not, the macros of its
    quoted headers expanded (e.g. SINAPSE_MUTANT(name, kernel, broken) -> (kernel) for nvcc), no #includes."""
    with open(path) as f:
        return preprocess_text(header_macros(path, simulator) + f.read(), simulator)


def _cpp(text: str, simulator: bool, *flags: str) -> str:
    text = "".join(line for line in text.splitlines(True) if not line.lstrip().startswith("#include"))
    args = ["g++", "-E", *flags, "-x", "c++", "-std=c++17", "-"] + (["-DSINAPSE_SIM"] if simulator else [])
    return subprocess.run(args, input=text, capture_output=True, text=True, check=True).stdout


def preprocess_text(source: str, simulator: bool) -> str:
    return _cpp(source, simulator, "-P")


def header_macros(path: str, simulator: bool) -> str:
    """The #defines the file's quoted headers leave active (the compiler's own predefined macros left out)."""
    builtin = set(_cpp("", simulator, "-dM").splitlines())
    defined = _cpp(local_headers_text(path), simulator, "-dM").splitlines()
    return "".join(line + "\n" for line in defined if line not in builtin)


def local_headers_text(path: str, seen: set[str] | None = None) -> str:
    """The text of the quoted (#include "...") headers `path` reaches, for their enumerators."""
    seen = set() if seen is None else seen
    text = ""
    with open(path) as f:
        source = f.read()
    for name in re.findall(r'^\s*#include\s+"([^"]+)"', source, re.M):
        header = os.path.realpath(os.path.join(os.path.dirname(path), name))
        if header not in seen and os.path.exists(header):
            seen.add(header)
            with open(header) as f:
                text += f.read() + "\n"
            text += local_headers_text(header, seen)
    return text


def enum_values(text: str) -> dict[str, str]:
    """'Enum::member' -> its value, for `enum class Enum : int { a = 0, b, ... }` in `text`."""
    values = {}
    for m in re.finditer(r"\benum\s+(?:class\s+|struct\s+)?(\w+)?\s*(?::\s*\w+\s*)?\{([^}]*)\}", text):
        value = 0
        for item in split_top(m.group(2)):
            name, _, given = item.partition("=")
            if given.strip() and not re.fullmatch(r"\s*-?\d+\s*", given):
                break  # a value given by an expression: this enum's later members stay unknown
            value = int(given) if given.strip() else value
            if name.strip():
                values[f"{m.group(1)}::{name.strip()}" if m.group(1) else name.strip()] = str(value)
            value += 1
    return values


def computed_names(text: str, call: str, enums: dict[str, str]) -> list[tuple[str, str]]:
    """(launch name, '(Enum)value' its instantiation's template arguments name) from a name function.

    `launch(kernel_name(a.kind), update_kernel<V>, ...)` with `const char* kernel_name(Kind k) { switch (k)
    { case Kind::adam: return "adam_update_kernel"; ... } }`: each case gives one launch name, reached by the
    instantiations whose template arguments carry that enumerator (c++filt prints it as `(ns::Kind)4`).
    """
    function = call.split("(")[0].strip()
    m = re.search(rf"\bconst\s+char\s*\*\s*{function}\s*\([^)]*\)\s*\{{", text)
    if m is None:
        fail(f"the launch name '{call}' is neither a string literal nor a name function of the file")
    body = text[m.end() : text.index("\n}", m.end())]
    pairs = []
    for enum, member, name in re.findall(r'case\s+(\w+)::(\w+)\s*:\s*return\s+"([^"]*)"\s*;', body):
        if f"{enum}::{member}" not in enums:
            fail(f"{function}: the value of {enum}::{member} is not in the file's headers")
        pairs.append((name, f"{enum}){enums[enum + '::' + member]}"))
    if not pairs:
        fail(f'{function} returns no launch name by `case Enum::member: return "name";`')
    return pairs


def unquoted(text: str, start: int = 0, opening: str = "([{", closing: str = ")]}"):
    """(index, character, bracket depth after it) of each character of `text` outside string literals."""
    depth, quote, i = 0, None, start
    while i < len(text):
        c = text[i]
        if quote:
            i += 1 if c == "\\" else 0
            quote = None if c == quote else quote
        elif c in "\"'":
            quote = c
        else:
            depth += (c in opening) - (c in closing)
            yield i, c, depth
        i += 1


def split_top(text: str, sep: str = ",", angles: bool = False) -> list[str]:
    """`text` split at `sep` outside brackets and string literals (and <...> when `angles`)."""
    parts, start = [], 0
    opening, closing = "([{" + ("<" if angles else ""), ")]}" + (">" if angles else "")
    for i, c, depth in unquoted(text, 0, opening, closing):
        if c == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def call_arguments(text: str, open_paren: int) -> list[str]:
    """The arguments of the call whose '(' is at `open_paren` (brackets and strings balanced)."""
    for i, _, depth in unquoted(text, open_paren):
        if depth == 0:
            return split_top(text[open_paren + 1 : i])
    fail(f"unbalanced call at: {text[open_paren : open_paren + 80]!r}")
    raise AssertionError  # unreachable: fail exits


def template_split(expr: str) -> tuple[str, list[str]]:
    """'ns::kernel<a, b<c>>' -> ('kernel', ['a', 'b<c>']); no template arguments -> []."""
    expr = expr.strip().lstrip("&").strip()
    while expr.startswith("(") and call_arguments(expr, 0) == [expr[1:-1].strip()] and expr.endswith(")"):
        expr = expr[1:-1].strip().lstrip("&").strip()  # (kernel<1>), as a macro leaves it
    if "<" not in expr:
        return expr.split("::")[-1], []
    head = expr[: expr.index("<")]
    if not expr.endswith(">"):
        fail(f"cannot read the kernel expression '{expr}'")
    return head.strip().split("::")[-1], split_top(expr[expr.index("<") + 1 : -1], angles=True)


def evaluate(expr: str, constants: dict[str, str]) -> int | None:
    """The value of an integer expression of literals, +, -, *, /, % and known constants; None otherwise."""
    import ast

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and re.fullmatch(r"-?\d+", constants.get(node.id, "")):
            return int(constants[node.id])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp):
            a, b = value(node.left), value(node.right)
            ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}
            if type(node.op) in ops:
                return ops[type(node.op)]
            if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and b:
                return int(a / b) if not isinstance(node.op, ast.Mod) else a - b * int(a / b)  # C truncation
        raise ValueError(expr)

    try:
        return value(ast.parse(expr.strip().replace("/", "//").replace("////", "//"), mode="eval").body)
    except (ValueError, SyntaxError):
        return None


def file_constants(text: str) -> dict[str, str]:
    """Integer and bool constants: `constexpr int kBlock = 128, kThreads = kBlock / 2;` and enumerators.

    A name given two different values in the file (a function-local constant shadowing another) is dropped.
    """
    constants: dict[str, str] = {}
    clashes: set[str] = set()
    for qualified, value in enum_values(text).items():
        constants[qualified.split("::")[-1]] = value  # unscoped use inside the file
    for m in re.finditer(r"\bconstexpr\s+(?:int|int64_t|unsigned|bool|long)\s+([^;()]+(?:\([^;]*\))?[^;]*);", text):
        for item in split_top(m.group(1)):
            name, _, expr = (part.strip() for part in item.partition("="))
            known = expr if expr in ("true", "false") else evaluate(expr, constants)
            if known is not None and re.fullmatch(r"\w+", name):
                if name in constants and constants[name] != str(known):
                    clashes.add(name)
                constants[name] = str(known)
    for name in clashes:
        del constants[name]
    return constants


def block_size(expr: str, constants: dict[str, str]) -> list[int] | None:
    """[x, y, z] of a launch's block argument (`dim3(kBlock)`, `dim3(16, 16)`), None when set at run time."""
    m = re.fullmatch(r"\s*(?:dim3\s*)?\((.*)\)\s*|\s*([\w\s*/+()-]+)", expr, re.S)
    if m is None:
        return None
    dims = [evaluate(part, constants) for part in split_top(m.group(1) or m.group(2))]
    if any(d is None for d in dims) or not 1 <= len(dims) <= 3:
        return None
    return [int(d or 0) for d in dims] + [1] * (3 - len(dims))


def normal_targ(arg: str, constants: dict[str, str] | None = None) -> str:
    arg = arg.strip()
    arg = (constants or {}).get(arg, arg)
    arg = TYPE_SPELLINGS.get(arg, arg).replace(" ", "")
    return arg[1:] if re.fullmatch(r"\+\d+", arg) else arg


FUNC_DEF = re.compile(r"(?:template\s*<(?P<tparams>[^<>{};]*)>\s*)?\bvoid\s+(?P<name>\w+)\s*\(")


def enclosing_function(text: str, pos: int) -> re.Match:
    defs = [m for m in FUNC_DEF.finditer(text, 0, pos) if text.find("{", m.end()) < pos]
    if not defs:
        fail(f"no enclosing function for the launch at: {text[pos : pos + 80]!r}")
    return defs[-1]


def template_params(fdef: re.Match) -> list[tuple[str, str | None]]:
    params = []
    for p in split_top(fdef.group("tparams") or ""):
        if p:
            decl, _, default = p.partition("=")
            params.append((decl.split()[-1], default.strip() or None))
    return params


def call_sites(text: str, fdef: re.Match) -> list[tuple[list[str], list[str]]]:
    """(explicit template arguments, call arguments) of each call of the function `fdef` defines."""
    sites = []
    for m in re.finditer(rf"\b{fdef.group('name')}\s*(<[^;(){{}}]*>)?\s*\(", text):
        if fdef.start() <= m.start() < fdef.end() or re.search(r"\bvoid\s*$", text[: m.start()]):
            continue  # the definition itself (or another overload's)
        targs = split_top(m.group(1)[1:-1], angles=True) if m.group(1) else []
        sites.append((targs, call_arguments(text, m.end() - 1)))
    return sites


def bindings(params: list[tuple[str, str | None]], targs: list[str]) -> dict[str, str | None]:
    """Template parameter -> argument (explicit, then default; None when deduced)."""
    return {name: (targs[i] if i < len(targs) else default) for i, (name, default) in enumerate(params)}


Site = tuple  # (name, kernel base name, template arguments (None: any), text they must contain or "", block)


def launch_sites(text: str, enums: dict[str, str], names_only: bool = False) -> list[Site]:
    """(launch name, kernel base name, template arguments with None for 'any', required text, block) of each
    launch(); `names_only`: the names alone are wanted (the simulator build's kernel expressions, which pick
    mutants at run time, are not read)."""
    constants = file_constants(text)
    sites: list[Site] = []
    for m in re.finditer(r"(?<![\w.:>])launch\s*\(", text):
        args = call_arguments(text, m.end() - 1)
        if len(args) < 2:
            continue  # the declaration of launch itself is not in a .cu file; anything else is not a launch
        kernel = args[1]
        while kernel.count("<") > kernel.count(">") and len(args) > 2:
            kernel += "," + args.pop(2)
        base, targs = ("", []) if names_only else template_split(kernel)
        block = block_size(args[3], constants) if len(args) > 3 else None
        fdef = enclosing_function(text, m.start())
        params = template_params(fdef)
        names = {p for p, _ in params}
        literal = re.fullmatch(r'"([^"]*)"', args[0])
        if re.fullmatch(r"[A-Za-z_]\w*\s*\(.*\)", args[0], re.S):
            for name, required in computed_names(text, args[0], enums):
                sites.append((name, base, [None for _ in targs], required, block))
            continue
        dependent = literal is None or any(t in names for t in targs)
        if not dependent:
            sites.append((literal.group(1), base, [normal_targ(t, constants) for t in targs], "", block))
            continue
        function_params = [p.split("=")[0].split()[-1] for p in call_arguments(text, fdef.end() - 1) if p]
        found = call_sites(text, fdef)
        if not found and literal is None:
            fail(f"'{fdef.group('name')}' passes the launch name '{args[0]}' but is never called")
        for call_targs, call_args in found or [([], [])]:
            bound = bindings(params, call_targs)
            resolved = [bound.get(t, t) if t in names else t for t in targs]
            if literal is not None:
                name = literal.group(1)
            else:
                value = call_args[function_params.index(args[0])]
                if not re.fullmatch(r'"[^"]*"', value):
                    fail(f"the launch name reaching '{fdef.group('name')}' is not a string literal: {value}")
                name = value[1:-1]
            sites.append((name, base, [None if t is None else normal_targ(t, constants) for t in resolved], "", block))
    return sites


def file_launch_sites(path: str, simulator: bool) -> list[Site]:
    """launch_sites of one .cu file as nvcc (simulator=False) or the simulator build sees it."""
    text = preprocess(path, simulator)
    return launch_sites(text, enum_values(preprocess_text(local_headers_text(path), simulator) + text), simulator)


def demangled_parts(demangled: str) -> tuple[str, list[str]]:
    """'void ns::(anonymous namespace)::k<true, 1>(Args)' -> ('k', ['true', '1'])."""
    text = demangled.replace("(anonymous namespace)", "anon")
    text = text[5:] if text.startswith("void ") else text
    depth = 0
    for i, c in enumerate(text):
        depth += (c == "<") - (c == ">")
        if c == "(" and depth == 0:
            base, targs = template_split(text[:i])
            return base, [normal_targ(t) for t in targs]
    fail(f"cannot read the demangled symbol {demangled}")
    raise AssertionError  # unreachable: fail exits


def matches(kernel: tuple[str, list[str]], base: str, targs: list[str | None], required: str) -> bool:
    k_base, k_targs = kernel
    if k_base != base or len(targs) > len(k_targs) or not re.search(re.escape(required) + r"(?!\d)", ",".join(k_targs)):
        return False  # fewer arguments than the instantiation has: the rest are defaults, matched as 'any'
    return all(t is None or t == k for t, k in zip(targs, k_targs))


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
