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
    for name, info in OPS.items():
        assert name in arch
        if info.bench_suite:
            assert (ROOT / "bench" / "suites" / f"{info.bench_suite}.py").exists()


@pytest.mark.parametrize("doc", ["docs/reliability.md", "docs/model_format.md", "docs/sanitizers.md"])
def test_cited_tests_exist(doc):
    """A guarantee is only as good as its proof: every `tests/<file>.py::<test>` a doc cites
    must be a test function in that file (a renamed or deleted test fails here)."""
    text = _read(doc)
    cited = set(re.findall(r"(tests/test_\w+\.py)::(test_\w+)", text))
    for path, name in sorted(cited):
        source = _read(path)
        assert re.search(rf"^def {name}\(", source, flags=re.M), f"{doc} cites {path}::{name}, which does not exist"
