"""sm_90 occupancy (sinapse.profiler.occupancy) against cases worked by hand from CUDA's rules, and the
shipped per-kernel resource table (sinapse.profiler.resources, written by tools/cuda_resources.py).

The hand computations (docstring of occupancy.py): registers per warp = regs x 32 rounded up to 256; a
sub-partition holds 16,384 / that warps, the SM 4 x that; shared per block = bytes + 1,024 rounded up to 128
into the 233,472-byte (228 KiB) carveout; at most 64 warps and 32 blocks per SM.
"""

import pytest

from sinapse.profiler import occupancy as occ
from sinapse.profiler import resources


def test_register_limited():
    # 64 regs: 2,048 per warp; 16,384 / 2,048 = 8 warps per sub-partition, 32 per SM; 8-warp blocks -> 4.
    r = occ.occupancy(256, 64, 0)
    assert (r["blocks_per_sm"], r["warps_per_sm"], r["limiter"]) == (4, 32, "registers")
    assert r["occupancy"] == 0.5
    assert r["limits"] == {"warps": 8, "registers": 4, "shared_memory": 228, "blocks": 32}


def test_register_allocation_unit_rounds_per_warp():
    # 33 regs: 1,056 per warp -> 1,280 (5 x 256); 16,384 // 1,280 = 12 per sub-partition -> 48 warps -> 12
    # blocks of 4 warps (without the rounding it would be 15).
    r = occ.occupancy(128, 33, 0)
    assert (r["blocks_per_sm"], r["warps_per_sm"], r["limiter"]) == (12, 48, "registers")
    assert r["occupancy"] == 0.75
    assert r["registers_per_block"] == 4 * 1280


def test_registers_are_split_over_four_sub_partitions():
    # 96 regs: 3,072 per warp; 16,384 // 3,072 = 5 per sub-partition -> 20 warps (65,536 // 3,072 would be 21).
    r = occ.occupancy(32, 96, 0)
    assert (r["blocks_per_sm"], r["limiter"]) == (20, "registers")


def test_shared_memory_limited():
    # 48 KiB + 1 KiB reserved = 50,176 bytes (a multiple of 128); 233,472 // 50,176 = 4 blocks of 4 warps.
    r = occ.occupancy(128, 32, 48 * 1024)
    assert (r["blocks_per_sm"], r["warps_per_sm"], r["limiter"]) == (4, 16, "shared_memory")
    assert r["occupancy"] == 0.25
    assert r["shared_bytes_allocated_per_block"] == 50176


def test_shared_memory_reserve_and_allocation_unit():
    # 10,000 + 1,024 = 11,024 -> 11,136 (87 x 128); 233,472 // 11,136 = 20 (21 without the rounding,
    # 23 without the reserved kilobyte).
    r = occ.occupancy(32, 16, 10_000)
    assert (r["blocks_per_sm"], r["limiter"]) == (20, "shared_memory")
    assert r["shared_bytes_allocated_per_block"] == 11136


def test_carveout_preference():
    # 25% of 228 KiB = 58,368 bytes -> the next carveout, 64 KiB; 65,536 // (8,192 + 1,024) = 7 blocks.
    r = occ.occupancy(128, 32, 8 * 1024, carveout_percent=25)
    assert (r["blocks_per_sm"], r["limiter"], r["shared_bytes_per_sm"]) == (7, "shared_memory", 65536)
    # The default carveout (all 228 KiB) leaves the 4-warp blocks limited by warps: 64 // 4 = 16.
    assert occ.occupancy(128, 32, 8 * 1024)["blocks_per_sm"] == 16


def test_block_count_limited():
    # One-warp blocks, few registers, no shared memory: 64 warps would fit, 32 blocks do.
    r = occ.occupancy(32, 16, 0)
    assert (r["blocks_per_sm"], r["warps_per_sm"], r["limiter"]) == (32, 32, "blocks")
    assert r["occupancy"] == 0.5


def test_warp_limited():
    # 256 threads = 8 warps: 64 // 8 = 8 blocks; registers would allow 16 (16 regs: 512 per warp).
    r = occ.occupancy(256, 16, 0)
    assert (r["blocks_per_sm"], r["warps_per_sm"], r["limiter"]) == (8, 64, "warps")
    assert r["occupancy"] == 1.0
    # 96 threads = 3 warps (a partial warp counts whole): 64 // 3 = 21 blocks, 63 warps.
    r = occ.occupancy(96, 16, 0)
    assert (r["blocks_per_sm"], r["warps_per_sm"], r["limiter"]) == (21, 63, "warps")


