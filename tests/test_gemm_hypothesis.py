"""Property-based GEMM tests: random shapes, transposes, scalars and epilogues."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SIMD_PATHS, check_gemm

# Reproducible in CI: a fixed example sequence and no example database on disk.
SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

dims = st.integers(min_value=1, max_value=80)
scalars = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0]), st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, width=32)
)
activations = st.sampled_from([None, "linear", "relu", "sigmoid", "tanh"])

gemm_cases = st.fixed_dictionaries(
    {
        "M": dims,
        "N": dims,
        "K": dims,
        "trans_a": st.booleans(),
        "trans_b": st.booleans(),
        "alpha": scalars,
        "beta": scalars,
        "bias": st.booleans(),
        "activation": activations,
        "out_mode": st.sampled_from(["none", "given", "c"]),
        "seed": st.integers(min_value=0, max_value=2**32 - 1),
    }
)


def _run(case, variant, simd):
    case = dict(case)
    rng = np.random.default_rng(case.pop("seed"))
    check_gemm(rng, case.pop("M"), case.pop("N"), case.pop("K"), variant=variant, simd=simd, **case)


@pytest.mark.parametrize("simd", SIMD_PATHS)
@SETTINGS
@given(case=gemm_cases)
def test_tuned_random(simd, case):
    _run(case, "tuned", simd)


@SETTINGS
@given(case=gemm_cases)
def test_blocked_random(case):
    _run(case, "blocked", None)
