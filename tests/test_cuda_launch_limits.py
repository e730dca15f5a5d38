"""Launch limits of sm_90 in the SIMT simulator, and the kernels that used to break them.

A launch a real H100/H200 would refuse (grid and block shape, registers per block, shared
memory with and without the dynamic opt-in) fails in the simulator too, naming the launch
and the limit (csrc/cuda/sim/scheduler.cpp, check_launch). The launchers that could exceed a
limit for sizes the ops accept now split or re-shape their grids; they are run here just
past the old limit (or, where that is too slow for the simulator, with the split forced
small by the set_grid_chunk test hook). Also the SINAPSE_CUDA_SYNC debug switch.
"""

import importlib.resources
import os
import subprocess
import sys

import numpy as np
import pytest

import sinapse
from sinapse import _cuda_limits, ops

pytestmark = pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="built without the CUDA simulator")

KIB = 1024


@pytest.fixture
def sim():
    """The simulator module, with its registers table, grid chunk and sync setting restored after the test."""
    module = sinapse._cuda_sim
    registers, sync = module.kernel_registers(), module.sync_launches()
    yield module
    module.set_kernel_registers(registers)
    module.set_grid_chunk(0)
    module.set_sync_launches(sync)


def launch(name, grid, block, dynamic_shared=0, opt_in=-1):
    threads = block[0] * block[1] * block[2]
    x = np.arange(threads, dtype=np.float32)
    out = np.zeros(threads, np.float32)
    sinapse._cuda_sim.selftest_launch(name, x.ctypes.data, out.ctypes.data, grid, block, dynamic_shared, opt_in)
    return x, out


def refused(desc, what):
    """The error of a launch past a limit: the launch description, then the limit, value and bound."""
    return pytest.raises(RuntimeError, match=rf"CUDA kernel {desc}[: ].*{what}")


# ---- grid and block shape ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("grid", "what"),
    [
        ((2**31, 1, 1), r"invalid grid shape: grid\.x = 2147483648, at most 2147483647 \(sm_90\)"),
        ((1, 65536, 1), r"invalid grid shape: grid\.y = 65536, at most 65535"),
        ((1, 1, 65536), r"invalid grid shape: grid\.z = 65536, at most 65535"),
    ],
)
def test_grid_past_its_limit_is_refused(sim, grid, what):
    desc = rf"noop<<<grid=\({grid[0]}, {grid[1]}, {grid[2]}\), block=\(1, 1, 1\), shared=0 B>>>"
    with refused(desc, what):
        launch("noop", grid, (1, 1, 1))


@pytest.mark.parametrize("grid", [(1, 65535, 1), (1, 1, 65535)])
def test_grid_at_its_limit_runs(sim, grid):
    launch("noop", grid, (1, 1, 1))
    assert sim.last_launch().startswith(f"noop<<<grid=({grid[0]}, {grid[1]}, {grid[2]})")


@pytest.mark.parametrize(
    ("block", "what"),
    [
        ((1025, 1, 1), r"invalid block shape: block\.x = 1025, at most 1024"),
        ((1, 1025, 1), r"invalid block shape: block\.y = 1025, at most 1024"),
        ((1, 1, 65), r"invalid block shape: block\.z = 65, at most 64"),
        ((32, 32, 2), r"invalid block shape: threads per block = 2048, at most 1024"),
    ],
)
def test_block_past_its_limit_is_refused(sim, block, what):
    with refused(r"noop<<<grid=\(1, 1, 1\), block=.*", what):
        launch("noop", (1, 1, 1), block)


@pytest.mark.parametrize("block", [(1024, 1, 1), (1, 1024, 1), (16, 1, 64)])
def test_block_at_its_limit_runs(sim, block):
    launch("noop", (1, 1, 1), block)


