"""Floating point on the CUDA side: the shipped module and the simulator run the same maths.

sinapse._cuda is built without fast math (CMakeLists.txt refuses ``--use_fast_math`` and the
flags it implies), so the kernels' expf/logf/tanhf and divisions are CUDA's accurate ones on
the GPU and libm's in the simulator, both within 2 ulp of the correctly rounded result. The
approximate intrinsics a kernel may call by name are modelled in csrc/cuda/sim/intrinsics.h;
these tests hold each model to the error bound NVIDIA documents (CUDA C++ Programming Guide,
"Mathematical Functions", "Intrinsic Functions"), against float64.
"""

import pathlib
import re

import numpy as np
import pytest

import sinapse

ROOT = pathlib.Path(__file__).resolve().parent.parent
needs_sim = pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="built without the CUDA simulator")
THREADS = 256


def run_intrinsic(name, *args):
    """f(args) for float32 arrays of one length (a multiple of THREADS), on the simulator."""
    x = np.concatenate([np.asarray(a, np.float32) for a in args])
    n = len(args[0])
    out = np.zeros(n, np.float32)
    sinapse._cuda_sim.selftest(name, x.ctypes.data, out.ctypes.data, n // THREADS, THREADS)
    return out


def ulp_error(got, exact):
    """|got - correctly rounded exact| in ulps of float32, as the Programming Guide counts it."""
    rounded = exact.astype(np.float32)
    return np.abs(got.astype(np.float64) - rounded) / np.spacing(np.abs(rounded)).astype(np.float64)


def samples(lo, hi, n=1 << 16, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, n).astype(np.float32)


@needs_sim
def test_expf_intrinsic_within_documented_bound():
    # 2 + floor(|1.173 x|) ulp; the model's error grows with |x| as the GPU's does (the product
    # x * log2(e) is rounded to float before ex2).
    x = np.concatenate([samples(-87, 88), samples(-4, 4, seed=1)])
    err = ulp_error(run_intrinsic("intrinsic_expf", x), np.exp(x.astype(np.float64)))
    assert np.all(err <= 2 + np.floor(np.abs(1.173 * x.astype(np.float64))))
    big = np.abs(x) > 40
    assert err[big].max() > 10, "the model should be as approximate as the GPU, not exact"


@needs_sim
def test_logf_intrinsic_within_documented_bound():
    near_one = samples(0.5, 2)
    err = np.abs(run_intrinsic("intrinsic_logf", near_one) - np.log(near_one.astype(np.float64)))
    assert err.max() <= 2**-21.41  # absolute, for x in [0.5, 2]
    wide = np.exp(samples(-80, 80)).astype(np.float32)
    wide = wide[(wide < 0.5) | (wide > 2)][: (1 << 15)]
    err = ulp_error(run_intrinsic("intrinsic_logf", wide), np.log(wide.astype(np.float64)))
    assert err.max() <= 3


@needs_sim
def test_fdividef_intrinsic_within_documented_bound_and_flushes_huge_divisors():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(1 << 16) * 1e3).astype(np.float32)
    y = (rng.choice([-1, 1], 1 << 16) * np.exp2(rng.uniform(-126, 126, 1 << 16))).astype(np.float32)
    exact = x.astype(np.float64) / y.astype(np.float64)
    keep = (np.abs(exact) > np.finfo(np.float32).tiny) & (np.abs(exact) < np.finfo(np.float32).max)
    got = run_intrinsic("intrinsic_fdividef", x, y)
    assert ulp_error(got[keep], exact[keep]).max() <= 2
    # 2^126 < |y| < 2^128: zero (the reciprocal is flushed), and NaN for an infinite x.
    huge = np.full(THREADS, 2.0**127, np.float32)
    got = run_intrinsic("intrinsic_fdividef", np.full(THREADS, 3.0, np.float32), huge)
    np.testing.assert_array_equal(got, 0.0)
    assert np.isnan(run_intrinsic("intrinsic_fdividef", np.full(THREADS, np.inf, np.float32), huge)).all()


@needs_sim
def test_rsqrtf_and_saturatef():
    x = np.exp(samples(-80, 80)).astype(np.float32)
    err = ulp_error(run_intrinsic("intrinsic_rsqrtf", x), 1.0 / np.sqrt(x.astype(np.float64)))
    assert err.max() <= 2
    v = np.resize(np.array([-1.0, -0.0, 0.25, 1.0, 7.0, np.nan, np.inf, -np.inf], np.float32), THREADS)
    want = np.resize(np.array([0.0, 0.0, 0.25, 1.0, 1.0, 0.0, 1.0, 0.0], np.float32), THREADS)
    np.testing.assert_array_equal(run_intrinsic("intrinsic_saturatef", v), want)


FAST_MATH = re.compile(r"use[_-]fast[_-]math|ftz=true|prec-div=false|prec-sqrt=false")


def cmake_code():
    """CMakeLists.txt without its comments and the guard's own pattern and message."""
    lines = [line.split("#", 1)[0] for line in (ROOT / "CMakeLists.txt").read_text().splitlines()]
    return "\n".join(line for line in lines if "MATCHES" not in line)


def test_cuda_module_is_built_without_fast_math():
    """The shipped kernels are the program the simulator runs: no flag may bring fast math back."""
    code = cmake_code()
    assert not FAST_MATH.search(code), f"fast-math flag in CMakeLists.txt: {FAST_MATH.search(code).group(0)}"
    assert re.search(r"set\(SINAPSE_CUDA_EXACT_MATH -ftz=false -prec-div=true -prec-sqrt=true\)", code)
    assert "COMPILE_LANGUAGE:CUDA>:-O3 ${SINAPSE_CUDA_EXACT_MATH}>" in code
    # The configure-time guard against the cache's and the environment's flags is still there.
    text = (ROOT / "CMakeLists.txt").read_text()
    assert 'MATCHES "use[_-]fast[_-]math|ftz=true|prec-div=false|prec-sqrt=false"' in text
    for source in ("$ENV{NVCC_APPEND_FLAGS}", "$ENV{NVCC_PREPEND_FLAGS}", "${CMAKE_CUDA_FLAGS}"):
        assert source in text


def test_every_intrinsic_a_kernel_calls_is_modelled():
    """An approximate intrinsic in a kernel must have a model with the GPU's error bound."""
    modelled = set(re.findall(r"inline float (\w+)\(", (ROOT / "csrc/cuda/sim/intrinsics.h").read_text()))
    used = set()
    for cu in (ROOT / "csrc/cuda").rglob("*.cu"):
        used |= set(
            re.findall(r"\b(__(?:exp|exp10|log|log2|log10|sin|cos|tan|tanh|pow|fdivide)f|rsqrtf)\s*\(", cu.read_text())
        )
    assert used <= modelled, f"intrinsics without a simulator model: {sorted(used - modelled)}"
