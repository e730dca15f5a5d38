"""sinapse.config() and sinapse.show_config(): what was built and what runs here."""

from __future__ import annotations

import os
import sys

from . import _cpu, _sysinfo
from . import cpu as _cpu_backend
from . import cuda as _cuda_backend


def config() -> dict:
    """The facts show_config() prints, as a dict (the benchmarks record it with every result)."""
    from .registry import resolve_variant

    simd = _cpu_backend.simd_path()
    return {
        "version": _cpu.__version__,
        "python": sys.version.split()[0],
        "compiler": _cpu.compiler,
        "build_type": _cpu.build_type,
        "cpu_model": _sysinfo.cpu_model(),
        "cpu": _sysinfo.cpu_title(_cpu_backend.microarchitecture()),
        "simd_built": list(_cpu.built_simd_paths()),
        "simd_supported": _cpu_backend.supported_simd_paths(),
        "simd_in_use": simd,
        "gemm_variant": resolve_variant("gemm", None),
        "gemm_blocking": dict(_cpu.gemm_blocking(simd)),
        "microarchitecture": _cpu_backend.microarchitecture(),
        "gemm_configs": {p: dict(_cpu.gemm_blocking(p)) for p in _cpu_backend.supported_simd_paths()},
        "openmp": bool(_cpu.openmp),
        "num_threads": _cpu.get_num_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "cuda_built": _cuda_backend.built(),
        "cuda_build": _cuda_backend.build_info(),
        "cuda_available": _cuda_backend.is_available(),
        "cuda_why_unavailable": _cuda_backend.why_unavailable(),
        "cuda_simulator_built": _cuda_backend.simulator_built(),
    }


def show_config(file=None) -> None:
    """Print the version, compiler, SIMD paths, threads and CUDA status."""
    c = config()
    bk = c["gemm_blocking"]
    cuda_line = "not built"
    if c["cuda_built"]:
        b = c["cuda_build"]
        usable = "yes" if c["cuda_available"] else f"no ({c['cuda_why_unavailable']})"
        kernels = f"SASS {', '.join(b['sass']) or 'none'}, PTX {', '.join(b['ptx']) or 'none'}"
        cuda_line = f"built with {kernels}, runtime {b['runtime']}; usable: {usable}"
    env = c["omp_num_threads_env"]
    lines = [
        f"sinapse {c['version']} (Python {c['python']})",
        f"  compiler       : {c['compiler']}, {c['build_type']} build",
        f"  CPU            : {c['cpu_model']}",
        f"  SIMD paths     : built {', '.join(c['simd_built'])}; this CPU runs {', '.join(c['simd_supported'])}",
        f"  SIMD in use    : {c['simd_in_use']}  (override: sinapse.cpu.use_simd(), SINAPSE_SIMD)",
        f"  CPU arch       : {_sysinfo.describe_arch(c['microarchitecture'])}",
        f"  GEMM           : variant {c['gemm_variant']} (override: SINAPSE_GEMM), micro-kernel "
        f"{bk['ukernel']} (MR={bk['MR']} NR={bk['NR']} KC={bk['KC']} MC={bk['MC']} NC={bk['NC']})",
        *(
            f"  GEMM {p:<10}: {g['MR']}x{g['NR']} KC={g['KC']} MC={g['MC']} NC={g['NC']} split={g['split']}"
            f" ({g['ukernel']}); source: {g['source']}"
            for p, g in c["gemm_configs"].items()
        ),
        f"  OpenMP         : {'yes' if c['openmp'] else 'no'}, {c['num_threads']} threads"
        f"{f' (OMP_NUM_THREADS={env})' if env else ''}",
        f"  CUDA           : {cuda_line}",
        f"  CUDA simulator : {'built (sinapse.cuda.simulate())' if c['cuda_simulator_built'] else 'not built'}",
    ]
    print("\n".join(lines), file=file or sys.stdout)
