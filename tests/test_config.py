"""sinapse.config(), show_config(), the version and the CUDA status."""

from __future__ import annotations

import io

import sinapse

CONFIG_KEYS = {
    "version",
    "python",
    "compiler",
    "build_type",
    "cpu_model",
    "cpu",
    "simd_built",
    "simd_supported",
    "simd_in_use",
    "gemm_variant",
    "gemm_blocking",
    "gemm_configs",
    "microarchitecture",
    "openmp",
    "num_threads",
    "omp_num_threads_env",
    "cuda_built",
    "cuda_build",
    "cuda_available",
    "cuda_why_unavailable",
    "cuda_simulator_built",
}


def test_version():
    assert isinstance(sinapse.__version__, str) and sinapse.__version__
    assert sinapse.__version__[0].isdigit()


def test_show_config(capsys):
    sinapse.show_config()
    text = capsys.readouterr().out
    assert sinapse.__version__ in text
    lines = text.splitlines()
    for label in ("SIMD in use", "OpenMP", "CUDA", "GEMM"):
        assert any(label in line for line in lines), label
    simd_line = next(line for line in lines if "SIMD in use" in line)
    assert sinapse.cpu.best_simd_path() in simd_line
    threads_line = next(line for line in lines if "OpenMP" in line)
    assert f"{sinapse.get_num_threads()} threads" in threads_line


def test_show_config_to_file(capsys):
    buf = io.StringIO()
    sinapse.show_config(file=buf)
    assert "SIMD in use" in buf.getvalue()
    assert capsys.readouterr().out == ""


def test_config_dict(restore_threads):
    c = sinapse.config()
    assert set(c) == CONFIG_KEYS
    assert c["version"] == sinapse.__version__
    assert c["simd_supported"] == sinapse.cpu.supported_simd_paths()
    assert set(c["simd_supported"]) <= set(c["simd_built"]) <= set(sinapse.cpu.SIMD_PATHS)
    assert c["simd_in_use"] == sinapse.cpu.best_simd_path()
    assert c["gemm_variant"] == sinapse.registry.OPS["gemm"].default_variant
    assert c["gemm_blocking"]["simd"] == c["simd_in_use"]
    assert isinstance(c["openmp"], bool)
    sinapse.set_num_threads(1)
    assert sinapse.config()["num_threads"] == 1
    assert c["cuda_available"] == sinapse.cuda.is_available()
    assert c["cuda_why_unavailable"] == sinapse.cuda.why_unavailable()
    assert c["cuda_built"] == sinapse.cuda.built()


def test_config_reflects_environment(monkeypatch):
    monkeypatch.setenv("SINAPSE_SIMD", "generic")
    monkeypatch.setenv("SINAPSE_GEMM", "naive")
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    c = sinapse.config()
    assert c["simd_in_use"] == "generic"
    assert c["gemm_blocking"]["simd"] == "generic"
    assert c["gemm_variant"] == "naive"
    assert c["omp_num_threads_env"] == "5"


def test_cuda_status():
    available = sinapse.cuda.is_available()
    assert isinstance(available, bool)
    if available:  # a GPU machine: the "unavailable" facts do not apply
        assert sinapse.cuda.why_unavailable() is None
        return
    why = sinapse.cuda.why_unavailable()
    assert isinstance(why, str) and why.strip()
    if not sinapse.cuda.built():
        assert sinapse.cuda.build_info() == {}
    else:
        info = sinapse.cuda.build_info()
        assert set(info) == {"archs", "sass", "ptx", "runtime"}
        assert info["sass"] or info["ptx"]  # the module embeds some kernel image