# ---- registers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("registers", "threads", "fits"),
    [
        (64, 1024, True),  # 64 x 32 = 2048 per warp x 32 warps = 65536
        (65, 1024, False),  # 2080 -> 2304 per warp x 32 = 73728
        (66, 896, True),  # 2304 x 28 = 64512
        (66, 992, False),  # 2304 x 31 = 71424: only the per-warp rounding makes it fail (66 x 992 = 65472)
        (255, 256, True),  # 8160 -> 8192 x 8 = 65536
    ],
)
def test_registers_per_block_are_rounded_per_warp_and_checked(sim, registers, threads, fits):
    sim.set_kernel_registers({"noop": registers})
    if fits:
        launch("noop", (2, 1, 1), (threads, 1, 1))
        return
    per_warp = -(-registers * 32 // 256) * 256
    total = per_warp * -(-threads // 32)
    what = (
        rf"too many resources requested: registers per block = {total}, at most 65536 \(sm_90\): "
        rf"{registers} registers per thread \(nvcc\), {per_warp} per warp"
    )
    with refused(rf"noop<<<grid=\(2, 1, 1\), block=\({threads}, 1, 1\), shared=0 B>>>", what):
        launch("noop", (2, 1, 1), (threads, 1, 1))


def test_kernels_missing_from_the_registers_table_are_not_checked(sim):
    sim.set_kernel_registers({"some_other_kernel": 255})
    launch("noop", (1, 1, 1), (1024, 1, 1))
    assert sim.kernel_registers() == {"some_other_kernel": 255}


# ---- shared memory ------------------------------------------------------------------------------
def test_dynamic_shared_memory_up_to_48_kib_needs_no_opt_in(sim):
    x, out = launch("dynamic_shared_copy", (2, 1, 1), (64, 1, 1), 48 * KIB, opt_in=0)
    np.testing.assert_array_equal(out, x)


def test_dynamic_shared_memory_above_48_kib_needs_the_opt_in(sim):
    what = r"too much shared memory: dynamic shared memory = 49156, at most 49152 \(sm_90\) without an opt-in"
    with refused(r"dynamic_shared_copy<<<.*shared=49156 B>>>", what):
        launch("dynamic_shared_copy", (1, 1, 1), (64, 1, 1), 48 * KIB + 4, opt_in=0)
    x, out = launch("dynamic_shared_copy", (1, 1, 1), (64, 1, 1), 64 * KIB, opt_in=64 * KIB)
    np.testing.assert_array_equal(out, x)
    launch("dynamic_shared_copy", (1, 1, 1), (64, 1, 1), 64 * KIB)  # the attribute stays set, as in CUDA
    with refused(r"dynamic_shared_copy<<<.*", r"dynamic shared memory = 65540, at most 65536.*MaxDynamicShared"):
        launch("dynamic_shared_copy", (1, 1, 1), (64, 1, 1), 64 * KIB + 4)
    launch("dynamic_shared_copy", (1, 1, 1), (64, 1, 1), 227 * KIB, opt_in=227 * KIB)
    launch("noop", (1, 1, 1), (1, 1, 1), opt_in=0)  # back to the default for the other tests


def test_an_opt_in_above_227_kib_is_refused(sim):
    with pytest.raises(
        RuntimeError, match=r"cudaFuncSetAttribute\(MaxDynamicSharedMemorySize, 232449\): at most 232448"
    ):
        launch("dynamic_shared_copy", (1, 1, 1), (64, 1, 1), 0, opt_in=227 * KIB + 1)


def test_static_shared_memory_is_at_most_48_kib(sim):
    x, out = launch("static_shared_48k", (2, 1, 1), (64, 1, 1))
    np.testing.assert_array_equal(out, x)
    what = r"failed in the simulator: block \(0, 0, 0\) thread .*static shared memory of the block \(49156 B\) exceeds 49152 B"
    with refused(r"static_shared_over_48k<<<grid=\(1, 1, 1\), block=\(64, 1, 1\), shared=0 B>>>", what):
        launch("static_shared_over_48k", (1, 1, 1), (64, 1, 1))


def test_static_plus_dynamic_shared_memory_without_the_opt_in_is_at_most_48_kib(sim):
    x, out = launch("static_shared_16k", (1, 1, 1), (64, 1, 1), 32 * KIB, opt_in=0)
    np.testing.assert_array_equal(out, x)
    what = (
        r"static shared memory of the block \(16384 B\) exceeds 16368 B: .* static \+ dynamic \(32784 B\) at most 49152"
    )
    with refused(r"static_shared_16k<<<.*", what):
        launch("static_shared_16k", (1, 1, 1), (64, 1, 1), 32 * KIB + 16)


def test_static_plus_the_opted_in_dynamic_maximum_is_at_most_227_kib(sim):
    launch("static_shared_16k", (1, 1, 1), (64, 1, 1), 211 * KIB, opt_in=211 * KIB)  # 16 + 211 = 227 KiB
    what = r"exceeds 16368 B: static shared memory is at most 49152 B, and static \+ the opted-in dynamic maximum"
    with refused(r"static_shared_16k<<<.*", what):
        launch("static_shared_16k", (1, 1, 1), (64, 1, 1), 0, opt_in=211 * KIB + 16)
    launch("static_shared_16k", (1, 1, 1), (64, 1, 1), opt_in=0)


# ---- the registers table --------------------------------------------------------------------------
def test_simulate_hands_the_packaged_registers_table_to_the_simulator(sim):
    sim.set_kernel_registers({})
    _cuda_limits.configure_simulator.cache_clear()
    with sinapse.cuda.simulate():
        pass
    assert sim.kernel_registers() == _cuda_limits.kernel_registers()


def test_registers_table_is_read_from_the_package_data(monkeypatch, tmp_path):
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)
    read = _cuda_limits.kernel_registers.__wrapped__
    assert read() == {}  # no table yet: nothing to check against
    table = tmp_path / "data" / _cuda_limits.RESOURCE_TABLE
    table.write_text('{"arch": "sm_90", "kernels": {"gemm_tuned_kernel": {"registers": 90, "local_bytes": 0}}}')
    assert read() == {"gemm_tuned_kernel": 90}
    table.write_text('{"arch": "sm_80", "kernels": {}}')
    with pytest.raises(ValueError, match=r"cuda_resources_sm90\.json: not a resource table of sm_90.*'sm_80'"):
        read()
    table.write_text('{"arch": "sm_90", "kernels": {"k": {"shared": 0}}}')
    with pytest.raises(ValueError, match=r"cuda_resources_sm90\.json"):
        read()


# ---- kernels just past the old limits -------------------------------------------------------------
def _gemm_case(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)


@pytest.mark.parametrize(("variant", "rows_per_tile", "n"), [("naive", 16, 2), ("blocked", 16, 1)])
def test_gemm_past_65535_row_tiles_runs_in_two_launches(sim, variant, rows_per_tile, n):
    # M tiles are on grid.y: one more row than 65,535 tiles used to need grid.y = 65,536.
    m = 65535 * rows_per_tile + 1
    a, b = _gemm_case(m, 3, n)
    with sinapse.cuda.simulate():
        c = ops.gemm(a, b, variant=variant)
    assert sim.last_launch().startswith(f"gemm_{variant}_kernel<<<grid=(1, 1, 1)")  # the second band: one tile
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("variant", "rows_per_tile"), [("naive", 16), ("blocked", 16), ("tuned", 64)])
@pytest.mark.parametrize("trans_a", [False, True])
def test_gemm_row_bands_with_a_forced_small_chunk(sim, variant, rows_per_tile, trans_a):
    # The tuned kernel just past its old limit (4,194,241 rows) takes over a minute in the
    # simulator, so the band arithmetic is run here with 2 tiles per launch instead of 65,535.
    m, k, n = 5 * rows_per_tile + 3, 7, 5
    a, b = _gemm_case(m, k, n, seed=1)
    c = np.random.default_rng(2).standard_normal((m, n), dtype=np.float32)
    bias = np.arange(n, dtype=np.float32)
    a_arg = np.ascontiguousarray(a.T) if trans_a else a
    sim.set_grid_chunk(2)
    with sinapse.cuda.simulate(checked=True):
        got = ops.gemm(a_arg, b, c, beta=0.5, trans_a=trans_a, bias=bias, activation="relu", variant=variant)
    assert sim.last_launch().startswith(f"gemm_{variant}_kernel<<<grid=(1, 2, 1)")  # 6 tiles: 3 bands of 2
    want = np.maximum(a.astype(np.float64) @ b + 0.5 * c + bias, 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_rows_in_chunks_of_blocks(sim, log):
    # One block per row on grid.x (at most 2^31 - 1): more rows run as several launches.
    x = np.random.default_rng(3).standard_normal((10, 37), dtype=np.float32)
    dy = np.random.default_rng(4).standard_normal((10, 37), dtype=np.float32)
    forward, backward = (ops.log_softmax, ops.log_softmax_backward) if log else (ops.softmax, ops.softmax_backward)
    with sinapse.cuda.simulate():
        y_whole = forward(x, variant="tuned")
        dx_whole = backward(dy, y_whole, variant="tuned")
        sim.set_grid_chunk(3)
        y = forward(x, variant="tuned")
        assert sim.last_launch().startswith("softmax_forward_kernel<<<grid=(1, 1, 1)")  # 10 = 3 + 3 + 3 + 1
        dx = backward(dy, y, variant="tuned")
        assert sim.last_launch().startswith("softmax_backward_kernel<<<grid=(1, 1, 1)")
    np.testing.assert_array_equal(y, y_whole)
    np.testing.assert_array_equal(dx, dx_whole)


@pytest.mark.parametrize(("shape", "team"), [((4, 7, 3), "warp"), ((5, 1100), "block")])
def test_layer_norm_rows_in_chunks_of_blocks(sim, shape, team):
    # A team (warp or block) per row on grid.x: rows of one float in warp teams reach 2^31 - 1
    # blocks at 8.6e9 rows, so the rows run in launches of at most that many blocks.
    rng = np.random.default_rng(7)
    x, dy = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)
    gamma = rng.standard_normal(shape[-1], dtype=np.float32)
    beta = rng.standard_normal(shape[-1], dtype=np.float32)
    results = []
    with sinapse.cuda.simulate():
        for chunk in (0, 2):  # 2 blocks per launch: 8 rows (warp teams) or 2 rows (block teams)
            sim.set_grid_chunk(chunk)
            y, mean, inv_std = ops.layer_norm(x, gamma, beta, variant="tuned")
            assert f"layer_norm_forward_kernel<{team}><<<grid=(" in sim.last_launch()
            grads = ops.layer_norm_backward(dy, x, gamma, mean, inv_std, variant="tuned")
            results.append((y, mean, inv_std, *grads))
    assert sim.last_launch().startswith(f"layer_norm_dx_kernel<{team}><<<grid=(1, 1, 1)")  # 28 = 8+8+8+4; 5 = 2+2+1
    for chunked, whole in zip(results[1], results[0], strict=True):
        np.testing.assert_array_equal(chunked, whole)


