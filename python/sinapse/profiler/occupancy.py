"""CUDA's occupancy rules for sm_90 (H100, H200): how many blocks of a kernel one SM holds at once.

The calculation is the one `cudaOccupancyMaxActiveBlocksPerMultiprocessor` performs, written out in the
CUDA toolkit's header `cuda_occupancy.h` (CUDA 13.0: `cudaOccMaxBlocksPerSMWarpsLimit`,
`cudaOccMaxBlocksPerSMRegsLimit`, `cudaOccMaxBlocksPerSMSmemLimit`, `cudaOccMaxBlocksPerMultiprocessor`),
which is also the logic of NVIDIA's CUDA Occupancy Calculator. The blocks per SM are the smallest of four
limits:

- warps: 64 resident warps (2,048 threads) per SM / the block's warps (threads rounded up to 32);
- registers: registers are given to warps in units of 256 (registers per thread x 32 rounded up to 256);
  each of the SM's 4 sub-partitions has 65,536 / 4 = 16,384 registers, so it holds
  floor(16,384 / registers per warp) warps, and the SM 4 x that many, divided among blocks;
- shared memory: the block's static + dynamic bytes plus the 1 KiB the driver reserves per block
  (`reservedSharedMemPerBlock`), rounded up to 128 bytes, into the SM's shared-memory carveout;
- blocks: at most 32 resident blocks per SM.

The constants (CUDA C++ Programming Guide, "Compute Capabilities", table "Technical Specifications per
Compute Capability", column 9.0, and `cuda_occupancy.h` for the allocation units and sub-partitions):

| quantity | sm_90 |
|---|---|
| 32-bit registers per SM / per block | 65,536 / 65,536 |
| register allocation unit (per warp) | 256 |
| maximum registers per thread | 255 |
| resident warps / threads / blocks per SM | 64 / 2,048 / 32 |
| threads per block | 1,024 |
| shared memory per SM | 228 KiB, carveouts 0, 8, 16, 32, 64, 100, 132, 164, 196, 228 KiB |
| shared memory per block | 48 KiB, 227 KiB with opt-in (`cudaFuncAttributeMaxDynamicSharedMemorySize`) |
| shared memory reserved by the system per block | 1 KiB |
| shared memory allocation unit | 128 bytes |

Not modelled: barrier slots (sm_90 has 2 per resident-block slot = 64, and every sinapse kernel uses at
most one named barrier, so they never limit) and partitioned global caching (not on sm_90).
"""

from __future__ import annotations

WARP_SIZE = 32
REGISTERS_PER_SM = 65536
REGISTERS_PER_BLOCK = 65536
REGISTER_ALLOCATION_UNIT = 256  # registers, per warp
SUB_PARTITIONS = 4  # each holds REGISTERS_PER_SM / 4 registers
MAX_REGISTERS_PER_THREAD = 255
MAX_WARPS_PER_SM = 64
MAX_THREADS_PER_SM = MAX_WARPS_PER_SM * WARP_SIZE
MAX_BLOCKS_PER_SM = 32
MAX_THREADS_PER_BLOCK = 1024
KIB = 1024
SHARED_PER_SM = 228 * KIB
SHARED_CARVEOUTS = tuple(k * KIB for k in (0, 8, 16, 32, 64, 100, 132, 164, 196, 228))
SHARED_PER_BLOCK = 48 * KIB
SHARED_PER_BLOCK_OPTIN = 227 * KIB
SHARED_RESERVED_PER_BLOCK = 1 * KIB
SHARED_ALLOCATION_UNIT = 128

LIMITERS = ("warps", "registers", "shared_memory", "blocks")


def _round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


def _carveout_bytes(percent: int | None, allocated_per_block: int) -> int:
    """The SM's shared-memory size for a carveout preference (`cudaOccSMemPreferenceVoltaPlus`).

    None is the default preference (the whole 228 KiB); a percentage p asks for p% of 228 KiB, rounded up
    to the next supported size; a preference smaller than one block's allocation is raised to fit it.
    """
    wanted = SHARED_PER_SM if percent is None else percent * SHARED_PER_SM // 100
    if wanted < allocated_per_block:
        wanted = allocated_per_block
    return next(size for size in SHARED_CARVEOUTS if size >= wanted)


