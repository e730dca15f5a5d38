"""The SIMT simulator itself (csrc/cuda/sim/), through its self-test kernels
(csrc/cuda/sim/selftest.cu): warp shuffles with lane-exact semantics, atomics, static and
dynamic shared memory (poisoned per block), float4, the exceptions a GPU would hit, and
the non-lockstep schedule."""

import numpy as np
import pytest

import sinapse

pytestmark = pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="built without the CUDA simulator")


def run(name, x, n_out, blocks, threads):
    out = np.zeros(n_out, np.float32)
    sinapse._cuda_sim.selftest(name, x.ctypes.data, out.ctypes.data, blocks, threads)
    return out


X = np.arange(256, dtype=np.float32) * 0.5


def test_shfl_down_reduces_each_warp():
    got = run("warp_sum_down", X[:128], 4, 2, 64)
    np.testing.assert_array_equal(got, X[:128].reshape(4, 32).sum(axis=1))


def test_shfl_xor_gives_every_lane_the_warp_sum():
    got = run("warp_sum_xor", X[:128], 128, 2, 64)
    np.testing.assert_array_equal(got, np.repeat(X[:128].reshape(4, 32).sum(axis=1), 32))


def test_shfl_width_8_reads_lane_3_of_each_group():
    got = run("broadcast_lane3_width8", X[:64], 64, 1, 64)
    np.testing.assert_array_equal(got, np.repeat(X[:64].reshape(8, 8)[:, 3], 8))


def test_shfl_up_inclusive_scan():
    got = run("scan_up", X[:64], 64, 1, 64)
    np.testing.assert_array_equal(got, np.cumsum(X[:64].reshape(2, 32), axis=1).ravel())


def test_atomic_add_float_and_int_across_blocks():
    x = np.ones(4096, np.float32)
    got = run("atomic_sums", x, 2, 32, 128)
    assert got[0] == 4096.0
    assert got[1:].view(np.int32)[0] == 4096


def test_dynamic_shared_memory_is_per_block():
    got = run("reverse_dynamic_shared", X[:128], 128, 2, 64)
    np.testing.assert_array_equal(got, X[:128].reshape(2, 64)[:, ::-1].ravel())


def test_shared_memory_is_poisoned_before_each_block():
    assert np.isnan(run("read_shared_before_write", X[:128], 128, 2, 64)).all()


def test_float4_loads_and_stores():
    np.testing.assert_array_equal(run("copy_float4", X, 256, 2, 32), X)


@pytest.mark.parametrize(
    "name,message",
    [
        ("divergent_barrier", r"divergent __syncthreads: .* waits at .*selftest.cu:\d+ but .* at .*selftest.cu:\d+"),
        (
            "barrier_after_exit",
            r"__syncthreads at .*selftest.cu:\d+ is awaited while 1 thread\(s\) of the block have already exited",
        ),
        (
            "lane_not_in_mask",
            r"block \(0, 0, 0\) thread \(\d+, 0, 0\): __shfl_sync: the calling lane \d+ is not in the mask",
        ),
        ("warp_deadlock", r"__shfl_sync: lane \d+ of the mask has already exited"),
        ("throws", r"block \(1, 0, 0\) thread \(5, 0, 0\): thrown from a kernel"),
    ],
)
def test_gpu_errors_become_exceptions_naming_kernel_block_and_thread(name, message):
    with pytest.raises(RuntimeError, match=rf"CUDA kernel {name}<<<grid=\(2, 1, 1\), block=\(32, 1, 1\).*{message}"):
        run(name, X[:64], 64, 2, 32)


def test_code_assuming_lockstep_warps_is_exposed():
    # Each lane reads its neighbour's shared-memory slot without __syncwarp: threads run in
    # a seeded random order, so some read the poison before the neighbour wrote.
    got = run("assumes_lockstep", X[:32], 32, 1, 32)
    assert np.isnan(got).any()


def test_invalid_launch_shapes_are_refused():
    with pytest.raises(RuntimeError, match="invalid block shape"):
        run("warp_sum_xor", X, 2048, 1, 2048)


def test_unknown_selftest_kernel():
    with pytest.raises(ValueError, match="unknown kernel"):
        run("nope", X, 1, 1, 1)


# ---- checked mode: guard pages around global buffers ------------------------------------------
def run_guarded(name, values, n_out, blocks, threads):
    x = sinapse._cuda_sim.guarded_array(len(values))
    x[:] = values
    out = sinapse._cuda_sim.guarded_array(n_out)
    out[:] = 0
    sinapse._cuda_sim.selftest(name, x.ctypes.data, out.ctypes.data, blocks, threads)
    return out


