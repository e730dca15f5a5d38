"""The profiler runs every sinapse CUDA kernel: bench cuda_profile's workloads (a training step
of each seed model and of the later lessons' layers, tuned and naive variants) at batch 2, one
block traced per launch, launch every kernel of the resource table, and no access of any of
them is left unclassified."""

from __future__ import annotations

import importlib.util

import pytest

import sinapse

if importlib.util.find_spec("sinapse._cuda_prof") is None:
    pytest.skip("built without the profiler (SINAPSE_CUDA_PROFILER=OFF or not GCC)", allow_module_level=True)
# Built means importable: a missing callback (a new __tsan_* symbol) must fail here, not skip.
import sinapse._cuda_prof  # noqa: E402,F401
from bench.suites import _cuda_workloads as work  # noqa: E402
from sinapse.profiler import resources  # noqa: E402

# The big seed models launch no kernel the smaller workloads do not (the bench runs them all).
SKIPPED = {"geron_cnn", "keras_mnist_cnn", "char_lstm"}


def test_every_kernel_runs_under_the_profiler():
    seen: dict[str, dict] = {}
    for _, variants, names in work.PASSES:
        for name, _, build in work.WORKLOADS:
            if name in SKIPPED or (names is not None and name not in names):
                continue
            with variants():
                step = build(batch=2)
                step()
                with sinapse.cuda.simulate(profile=True, sample_blocks=1) as prof:
                    step()
            for r in prof.records:
                assert r["unclassified_loads"] == r["unclassified_stores"] == 0, r["launch"]
                assert r["duplicate_lane_events"] == 0, r["launch"]
                seen.setdefault(r["name"], r)
    missing = sorted(set(resources.kernel_names()) - set(seen))
    assert not missing, f"kernels no workload ran: {missing}"
    assert set(seen) <= set(resources.kernel_names()), sorted(set(seen) - set(resources.kernel_names()))