def test_embedding_backward_wider_than_65535_blocks(sim):
    # Columns were on grid.y (65,535 blocks of 256): now on grid.x, the row ranges on y.
    dim = 65535 * 256 + 1
    dy = np.random.default_rng(5).standard_normal((2, dim), dtype=np.float32)
    ids = np.array([0, 0], np.int32)
    with sinapse.cuda.simulate():
        table = ops.embedding_backward(dy, ids, 1)
    assert sim.last_launch().startswith("embedding_backward_kernel<<<grid=(65536, 1, 1)")
    np.testing.assert_array_equal(table[0], dy[0] + dy[1])  # in id order, as the kernel adds


BN_CHANNELS = 65535 * 256 + 1


def _batch_norm_pass(which, variant):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, BN_CHANNELS), dtype=np.float32)
    gamma, beta = np.full(BN_CHANNELS, 2.0, np.float32), np.full(BN_CHANNELS, 0.5, np.float32)
    if which == "backward":
        dy = rng.standard_normal((2, BN_CHANNELS), dtype=np.float32)
        mean, invstd = x.mean(axis=0), rng.uniform(0.5, 2.0, BN_CHANNELS).astype(np.float32)
        return ops.batch_norm_backward(dy, x, gamma, mean, invstd, training=True, variant=variant)
    running_mean, running_var = np.full(BN_CHANNELS, 0.25, np.float32), np.full(BN_CHANNELS, 4.0, np.float32)
    y, mean, invstd = ops.batch_norm(
        x, gamma, beta, running_mean, running_var, training=which == "train", variant=variant
    )
    return y, mean, invstd, running_mean, running_var


