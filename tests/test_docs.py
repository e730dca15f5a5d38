"""The docs stay true: the README example runs, and every op, variant and micro-kernel the
registry and the build know of is described on its kernel page."""

import re
from pathlib import Path

import pytest

import sinapse
from sinapse.registry import OPS

ROOT = Path(__file__).resolve().parent.parent


def _read(rel: str) -> str:
    path = ROOT / rel
    if not path.exists():
        pytest.skip(f"{rel} not present (tests run outside the repository)")
    return path.read_text(encoding="utf-8")


def test_readme_example_runs(capsys):
    readme = _read("README.md")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "README.md has no python example"
    namespace: dict = {}  # one namespace, read top to bottom as a reader would
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert "SIMD in use" in capsys.readouterr().out  # the example calls show_config()


@pytest.mark.parametrize("op", sorted(name for name, info in OPS.items() if info.doc))
def test_kernel_page_names_every_variant_and_microkernel(op):
    info = OPS[op]
    page = _read(info.doc)
    for variant in info.variants:
        assert f"`{variant}`" in page, f"{info.doc} does not describe variant {variant}"
    if op == "gemm":
        for path in sinapse._cpu.built_simd_paths():
            if path in sinapse.cpu.supported_simd_paths():
                name = sinapse.cpu.gemm_blocking(path)["ukernel"]
                assert name in page, f"{info.doc} does not describe micro-kernel {name}"


def test_architecture_names_every_op_and_bench_suite():
    arch = _read("docs/ARCHITECTURE.md")
    for name in OPS:
        assert name in arch
    # Every op's bench suite, like each of its other places, is checked by tests/test_op_places.py.


@pytest.mark.parametrize("doc", ["docs/reliability.md", "docs/model_format.md", "docs/sanitizers.md"])
def test_cited_tests_exist(doc):
    """A guarantee is only as good as its proof: every `tests/<file>.py::<test>` a doc cites
    must be a test function in that file (a renamed or deleted test fails here)."""
    text = _read(doc)
    cited = set(re.findall(r"(tests/test_\w+\.py)::(test_\w+)", text))
    for path, name in sorted(cited):
        source = _read(path)
        assert re.search(rf"^def {name}\(", source, flags=re.M), f"{doc} cites {path}::{name}, which does not exist"


# Top-level folders and files a backticked path in the docs may start with: a token such as
# `gemm_pack_avx2.cpp` or `sim/selftest.cu` (relative to a folder the text names) is not checked.
_ROOTS = ("csrc/", "python/", "tests/", "bench/", "docs/", "tools/", "examples/", ".ci/")
_ROOT_FILES = {"README.md", "CMakeLists.txt", "pyproject.toml", ".clang-format", "DEVELOPERS.md"}


def _cited_paths(text: str) -> set[str]:
    """Every backticked repository path in ``text``, with ``{a,b}`` alternatives expanded and a
    ``::test`` suffix dropped. Patterns with a placeholder (``<op>``) name a rule, not a file."""
    paths = set()
    for token in re.findall(r"`([^`\s]+)`", text):
        token = token.split("::")[0].rstrip(".,;:")
        if not (token.startswith(_ROOTS) or token in _ROOT_FILES) or "<" in token:
            continue
        braces = re.search(r"\{([^}]*)\}", token)
        if braces:
            paths.update(token[: braces.start()] + alt + token[braces.end() :] for alt in braces.group(1).split(","))
        else:
            paths.add(token)
    return paths


@pytest.mark.parametrize("doc", ["docs/ARCHITECTURE.md", "docs/CONTRIBUTING.md"])
def test_cited_paths_exist(doc):
    """The map and the contributor's guide stay true: every file or folder they cite in
    backticks exists (a glob must match something)."""
    missing = []
    for path in sorted(_cited_paths(_read(doc))):
        found = any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()
        if not found:
            missing.append(path)
    assert not missing, f"{doc} cites paths that do not exist: {missing}"


def test_cited_path_extraction():
    text = "`csrc/cpu/gemm.{h,cpp}`, `tests/test_x.py::test_y`, `csrc/bindings/<op>.cpp`, `rnn.h`, `README.md`."
    assert _cited_paths(text) == {"csrc/cpu/gemm.h", "csrc/cpu/gemm.cpp", "tests/test_x.py", "README.md"}
