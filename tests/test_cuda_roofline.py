"""The H200 roofline estimate (sinapse.profiler.roofline) on synthetic profiler records whose answers are
worked by hand from hardware.H200: FP32 66.9 TFLOP/s (33.45 T lane-ops/s), HBM 4.8 TB/s, L2 9.0 TB/s
(estimate), shared 128 B/clock/SM x 1.98 GHz x 132 SMs, 4 warp instructions/clock/SM, launch 3 us.
"""

import math

import pytest

from sinapse.profiler import hardware
from sinapse.profiler.roofline import estimate, flops_of, reference_time


def record(**counts):
    """A launch record (the keys of simulate(profile=True)'s records) with every counter 0 unless given."""
    base = {
        "name": "synthetic_kernel",
        "grid": (1, 1, 1),
        "block": (256, 1, 1),
        "dynamic_shared_bytes": 0,
        "blocks": 1,
        "threads": 256,
        "active_lane_fraction": 1.0,
    }
    for key in (
        "global_load_requests global_load_sectors global_load_ideal_sectors global_load_bytes "
        "global_store_requests global_store_sectors global_store_ideal_sectors global_store_bytes "
        "dram_read_bytes dram_write_bytes shared_load_requests shared_load_wavefronts shared_store_requests "
        "shared_store_wavefronts fp32_fma fp32_add fp32_mul fp32_div fp32_sqrt fp32_other special "
        "instructions warp_instructions"
    ).split():
        base[key] = 0
    base.update(counts)
    base["grid"] = (base["blocks"], 1, 1)
    return base


def test_h200_numbers():
    g = hardware.H200
    assert (g.sms, g.dram_bytes_per_s, g.fp32_flops, g.l2_bytes) == (132, 4.8e12, 66.9e12, 50 * 1024 * 1024)
    # 32 banks x 4 bytes x 1.98 GHz x 132 SMs = 33.45 TB/s of shared memory
    assert g.shared_bytes_per_s == pytest.approx(128 * 1.98e9 * 132)
    assert hardware.H100_SXM.dram_bytes_per_s == 3.35e12 and hardware.H100_SXM.fp32_flops == g.fp32_flops


def test_pure_dram_copy():
    # y = x for n = 2**26 floats (256 MiB, larger than L2: every sector goes to DRAM once).
    n = 2**26
    r = estimate(
        record(
            blocks=n // 256,
            dram_read_bytes=4 * n,
            dram_write_bytes=4 * n,
            global_load_sectors=4 * n // 32,
            global_store_sectors=4 * n // 32,
            warp_instructions=8 * n // 32,
        )
    )
    # DRAM: 2 x 268,435,456 B / 4.8e12 B/s = 111.848 us; L2: same bytes / 9.0e12 = 59.65 us;
    # issue: 16,777,216 warp instructions / (4 x 1.98e9 x 132) = 16.05 us.
    assert r["bound"] == "dram"
    assert r["dram_s"] == pytest.approx(111.84810666666666e-6)
    assert r["l2_s"] == pytest.approx(59.652323555555555e-6)
    assert r["time_s"] == pytest.approx(114.84810666666667e-6)  # + 3 us launch
    assert r["flops"] == 0 and r["share_of_peak"] == 0 and r["arithmetic_intensity"] == 0


