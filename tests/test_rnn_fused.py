"""The tuned LSTM forward's fused recurrent step (csrc/cpu/rnn_lstm_fused.cpp) on every SIMD path
this CPU runs, forced: batch sizes on and off its row tiles (1: the GEMV tile; 3: only
remainder tiles; 64: whole tiles; 65: whole tiles and a remainder), unit counts that fill no
whole unit block (the packed U's zero columns), one and two threads (each thread owns a range of
unit blocks), with masks, go_backwards and both output modes, forward and backward against the
float64 reference, and the naive variant (the unfused GEMM + gate loops) against it."""

import numpy as np
import pytest

import sinapse
from conftest import SIMD_PATHS
from sinapse import ops
from test_rnn import check, f32, make


@pytest.mark.parametrize("path", SIMD_PATHS)
@pytest.mark.parametrize("n", [1, 3, 64, 65])
@pytest.mark.parametrize("h", [5, 37])
def test_fused_step_matches_reference_on_every_path(rng, path, n, h):
    with sinapse.cpu.use_simd(path):
        sinapse.cpu.simd_paths_run()
        check("cpu", rng, "lstm", n, 4, 3, h, mask=n > 1)
        assert sinapse.cpu.simd_paths_run() == [path]


@pytest.mark.parametrize("path", SIMD_PATHS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_fused_step_threads_and_options(rng, restore_threads, path, threads, go_backwards, return_sequences):
    sinapse.set_num_threads(threads)
    # 4 * N * H^2 above the threading threshold: both threads own unit blocks
    with sinapse.cpu.use_simd(path):
        for n, h in [(1, 200), (65, 45)]:
            check(
                "cpu", rng, "lstm", n, 3, 2, h, mask=True, go_backwards=go_backwards, return_sequences=return_sequences
            )


@pytest.mark.parametrize("path", SIMD_PATHS)
def test_fused_matches_unfused_variant(rng, path):
    """tuned (fused) and naive (GEMM, then the gate equations as loops) LSTM forwards agree to
    float32 rounding, and the same backward of either gives the same gradients."""
    p = f32(make(rng, "lstm", 65, 5, 7, 37, mask=True))
    args = (p["x"], p["kernel"], p["recurrent_kernel"], p["bias"])
    with sinapse.cpu.use_simd(path):
        fused = ops.lstm(*args, h0=p["h0"], c0=p["c0"], mask=p["mask"], variant="tuned")
        plain = ops.lstm(*args, h0=p["h0"], c0=p["c0"], mask=p["mask"], variant="naive")
        for a, b in zip(fused[:3], plain[:3]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
        dy = rng.standard_normal(fused[0].shape).astype(np.float32)
        ga = ops.lstm_backward(dy, fused[3], variant="tuned")
        gb = ops.lstm_backward(dy, plain[3], variant="tuned")
        for a, b in zip(ga, gb):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
