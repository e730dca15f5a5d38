"""The simulator's profiler (sinapse.cuda.simulate(profile=True)): its counts on kernels whose
answers are known by hand (csrc/cuda/sim/profiler_selftest.cu), exact FMA counts of the GEMMs,
results identical to the plain simulator's, and no access left unclassified by any kernel of a
training step."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import sinapse

if importlib.util.find_spec("sinapse._cuda_prof") is None:
    pytest.skip("built without the profiler (SINAPSE_CUDA_PROFILER=OFF or not GCC)", allow_module_level=True)
# Built means importable: a missing callback (a new __tsan_* symbol) must fail here, not skip.
import sinapse._cuda_prof as prof_module  # noqa: E402


def run_selftest(name: str, blocks: int, threads: int, in_floats_per_lane: int = 1, out_floats_per_lane: int = 1):
    n = blocks * threads
    x = np.arange(n * in_floats_per_lane, dtype=np.float32)
    y = np.zeros(n * out_floats_per_lane, dtype=np.float32)
    with sinapse.cuda.simulate(profile=True) as prof:
        prof_module.profile_selftest(name, x, y, blocks, threads)
    (rec,) = prof.records
    assert rec["name"] == name
    assert rec["unclassified_loads"] == rec["unclassified_stores"] == rec["duplicate_lane_events"] == 0
    return rec, x, y


# ---- global memory: sectors per request --------------------------------------------------------
@pytest.mark.parametrize(
    "name, threads, floats, sectors_per_load, ideal_per_load",
    [
        ("copy", 64, 1, 4, 4),  # 32 lanes x 4 consecutive bytes = 128 bytes = 4 sectors
        ("gather_stride32", 32, 32, 32, 4),  # every lane its own sector
        ("broadcast", 64, 1, 1, 1),  # one word for the whole warp
        ("copy_float4", 32, 4, 16, 16),  # 32 lanes x 16 bytes = 512 bytes
    ],
)
def test_global_sectors_per_request(name, threads, floats, sectors_per_load, ideal_per_load):
    out_floats = 4 if name == "copy_float4" else 1
    rec, x, y = run_selftest(name, 1, threads, floats, out_floats)
    warps = threads // 32
    assert rec["global_load_requests"] == warps
    assert rec["global_load_sectors"] == sectors_per_load * warps
    assert rec["global_load_ideal_sectors"] == ideal_per_load * warps
    assert rec["global_store_sectors"] == (16 if name == "copy_float4" else 4) * warps
    # the kernels still compute: the profiler only watches
    expected = {"copy": x, "gather_stride32": x[::32], "broadcast": np.full(threads, x[0]), "copy_float4": x}[name]
    np.testing.assert_array_equal(y, expected)


def test_dram_bytes_count_each_distinct_sector_once():
    rec, _, _ = run_selftest("broadcast", 1, 64)
    assert rec["global_load_requests"] == 2 and rec["global_load_sectors"] == 2  # one per warp
    assert rec["dram_read_bytes"] == 32  # ... but one sector from DRAM
    assert rec["dram_write_bytes"] == 64 * 4


# ---- shared memory: wavefronts (bank conflicts) ---------------------------------------------------
@pytest.mark.parametrize(
    "name, wavefronts",
    [("shared_stride1", 1), ("shared_stride2", 2), ("shared_stride32", 32), ("shared_stride33", 1)],
)
def test_shared_bank_conflicts(name, wavefronts):
    rec, x, y = run_selftest(name, 1, 32)
    for kind in ("load", "store"):
        assert rec[f"shared_{kind}_requests"] == 1
        assert rec[f"shared_{kind}_wavefronts"] == wavefronts
        assert rec[f"shared_{kind}_ideal_wavefronts"] == 1
    np.testing.assert_array_equal(y, x)


def test_shared_broadcast_is_one_wavefront():
    rec, x, y = run_selftest("shared_broadcast", 1, 32)
    assert rec["shared_load_requests"] == 1 and rec["shared_load_wavefronts"] == 1
    assert rec["shared_store_requests"] == 1 and rec["shared_store_wavefronts"] == 1  # lane 0 alone
    np.testing.assert_array_equal(y, np.full(32, x[0]))


# ---- compute and divergence ----------------------------------------------------------------------------
def test_fma_count_is_exact():
    rec, x, y = run_selftest("fma64", 2, 64)
    assert rec["fp32_fma"] == 64 * 128
    assert rec["flops"] >= 2 * 64 * 128
    assert rec["active_lane_fraction"] == 1.0


def test_divergence_counts_the_lanes_that_take_the_branch():
    rec, x, y = run_selftest("diverge_quarter", 1, 64)
    assert rec["fp32_fma"] == 16  # in * 3 + 1 on lanes 0-7 of each of the 2 warps
    assert rec["global_load_requests"] == 2 and rec["global_load_sectors"] == 2  # 8 lanes x 4 B = 1 sector
    assert 0 < rec["active_lane_fraction"] < 1
    expected = np.where((np.arange(64) % 32) < 8, x * 3 + 1, 0)
    np.testing.assert_array_equal(y, expected)


def test_shared_wavefront_model_for_wide_accesses():
    """float4 copies: 32 lanes x 16 bytes are served a quarter-warp at a time (4 phases)."""
    rec, _, _ = run_selftest("copy_float4", 1, 32, 4, 4)
    assert rec["shared_load_requests"] == 0  # global only; shared phases are checked below
    from sinapse.profiler._record import derived

    d = derived(rec)
    assert d["load_sectors_per_request"] == 16 and d["coalescing_efficiency"] == 1.0


# ---- real kernels ---------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["naive", "blocked", "tuned"])
@pytest.mark.parametrize("shape", [(64, 48, 40), (37, 29, 53)])  # the second: partial tiles everywhere
def test_gemm_fma_count_and_result(variant, shape):
    M, N, K = shape
    rng = np.random.default_rng(1)
    a = rng.standard_normal((M, K), dtype=np.float32)
    b = rng.standard_normal((K, N), dtype=np.float32)
    with sinapse.cuda.simulate():
        plain = sinapse.ops.gemm(a, b, variant=variant)
    with sinapse.cuda.simulate(profile=True) as prof:
        profiled = sinapse.ops.gemm(a, b, variant=variant)
    # the profiling build contracts a * b + c into one FMA, as nvcc does and the plain simulator
    # does not: the same sums, rounded differently
    np.testing.assert_allclose(profiled, plain, rtol=1e-4, atol=1e-4)
    (rec,) = prof.records
    assert rec["name"] == f"gemm_{variant}_kernel"
    # what each kernel multiplies (csrc/cuda/gemm.cu): naive, the product; blocked, 16 x 16 tiles
    # of C over 16-deep K tiles, zero-padded; tuned, 64 x 64 tiles of C over 16-deep K stages
    up = lambda n, t: -(-n // t) * t  # noqa: E731
    expected = {
        "naive": M * N * K,
        "blocked": up(M, 16) * up(N, 16) * up(K, 16),
        "tuned": up(M, 64) * up(N, 64) * up(K, 16),
    }
    assert rec["fp32_fma"] == expected[variant]
    assert rec["unclassified_loads"] == rec["unclassified_stores"] == rec["duplicate_lane_events"] == 0
    # every element of A, B and C moves at least once; the L2 model moves each sector once
    assert rec["dram_read_bytes"] >= 4 * (M * K + K * N)
    assert rec["dram_write_bytes"] >= 4 * M * N


def test_training_step_kernels_are_all_classified():
    """One training step of a small CNN (conv, pooling, batch norm, dropout, dense, softmax
    cross-entropy, Adam): every launch recorded, no access the profiler could not place."""
    model = sinapse.Sequential(
        [
            sinapse.Input((8, 8, 3)),
            sinapse.layers.Conv2D(8, 3, padding="same", activation="relu"),
            sinapse.layers.BatchNormalization(),
            sinapse.layers.MaxPooling2D(2),
            sinapse.layers.Dropout(0.25),
            sinapse.layers.Flatten(),
            sinapse.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8, 8, 3), dtype=np.float32)
    y = rng.integers(0, 10, 16).astype(np.int32)
    with sinapse.cuda.simulate(profile=True) as prof:
        model.train_on_batch(x, y)
    names = {r["name"] for r in prof.records}
    assert len(prof.records) > 10
    assert any(n.startswith("conv2d") for n in names) and any(n.startswith("gemm") for n in names)
    for r in prof.records:
        assert r["unclassified_loads"] == r["unclassified_stores"] == 0, r["launch"]
        assert r["duplicate_lane_events"] == 0, r["launch"]
        assert r["global_load_requests"] + r["global_store_requests"] + r["global_atomic_requests"] > 0, r["launch"]
    table = prof.table()
    assert table.count("\n") == len(prof.kernels()) + 1


def test_profile_is_empty_outside_and_none_without_profile():
    with sinapse.cuda.simulate() as nothing:
        sinapse.ops.gemm(np.ones((4, 4), np.float32), np.ones((4, 4), np.float32))
    assert nothing is None
    with sinapse.cuda.simulate(profile=True) as prof:
        pass
    assert prof.records == []


def test_sampled_blocks_scale_to_the_grid():
    """Tracing 4 of 64 blocks of a uniform kernel gives the exact counts of all 64."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((512, 64), dtype=np.float32)
    b = rng.standard_normal((64, 512), dtype=np.float32)
    with sinapse.cuda.simulate(profile=True) as full:
        sinapse.ops.gemm(a, b, variant="tuned")
    with sinapse.cuda.simulate(profile=True, sample_blocks=4) as sampled:
        sinapse.ops.gemm(a, b, variant="tuned")
    (f,), (s,) = full.records, sampled.records
    assert s["sampled_blocks"] == 4 and f["sampled_blocks"] == f["blocks"] == 64
    for key in ("fp32_fma", "global_load_requests", "global_load_sectors", "shared_load_wavefronts", "instructions"):
        assert s[key] == f[key], key
    assert s["dram_read_bytes"] == f["dram_read_bytes"]  # distinct sectors: every block


def test_sample_blocks_is_checked():
    with pytest.raises(ValueError, match="sample_blocks"):
        with sinapse.cuda.simulate(profile=True, sample_blocks=0):
            pass