def test_read_past_the_end_is_caught():
    with pytest.raises(
        RuntimeError,
        match=r"read_past_end<<<.*block \(1, 0, 0\) thread \(31, 0, 0\): "
        r"out-of-bounds global memory access 0 bytes past the end of a 256-byte buffer",
    ):
        run_guarded("read_past_end", X[:64], 64, 2, 32)


def test_write_before_the_start_is_caught_by_the_canary():
    x = sinapse._cuda_sim.guarded_array(64)
    out = sinapse._cuda_sim.guarded_array(64)
    assert sinapse._cuda_sim.guarded_intact(out.ctypes.data)
    sinapse._cuda_sim.selftest("write_before_start", x.ctypes.data, out.ctypes.data, 2, 32)
    assert not sinapse._cuda_sim.guarded_intact(out.ctypes.data)


def test_fiber_stack_overflow_is_reported():
    with pytest.raises(RuntimeError, match=r"stack_overflow<<<.*fiber stack overflow \(stack 131072 bytes"):
        run_guarded("stack_overflow", X[:64], 64, 1, 32)


def test_in_bounds_kernels_pass_in_checked_mode():
    got = run_guarded("warp_sum_xor", X[:64], 64, 2, 32)
    np.testing.assert_array_equal(got, np.repeat(X[:64].reshape(2, 32).sum(axis=1), 32))


def test_checked_ops_catch_an_out_of_bounds_gemm(rng):
    # The naive kernel's k loop run one step too far reads past the end of A: in checked
    # mode the op fails with the kernel, block and thread; unchecked it would read garbage.
    from conftest import random_f32

    a, b = random_f32(rng, (20, 30)), random_f32(rng, (30, 10))
    with sinapse.cuda.simulate(checked=True):
        from sinapse.ops import _device

        out = np.empty((20, 10), np.float32)
        with pytest.raises(RuntimeError, match=r"gemm_naive_kernel<past_end>.*out-of-bounds global memory access"):
            with _device.kernel_arrays("cuda_sim", {"a": a, "b": b, "out": out}, written=("out",)) as arr:
                sinapse._cuda_sim.gemm_mutant(arr["a"], arr["b"], arr["out"], which="naive_past_end")
        # the correct kernels run clean in checked mode, and the results come back
        for variant in sinapse.registry.OPS["gemm"].variants:
            got = sinapse.ops.gemm(a, b, variant=variant)
            np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


# ---- shared memory: bounds always, races with racecheck ----------------------------------------
def test_shared_index_out_of_bounds_is_caught():
    with pytest.raises(
        RuntimeError, match=r"thread \(31, 0, 0\): shared-memory index 32 out of bounds \[0, 32\) of `buf`"
    ):
        run("shared_index_out_of_bounds", X[:32], 32, 1, 32)


def test_racecheck_catches_a_read_without_barrier():
    with sinapse.cuda.simulate(racecheck=True):
        with pytest.raises(
            RuntimeError,
            match=r"shared-memory race on `buf`: thread \(\d+, 0, 0\) (reads|overwrites) what "
            r"thread \(\d+, 0, 0\) (wrote|read), with no __syncthreads in between",
        ):
            run("assumes_lockstep", X[:32], 32, 1, 32)


def test_racecheck_passes_correct_kernels():
    with sinapse.cuda.simulate(racecheck=True):
        np.testing.assert_array_equal(
            run("warp_sum_xor", X[:64], 64, 2, 32), np.repeat(X[:64].reshape(2, 32).sum(axis=1), 32)
        )


def test_checked_kernels_guard_each_call_and_copy_results_back(rng):
    # Under checked simulation the ops call _device.kernels(device).<kernel>(arrays...) directly:
    # the module they get guards each call's arrays itself (no kernel_arrays block needed).
    from conftest import random_f32
    from sinapse.ops import _device

    a, b = random_f32(rng, (20, 30)), random_f32(rng, (30, 10))
    out = np.zeros((20, 10), np.float32)
    with sinapse.cuda.simulate(checked=True):
        k = _device.kernels("cuda_sim")
        with pytest.raises(RuntimeError, match=r"gemm_naive_kernel<past_end>.*out-of-bounds global memory access"):
            k.gemm_mutant(a, b, out, which="naive_past_end")
        k.gemm(a, b, out, None, False, False, 1.0, 0.0, 0, "naive", "generic", _device.launch_arg("cuda_sim"))
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    assert _device.kernels("cuda_sim") is sinapse._cuda_sim  # unchecked: the module itself
    assert _device._parameter(sinapse._cuda_sim.gemm, 2) == "out"