@pytest.mark.parametrize("variant", ["naive", "tuned"])
@pytest.mark.parametrize("which", ["train", "infer", "backward"])
def test_batch_norm_per_channel_kernels_cover_every_channel(sim, variant, which):
    # One thread per channel, no grid-stride loop: the grid was capped at 65,535 blocks of 256,
    # so channels past 16,776,960 were never computed.
    with sinapse.cuda.simulate():
        got = _batch_norm_pass(which, variant)
    want = _batch_norm_pass(which, None)  # the CPU kernels
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g[..., -300:], w[..., -300:], rtol=1e-5, atol=1e-5)  # past the old cap
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


# ---- SINAPSE_CUDA_SYNC ------------------------------------------------------------------------------
def test_set_sync_launches_reaches_the_module(sim):
    sinapse.cuda.set_sync_launches(True)
    assert sim.sync_launches() is True
    sinapse.cuda.set_sync_launches(False)
    assert sim.sync_launches() is False


@pytest.mark.parametrize(
    ("value", "on"), [("1", True), ("TRUE", True), ("on", True), ("0", False), ("off", False), ("", False)]
)
def test_sync_launches_none_rereads_the_environment(sim, monkeypatch, value, on):
    monkeypatch.setenv("SINAPSE_CUDA_SYNC", value)
    sinapse.cuda.set_sync_launches(None)
    assert sim.sync_launches() is on


