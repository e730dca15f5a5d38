"""Published peaks of the GPUs the roofline estimate targets: H100 SXM5 and H200 SXM (both sm_90, GH100).

Sources (each number below names its own):
- [H100-DS] NVIDIA H100 Tensor Core GPU datasheet (H100 SXM column).
- [H200-DS] NVIDIA H200 Tensor Core GPU datasheet (H200 SXM column).
- [WP] NVIDIA H100 Tensor Core GPU Architecture whitepaper ("Hopper whitepaper", 2022): the full GH100 has
  144 SMs and 60 MB of L2; the H100 SXM5 product enables 132 SMs and 50 MB of L2; 128 FP32 lanes per SM;
  shared memory has 32 banks of 4 bytes.
- [CUDA-PG] CUDA C++ Programming Guide, "Compute Capabilities" (sm_90 limits; see occupancy.py).

The datasheets' tensor-core figures are "with sparsity"; the dense rate (what a GEMM without 2:4 structured
sparsity reaches) is half of it, which is what this table stores. The issue's "H200's 60 MB L2" is the full
die's size [WP]; the H200 uses the GH100 in the same 132-SM configuration as the H100 SXM5 and its
datasheet lists no L2 size, so 50 MB is used for both (an assumption, stated in docs/cuda_profiler_model.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import occupancy as _sm90


@dataclass(frozen=True)
class GPU:
    """A GPU's peaks, in SI units (FLOP/s, bytes/s, bytes, seconds, Hz).

    Attributes:
        name: marketing name.
        sms: streaming multiprocessors enabled on the product.
        boost_clock_hz: the clock the FP32 peak is computed at.
        fp32_flops: FP32 SIMT peak (FMA = 2 FLOPs), no tensor cores.
        tf32_tensor_flops: TF32 tensor-core peak, dense (no structured sparsity).
        dram_bytes_per_s: HBM bandwidth.
        dram_bytes: HBM capacity.
        l2_bytes: L2 size enabled on the product.
        l2_bytes_per_s: L2 bandwidth (an estimate: NVIDIA publishes none; see the constant's comment).
        shared_bytes_per_clock_per_sm: shared-memory bandwidth of one SM (32 banks x 4 bytes).
        launch_overhead_s: the time of a launch that does almost nothing (a measured literature value).
    """

    name: str
    sms: int
    boost_clock_hz: float
    fp32_flops: float
    tf32_tensor_flops: float
    dram_bytes_per_s: float
    dram_bytes: float
    l2_bytes: int
    l2_bytes_per_s: float
    shared_bytes_per_clock_per_sm: int
    launch_overhead_s: float

    @property
    def shared_bytes_per_s(self) -> float:
        """Aggregate shared-memory bandwidth: banks x 4 bytes x clock x SMs."""
        return self.shared_bytes_per_clock_per_sm * self.boost_clock_hz * self.sms

    @property
    def max_warps(self) -> int:
        """Resident warps of the whole GPU at full occupancy (64 per SM on sm_90)."""
        return _sm90.MAX_WARPS_PER_SM * self.sms


SHARED_BANKS = 32  # [WP] / CUDA C++ Best Practices Guide "Shared Memory": 32 banks of 4 bytes
SHARED_BANK_BYTES = 4
# Short kernels launched back to back in one stream take a few microseconds each whatever they do (NVIDIA's
# "Getting Started with CUDA Graphs", A. Gray, NVIDIA Technical Blog, 2019: per-kernel launch overhead of a
# few microseconds on a V100, the reason CUDA Graphs exist). We take 3 us as the floor of any kernel's time:
# an order-of-magnitude literature value, not a specification and not measured here (CUDA Graphs lower it).
LAUNCH_OVERHEAD_S = 3e-6
# L2 bandwidth: NVIDIA publishes none for Hopper. 9.0 TB/s is an ASSUMPTION: a round figure of the order that
# public microbenchmarks report for H100's L2 (e.g. Chips and Cheese, "Nvidia's H100: Funny L2, and Tons of
# Bandwidth", 2023, measured on an H100 PCIe); no source was checked for this exact value, and none of it was
# measured here. Kernels whose bound is "l2" in the profile tables depend on it. Used for both GPUs (same L2).
L2_BYTES_PER_S_ESTIMATE = 9.0e12

H100_SXM = GPU(
    name="H100 SXM5",
    sms=132,  # [WP] H100 SXM5: 132 of GH100's 144 SMs
    boost_clock_hz=1.98e9,  # the clock of [H100-DS]'s FP32 peak: 67e12 / (132 SMs x 128 lanes x 2) = 1.98 GHz
    fp32_flops=66.9e12,  # [H100-DS] FP32 67 teraFLOPS (66.9 from the line above)
    tf32_tensor_flops=494.7e12,  # [H100-DS] TF32 Tensor Core 989 teraFLOPS with sparsity -> 494.7 dense
    dram_bytes_per_s=3.35e12,  # [H100-DS] HBM3 3.35 TB/s
    dram_bytes=80e9,  # [H100-DS] 80 GB
    l2_bytes=50 * 1024 * 1024,  # [WP] 50 MB on H100 SXM5 (the full GH100 die has 60 MB)
    l2_bytes_per_s=L2_BYTES_PER_S_ESTIMATE,  # estimate, see above
    shared_bytes_per_clock_per_sm=SHARED_BANKS * SHARED_BANK_BYTES,  # 128 B/clock/SM
    launch_overhead_s=LAUNCH_OVERHEAD_S,
)

H200 = H200_SXM = GPU(
    name="H200 SXM",
    sms=132,  # same GH100 configuration as H100 SXM5 ([H200-DS]: same compute peaks as H100 SXM)
    boost_clock_hz=1.98e9,  # as H100 SXM5 (the FP32 peak is identical: 67 teraFLOPS)
    fp32_flops=66.9e12,  # [H200-DS] FP32 67 teraFLOPS
    tf32_tensor_flops=494.7e12,  # [H200-DS] TF32 Tensor Core 989 teraFLOPS with sparsity -> 494.7 dense
    dram_bytes_per_s=4.8e12,  # [H200-DS] HBM3e 4.8 TB/s
    dram_bytes=141e9,  # [H200-DS] 141 GB
    l2_bytes=50 * 1024 * 1024,  # [H200-DS] lists none: the 132-SM GH100's 50 MB [WP], an assumption
    l2_bytes_per_s=L2_BYTES_PER_S_ESTIMATE,  # estimate, see above
    shared_bytes_per_clock_per_sm=SHARED_BANKS * SHARED_BANK_BYTES,  # 128 B/clock/SM
    launch_overhead_s=LAUNCH_OVERHEAD_S,
)

GPUS = {"H100": H100_SXM, "H100 SXM5": H100_SXM, "H200": H200, "H200 SXM": H200}