def _check(threads_per_block: int, registers_per_thread: int, shared_bytes_per_block: int, opt_in: bool) -> None:
    if not 1 <= threads_per_block <= MAX_THREADS_PER_BLOCK:
        raise ValueError(
            f"occupancy: threads_per_block must be in [1, {MAX_THREADS_PER_BLOCK}] on sm_90, got {threads_per_block}"
        )
    if not 0 <= registers_per_thread <= MAX_REGISTERS_PER_THREAD:
        raise ValueError(
            f"occupancy: registers_per_thread must be in [0, {MAX_REGISTERS_PER_THREAD}] on sm_90, got {registers_per_thread}"
        )
    limit = SHARED_PER_BLOCK_OPTIN if opt_in else SHARED_PER_BLOCK
    if not 0 <= shared_bytes_per_block <= limit:
        how = "with" if opt_in else "without"
        raise ValueError(
            f"occupancy: shared_bytes_per_block must be in [0, {limit}] on sm_90 {how} the opt-in "
            f"(cudaFuncAttributeMaxDynamicSharedMemorySize), got {shared_bytes_per_block}"
        )
    warps = -(-threads_per_block // WARP_SIZE)
    per_warp = _round_up(registers_per_thread * WARP_SIZE, REGISTER_ALLOCATION_UNIT)
    # The hardware's per-block check assumes the block's warps spread over all 4 sub-partitions.
    if per_warp * _round_up(warps, SUB_PARTITIONS) > REGISTERS_PER_BLOCK:
        raise ValueError(
            f"occupancy: {threads_per_block} threads x {registers_per_thread} registers exceed the "
            f"{REGISTERS_PER_BLOCK} registers of a block on sm_90 (the launch fails: too many resources requested)"
        )


def occupancy(
    threads_per_block: int,
    registers_per_thread: int,
    shared_bytes_per_block: int = 0,
    *,
    opt_in: bool = False,
    carveout_percent: int | None = None,
) -> dict:
    """Resident blocks and warps per SM of a kernel on sm_90, as `cudaOccupancyMaxActiveBlocksPerMultiprocessor`.

    Args:
        threads_per_block: blockDim.x * blockDim.y * blockDim.z, 1..1024.
        registers_per_thread: the kernel's registers (ptxas `-v`, `cudaFuncAttributes.numRegs`), 0..255.
        shared_bytes_per_block: static + dynamic shared memory of one block in bytes, without the 1 KiB the
            system reserves (added here); at most 48 KiB, or 227 KiB when `opt_in`.
        opt_in: the kernel raised its limit with cudaFuncAttributeMaxDynamicSharedMemorySize.
        carveout_percent: cudaFuncAttributePreferredSharedMemoryCarveout (0..100), None for the default.

    Returns:
        dict with blocks_per_sm, warps_per_sm, occupancy (warps_per_sm / 64), limiter (the first of
        "warps", "registers", "shared_memory", "blocks" whose limit equals blocks_per_sm), limits (the
        blocks each rule allows), registers_per_block and shared_bytes_allocated_per_block (as allocated),
        shared_bytes_per_sm (the carveout used).

    Raises:
        ValueError: a launch sm_90 refuses (threads, registers or shared memory over a limit).
    """
    if carveout_percent is not None and not 0 <= carveout_percent <= 100:
        raise ValueError(f"occupancy: carveout_percent must be in [0, 100] or None, got {carveout_percent}")
    _check(threads_per_block, registers_per_thread, shared_bytes_per_block, opt_in)
    warps = -(-threads_per_block // WARP_SIZE)
    per_warp = _round_up(registers_per_thread * WARP_SIZE, REGISTER_ALLOCATION_UNIT)
    if per_warp:
        warps_per_sub_partition = (REGISTERS_PER_SM // SUB_PARTITIONS) // per_warp
        by_registers = warps_per_sub_partition * SUB_PARTITIONS // warps
    else:
        by_registers = MAX_BLOCKS_PER_SM
    shared = _round_up(shared_bytes_per_block + SHARED_RESERVED_PER_BLOCK, SHARED_ALLOCATION_UNIT)
    carveout = _carveout_bytes(carveout_percent, shared)
    limits = {
        "warps": MAX_WARPS_PER_SM // warps,
        "registers": by_registers,
        "shared_memory": carveout // shared,
        "blocks": MAX_BLOCKS_PER_SM,
    }
    blocks = min(limits.values())
    return {
        "blocks_per_sm": blocks,
        "warps_per_sm": blocks * warps,
        "occupancy": blocks * warps / MAX_WARPS_PER_SM,
        "limiter": next(name for name in LIMITERS if limits[name] == blocks),
        "limits": limits,
        "registers_per_block": per_warp * warps,
        "shared_bytes_allocated_per_block": shared,
        "shared_bytes_per_sm": carveout,
    }