def test_sync_launches_rejects_what_it_cannot_parse(sim, monkeypatch):
    monkeypatch.setenv("SINAPSE_CUDA_SYNC", "maybe")
    with pytest.raises(ValueError, match=r"SINAPSE_CUDA_SYNC='maybe': expected 1/true/yes/on or 0/false/no/off"):
        sinapse.cuda.set_sync_launches(None)
    with pytest.raises(
        TypeError, match=r"sinapse\.cuda\.set_sync_launches: enabled must be True, False or None, got str"
    ):
        sinapse.cuda.set_sync_launches("1")


def test_sync_launches_is_read_from_the_environment_at_the_first_launch():
    # ...and cached: changing the variable afterwards changes nothing until set_sync_launches(None).
    code = (
        "import os, numpy as np, sinapse\n"
        "with sinapse.cuda.simulate():\n"
        "    sinapse.ops.softmax(np.ones((2, 3), np.float32))\n"
        "    os.environ['SINAPSE_CUDA_SYNC'] = 'maybe'\n"
        "    sinapse.ops.softmax(np.ones((2, 3), np.float32))\n"
        "print(sinapse._cuda_sim.sync_launches())\n"
    )
    for value, want in (("1", "True"), ("0", "False")):
        env = dict(os.environ, SINAPSE_CUDA_SYNC=value)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == want
    env = dict(os.environ, SINAPSE_CUDA_SYNC="maybe")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "ValueError: SINAPSE_CUDA_SYNC='maybe': expected 1/true/yes/on" in done.stderr


def test_a_failing_kernel_names_its_launch_with_sync_on(sim):
    # The simulator's launches are synchronous: its errors already name the kernel and its
    # launch configuration, the form SINAPSE_CUDA_SYNC=1 gives a GPU's errors.
    sinapse.cuda.set_sync_launches(True)
    x, out = np.zeros(64, np.float32), np.zeros(64, np.float32)
    with pytest.raises(
        RuntimeError, match=r"CUDA kernel throws<<<grid=\(2, 1, 1\), block=\(32, 1, 1\), shared=0 B>>> failed"
    ):
        sim.selftest("throws", x.ctypes.data, out.ctypes.data, 2, 32)