def test_pure_compute_fma_loop():
    # 132 x 16 blocks of 256 threads, 10,000 FMAs each, an unrolled FMA stream (one warp instruction per FMA).
    threads = 132 * 16 * 256
    fma = threads * 10_000
    rec = record(blocks=132 * 16, fp32_fma=fma, warp_instructions=fma // 32)
    r = estimate(rec)
    # 5,406,720,000 FMA lane-ops / 33.45e12 per s = 161.636 us; + 3 us launch = 164.636 us.
    assert r["bound"] == "compute"
    assert r["fp32_s"] == pytest.approx(161.63587443946187e-6)
    assert r["time_s"] == pytest.approx(164.63587443946186e-6)
    assert r["flops"] == 2 * fma == flops_of(rec)
    # share of peak: 1.081344e10 FLOPs / 164.636 us / 66.9e12 = 0.98178
    assert r["share_of_peak"] == pytest.approx(0.9817779690470614)
    assert r["arithmetic_intensity"] is None  # no DRAM traffic

    # Half the lanes diverged away: the same FLOPs take twice the FP32 time.
    half = estimate(dict(rec, active_lane_fraction=0.5))
    assert half["fp32_s"] == pytest.approx(2 * r["fp32_s"])

    # 255 registers x 256 threads: 8 warps per SM (one block) < 16 needed to hide the FP32 latency -> x2.
    low = estimate(rec, {"registers": 255, "static_shared_bytes": 0})
    assert low["occupancy"]["warps_per_sm"] == 8
    assert low["latency_factor"] == 0.5
    assert low["fp32_s"] == pytest.approx(2 * r["fp32_s"])
    # 32 registers: 8 blocks of 8 warps fit, 64 >= 16: full speed.
    full = estimate(rec, {"registers": 32, "static_shared_bytes": 0})
    assert full["latency_factor"] == 1.0 and full["fp32_s"] == pytest.approx(r["fp32_s"])


def test_shared_bound():
    # 1e8 wavefronts x 128 B / (128 B/clock x 1.98e9 x 132 SMs) = 382.614 us.
    r = estimate(record(blocks=1320, shared_load_wavefronts=6 * 10**7, shared_store_wavefronts=4 * 10**7))
    assert r["bound"] == "shared"
    assert r["shared_s"] == pytest.approx(382.61401897765536e-6)
    # The same wavefronts from 2 blocks run on 2 SMs: 66 times longer (25.25 ms).
    two = estimate(record(blocks=2, shared_load_wavefronts=10**8))
    assert two["sms_used"] == 2 and two["shared_s"] == pytest.approx(25.252525252525252e-3)


def test_l2_bound():
    # 1e9 sectors re-read from a 1 MB working set (DRAM sees it once): 32e9 B / 9.0e12 B/s = 3.5556 ms.
    r = estimate(record(blocks=1320, global_load_sectors=10**9, dram_read_bytes=2**20))
    assert r["bound"] == "l2"
    assert r["l2_s"] == pytest.approx(32e9 / 9.0e12)


def test_launch_bound_tiny_kernel():
    # 32 floats copied by one warp: 256 bytes of DRAM (53 ps), 2 warp instructions: the 3 us launch dominates.
    r = estimate(
        record(block=(32, 1, 1), dram_read_bytes=128, dram_write_bytes=128, global_load_sectors=4, warp_instructions=2)
    )
    assert r["bound"] == "launch"
    # issue (reported, not in the bound): 2 / (4 x 1.98e9 x 1 SM x 1/16 latency factor: one warp) = 4.04 ns
    assert r["issue_s"] == pytest.approx(2 / (4 * 1.98e9 / 16))
    # the largest other term is DRAM's: 256 B / 4.8e12 B/s = 53.3 ps
    assert r["time_s"] == pytest.approx(3e-6 + 256 / 4.8e12)


def test_issue_is_not_in_the_bound():
    """The x86 build's instruction count is reported, never the bound (docs in roofline.py)."""
    r = estimate(record(blocks=132, warp_instructions=10**9))
    assert r["issue_s"] > 1e-4 and r["bound"] == "launch"


def test_h100_is_slower_on_dram():
    rec = record(blocks=10_000, dram_read_bytes=10**9)
    assert estimate(rec, gpu=hardware.H100_SXM)["dram_s"] == pytest.approx(1e9 / 3.35e12)
    assert estimate(rec)["dram_s"] == pytest.approx(1e9 / 4.8e12)


def test_bad_records_raise():
    rec = record()
    del rec["fp32_fma"]
    with pytest.raises(KeyError, match="fp32_fma"):
        estimate(rec)
    with pytest.raises(ValueError, match="blocks"):
        estimate(record(blocks=0))
    with pytest.raises(ValueError, match="active_lane_fraction"):
        estimate(record(warp_instructions=10, active_lane_fraction=1.5))


def test_reference_gemm():
    # 2 x 4096^3 = 1.374e11 FLOPs at 0.70 x 66.9 TFLOP/s = 2.9348 ms (+3 us); TF32 at 0.70 x 494.7 = 396.9 us.
    r = reference_time("gemm", (4096, 4096, 4096))
    assert r["library"] == "cuBLAS" and r["flops"] == 2 * 4096**3
    assert r["time_s"] == pytest.approx(2.9378484619261157e-3)
    assert r["bytes"] == 3 * 4096 * 4096 * 4
    assert reference_time("gemm", (4096, 4096, 4096), precision="tf32")["time_s"] == pytest.approx(
        0.3998897556152358e-3
    )
    # A skinny GEMM is DRAM-bound: (1 x 2^24 + 2^24 x 1 + 1) floats at 4.8 TB/s = 27.96 us.
    thin = reference_time("gemm", (1, 1, 2**24))
    assert thin["time_s"] == pytest.approx(4 * (2 * 2**24 + 1) / 4.8e12 + 3e-6)


def test_reference_conv2d():
    shape = {"N": 32, "H": 32, "W": 32, "C": 64, "K": 64, "KH": 3, "KW": 3}
    r = reference_time("conv2d", shape)
    # 2 x 32 x 32 x 32 x 64 x 64 x 9 = 2,415,919,104 FLOPs / (0.60 x 66.9e12) = 60.19 us (+3 us).
    assert r["library"] == "cuDNN" and r["flops"] == 2_415_919_104
    assert r["time_s"] == pytest.approx(6.318732197309417e-05)
    assert r["bytes"] == 16_924_672
    assert math.isclose(reference_time("conv2d", dict(shape, OH=16, OW=16))["flops"], 2_415_919_104 / 4)


@pytest.mark.parametrize(
    "kind, shape, precision, match",
    [
        ("fft", (1, 2, 3), "fp32", "kind"),
        ("gemm", (1, 2), "fp32", r"\(M, N, K\)"),
        ("conv2d", {"N": 1}, "fp32", "conv2d shape"),
        ("gemm", (1, 2, 3), "fp16", "precision"),
    ],
)
def test_reference_bad_arguments(kind, shape, precision, match):
    with pytest.raises(ValueError, match=match):
        reference_time(kind, shape, precision=precision)
