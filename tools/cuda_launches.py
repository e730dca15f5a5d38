"""The launch names of csrc/cuda/*.cu and the kernel instantiation each one reaches (tools/cuda_resources.py).

Reads the sources after the C preprocessor (comments gone, SINAPSE_SIM set or not, the macros of the file's
quoted headers expanded): each `launch("NAME", kernel, grid, block, ...)` gives the launch name, the kernel's
base name and template arguments (None where any instantiation matches), and the block shape when it is a
compile-time constant. Helpers, function templates and name functions are followed as tools/cuda_resources.py's
docstring describes. Errors stop with exit status 1 and the launch named.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

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


def preprocess(path: str, simulator: bool) -> str:
    """The file's own text after the C preprocessor: comments gone, SINAPSE_SIM set or not, the macros of its
    quoted headers expanded (e.g. SINAPSE_MUTANT(kernel, "name", broken) -> kernel for nvcc), no #includes."""
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


def merge_angles(args: list[str], i: int) -> list[str]:
    """`args` with args[i] rejoined to the pieces a top-level comma inside <...> split off it."""
    args = list(args)
    while i < len(args) and args[i].count("<") > args[i].count(">") and len(args) > i + 1:
        args[i] += "," + args.pop(i + 1)
    return args


def launch_sites(text: str, enums: dict[str, str], names_only: bool = False) -> list[Site]:
    """(launch name, kernel base name, template arguments with None for 'any', required text, block) of each
    launch(); `names_only`: the names alone are wanted (the simulator build's kernel expressions, which pick
    mutants at run time, are not read)."""
    constants = file_constants(text)
    sites: list[Site] = []
    for m in re.finditer(r"(?<![\w.:>])launch\s*\(", text):
        args = merge_angles(call_arguments(text, m.end() - 1), 1)
        if len(args) < 4:
            continue  # not a call of launch(name, kernel, grid, block, ...)
        fdef = enclosing_function(text, m.start())
        if re.fullmatch(r"[A-Za-z_]\w*\s*\(.*\)", args[0], re.S):
            base, targs = ("", []) if names_only else template_split(args[1])
            block = block_size(args[3], constants)
            for name, required in computed_names(text, args[0], enums):
                sites.append((name, base, [None for _ in targs], required, block))
            continue
        sites += bound_sites(text, fdef, args, constants, names_only)
    return sites


def parameter_positions(text: str, fdef: re.Match) -> dict[str, int]:
    """A function's parameter names -> positions (`const char* name`, `void (*kernel)(P)`, `dim3 block`)."""
    positions = {}
    for i, p in enumerate(a for a in call_arguments(text, fdef.end() - 1) if a):
        m = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", p) or re.search(r"(\w+)\s*(?:=.*)?$", p.strip(), re.S)
        if m:
            positions[m.group(1)] = i
    return positions


def bound_sites(text: str, fdef: re.Match, args: list[str], constants: dict[str, str], names_only: bool) -> list[Site]:
    """The sites of one launch(name, kernel, grid, block, ...) call. Inside a function template or a helper,
    one per call of that function: its template parameters bound (explicit arguments, then defaults; deduced
    ones match any instantiation), and the name, kernel or block the launch takes from the function's
    parameters (`launch(name, kernel, grid, block, ...)` in `launch_rows(const char* name, void (*kernel)(P),
    ..., dim3 block)`) taken from each call's arguments."""
    params = template_params(fdef)
    tnames = {p for p, _ in params}
    positions = parameter_positions(text, fdef)
    taken = [positions.get(a.strip()) for a in (args[0], args[1], args[3])]  # name, kernel, block
    kernel_targs = [] if names_only or taken[1] is not None else template_split(args[1])[1]
    helper = any(i is not None for i in taken)
    if taken[0] is None and not re.fullmatch(r'"[^"]*"', args[0]):
        fail(f"the launch name '{args[0]}' is neither a string literal nor a parameter of '{fdef.group('name')}'")
    calls = call_sites(text, fdef) if helper or any(t in tnames for t in kernel_targs) else []
    if helper and not calls:
        fail(f"'{fdef.group('name')}' passes its launch a name, kernel or block but is never called")
    sites: list[Site] = []
    for call_targs, call_args in calls or [(None, None)]:
        values = [args[0], args[1], args[3]]
        if call_args is not None:
            call_args = merge_angles(call_args, taken[1]) if taken[1] is not None else call_args
            for k, i in enumerate(taken):
                if i is not None and i >= len(call_args):
                    fail(f"a call of '{fdef.group('name')}' passes no argument {i}: {call_args}")
                values[k] = call_args[i] if i is not None else values[k]
        name, kernel, block = values
        if not re.fullmatch(r'"[^"]*"', name):
            fail(f"the launch name reaching '{fdef.group('name')}' is not a string literal: {name}")
        base, targs = ("", []) if names_only else template_split(kernel)
        bound = bindings(params, call_targs) if call_targs is not None else {}
        resolved = [bound.get(t) if t in tnames else t for t in targs]  # unbound (deduced): None, any
        shape = [None if t is None else normal_targ(t, constants) for t in resolved]
        sites.append((name[1:-1], base, shape, "", block_size(block, constants)))
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