def test_opt_in_shared_memory():
    r = occ.occupancy(256, 32, 200 * 1024, opt_in=True)
    assert (r["blocks_per_sm"], r["limiter"]) == (1, "shared_memory")
    assert occ.occupancy(256, 32, 227 * 1024, opt_in=True)["blocks_per_sm"] == 1


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, 32, 0), {}, "threads_per_block"),
        ((1025, 32, 0), {}, "threads_per_block"),
        ((128, 256, 0), {}, "registers_per_thread"),
        ((128, 32, 48 * 1024 + 1), {}, "shared_bytes_per_block.*without the opt-in"),
        ((128, 32, 227 * 1024 + 1), {"opt_in": True}, "shared_bytes_per_block.*with the opt-in"),
        ((1024, 65, 0), {}, "exceed the 65536 registers"),
        ((128, 32, 0), {"carveout_percent": 101}, "carveout_percent"),
    ],
)
def test_launches_sm90_refuses_raise(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        occ.occupancy(*args, **kwargs)


def test_largest_register_block_fits():
    # 1,024 threads x 64 regs = 65,536 registers exactly: one block, 32 warps.
    r = occ.occupancy(1024, 64, 0)
    assert (r["blocks_per_sm"], r["warps_per_sm"]) == (1, 32)


def test_table_header_and_every_kernel_has_its_resources():
    table = resources.table()
    assert table["arch"] == "sm_90" and table["generated_by"] == "tools/cuda_resources.py"
    assert "13.0" in table["nvcc"]
    names = resources.kernel_names()
    assert {"gemm_tuned_kernel", "conv2d_forward_kernel", "axpy_kernel", "softmax_forward_kernel"} <= set(names)
    for name in names:
        r = resources.kernel_resources(name)
        assert 1 <= r["registers"] <= 255, name
        assert 0 <= r["static_shared_bytes"] <= 48 * 1024, name
        assert r["local_bytes"] >= 0 and r["spill_store_bytes"] >= 0 and r["spill_load_bytes"] >= 0, name
        assert r["constant_bytes"] > 0x210, name  # the driver's 0x210 bytes of bank 0 plus the parameters
        assert r["file"].startswith("csrc/cuda/") and r["symbol"], name


def test_tuned_gemm_resources_match_its_source():
    # gemm.cu: As[kBK][kBM + kPad] + Bs[kBK][kBN + kPad] floats = 2 x 16 x 68 x 4 = 8,704 bytes per stage,
    # two stages (double buffering) = 17,408.
    r = resources.kernel_resources("gemm_tuned_kernel")
    assert r["static_shared_bytes"] == 17408
    assert r["launch_block"] == [256, 1, 1]


@pytest.mark.parametrize("threads", [128, 256])
def test_every_kernel_has_a_valid_occupancy(threads):
    for name in resources.kernel_names():
        r = resources.kernel_resources(name)
        block = r["launch_block"]
        n = block[0] * block[1] * block[2] if block else threads
        result = occ.occupancy(n, r["registers"], r["static_shared_bytes"])
        assert 1 <= result["blocks_per_sm"] <= 32, name
        assert 0 < result["occupancy"] <= 1, name
        assert result["limiter"] in occ.LIMITERS, name


def test_unknown_kernel_names_the_tool():
    with pytest.raises(KeyError, match="no_such_kernel.*tools/cuda_resources.py"):
        resources.kernel_resources("no_such_kernel")


def test_mutant_is_reported_as_simulator_only():
    sim_only = resources.table()["simulator_only"]
    assert "gemm_naive_kernel<offbyone>" in sim_only
    with pytest.raises(KeyError, match="simulator-only"):
        resources.kernel_resources("gemm_naive_kernel<offbyone>")


# ---- tools/cuda_resources.py: its parsers (no nvcc needed), and the table against today's sources ----------
def _tool():
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "cuda_resources.py")
    spec = importlib.util.spec_from_file_location("cuda_resources_tool", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PTXAS_REPORT = """\
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z1kILi1EEvPf' for 'sm_90'
ptxas info    : Function properties for _Z1kILi1EEvPf
    24 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 17408 bytes smem, 400 bytes cmem[0]
ptxas info    : Compiling entry function '_Z1gv' for 'sm_90'
ptxas info    : Function properties for _Z1gv
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 16 registers, used 0 barriers
"""


def test_tool_reads_ptxas_reports():
    kernels = _tool().parse_ptxas(PTXAS_REPORT)
    assert kernels["_Z1kILi1EEvPf"] == {
        "local_bytes": 24,
        "spill_store_bytes": 8,
        "spill_load_bytes": 12,
        "registers": 255,
        "barriers": 1,
        "static_shared_bytes": 17408,
    }
    assert kernels["_Z1gv"]["registers"] == 16 and kernels["_Z1gv"]["static_shared_bytes"] == 0


SOURCE = """
constexpr int kBlock = 128, kHalf = kBlock / 2;
enum class Kind : int { plain = 0, fancy = 1 };
template <int kMode> __global__ void k(float* y) {}
template <bool kSync, bool kTurned = false> __global__ void tiled(float* y) {}
template <class V> __global__ void update(float* y) {}
template <bool kSync, bool kTurned = false>
void launch_tiled(const char* name, float* y) {
  launch(name, tiled<kSync, kTurned>, dim3(1), dim3(32, 8), 0, nullptr, y);
}
const char* kernel_name(Kind kind) {
  switch (kind) {
    case Kind::plain: return "plain_update_kernel";
    case Kind::fancy: return "fancy_update_kernel";
  }
  return "update_kernel";
}
void run(float* y, Kind kind, int threads) {
  launch("k_kernel", k<0>, dim3(1), dim3(kHalf), 0, nullptr, y);
  launch("k_kernel<mutant>", k<-1>, dim3(1), dim3(threads), 0, nullptr, y);
  launch_tiled<true>("tiled_kernel", y);
  launch_tiled<true, true>("tiled_turned_kernel", y);
  launch(kernel_name(kind), update<V>, dim3(1), dim3(kBlock), 0, nullptr, y);
}
"""


def test_tool_finds_launch_names_and_their_instantiations():
    tool = _tool()
    sites = tool.launch_sites(SOURCE, tool.enum_values(SOURCE))
    by_name = {name: (base, targs, required, block) for name, base, targs, required, block in sites}
    assert by_name["k_kernel"] == ("k", ["0"], "", [64, 1, 1])
    assert by_name["k_kernel<mutant>"] == ("k", ["-1"], "", None)  # block set at run time
    assert by_name["tiled_kernel"] == ("tiled", ["true", "false"], "", [32, 8, 1])  # the default bound
    assert by_name["tiled_turned_kernel"] == ("tiled", ["true", "true"], "", [32, 8, 1])
    assert by_name["fancy_update_kernel"] == ("update", [None], "Kind)1", [128, 1, 1])
    assert "update_kernel" not in by_name  # the unreachable fallback of the name function


def test_tool_matches_demangled_instantiations():
    tool = _tool()
    fancy = tool.demangled_parts(
        "void ns::(anonymous namespace)::update<ns::Variant<(ns::Kind)1, true, false>>(float*)"
    )
    assert fancy == ("update", ["ns::Variant<(ns::Kind)1,true,false>"])
    assert tool.matches(fancy, "update", [None], "Kind)1")
    assert not tool.matches(fancy, "update", [None], "Kind)0")
    tiled = tool.demangled_parts("void ns::(anonymous namespace)::tiled<true, false>(float*)")
    assert tool.matches(tiled, "tiled", ["true", "false"], "")
    assert not tool.matches(tiled, "tiled", ["true", "true"], "")
    assert tool.demangled_parts("ns::(anonymous namespace)::axpy_kernel(long, float)") == ("axpy_kernel", [])


def test_table_covers_every_launch_in_csrc_cuda():
    """The shipped table is current: the launch names in csrc/cuda/*.cu are the table's (else rerun the tool)."""
    import os

    tool = _tool()
    cuda = os.path.join(tool.ROOT, "csrc", "cuda")
    names, simulator_only = set(), set()
    for f in sorted(os.listdir(cuda)):
        if f.endswith(".cu"):
            path = os.path.join(cuda, f)
            real = {site[0] for site in tool.file_launch_sites(path, simulator=False)}
            names |= real
            simulator_only |= {site[0] for site in tool.file_launch_sites(path, simulator=True)} - real
    assert names == set(resources.kernel_names()), f"regenerate with `{resources.REGENERATE}`"
    assert simulator_only == set(resources.table()["simulator_only"])
