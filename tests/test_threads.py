"""Thread control: the setting, OMP_NUM_THREADS, and concurrent calls from Python threads."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import sinapse
from conftest import SIMD_PATHS, random_f32
from sinapse import ops


def test_round_trip(restore_threads):
    for n in (1, 2, 3, 7, 1):
        sinapse.set_num_threads(n)
        assert sinapse.get_num_threads() == n
        assert sinapse.config()["num_threads"] == n


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, False, "2", None, 2.0, 4097, 2**31])
def test_set_num_threads_rejects(restore_threads, bad):
    sinapse.set_num_threads(3)
    with pytest.raises(
        ValueError, match=r"set_num_threads: n must be an integer from 1 to 4096, got " + repr(bad).replace("(", r"\(")
    ):
        sinapse.set_num_threads(bad)
    assert sinapse.get_num_threads() == 3  # unchanged


@pytest.mark.parametrize("n", [1, 2])
def test_omp_num_threads_is_honoured(n):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "SINAPSE_"))}
    env["OMP_NUM_THREADS"] = str(n)
    res = subprocess.run(
        [sys.executable, "-c", "import sinapse; print(sinapse.get_num_threads())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert res.stdout.strip() == str(n)


def _problems(seed, count=8):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        M, N, K = 200 + 3 * i, 300 - 5 * i, 150 + 7 * i  # different sizes: different scratch needs
        out.append((random_f32(rng, (M, K)), random_f32(rng, (K, N)), random_f32(rng, (N,))))
    return out


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", ["tuned", "blocked"])
def test_concurrent_calls(variant, simd):
    jobs = [_problems(1), _problems(2)]

    def run(problems):
        return [ops.gemm(a, b, bias=bias, activation="relu", variant=variant, simd=simd) for a, b, bias in problems]

    sequential = [run(p) for p in jobs]
    for _ in range(2):
        with ThreadPoolExecutor(max_workers=2) as pool:
            concurrent = list(pool.map(run, jobs))
        for seq, con in zip(sequential, concurrent):
            for i, (s, c) in enumerate(zip(seq, con)):
                np.testing.assert_array_equal(c, s, err_msg=f"problem {i}: concurrent result differs")


def test_gemm_releases_the_gil(restore_threads):
    """While one thread is inside a long GEMM, another Python thread keeps running."""
    sinapse.set_num_threads(1)  # leave a core for the ticker, so a busy machine cannot starve it
    import threading
    import time

    rng = np.random.default_rng(0)
    a, b = random_f32(rng, (400, 400)), random_f32(rng, (400, 400))
    stop = threading.Event()
    ticks = []

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0002)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.01)
        t0 = time.perf_counter()
        ops.gemm(a, b, variant="naive")  # tens of milliseconds inside the kernel
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
    inside = [x for x in ticks if t0 < x < t1]
    # With the GIL held for the whole call, at most one tick could squeeze in before the
    # kernel starts; released, the ticker runs every few hundred microseconds.
    # A kernel that kept the GIL would allow at most one; be lenient about a slow scheduler.
    assert len(inside) >= 3, f"{len(inside)} ticks during a {1e3 * (t1 - t0):.1f} ms GEMM"


@pytest.mark.parametrize("batch", [1, 16, 32, 64, 128])
def test_small_mlp_gemms_stay_serial(restore_threads, batch):
    # A 60-wide MLP layer (forward and both backward products) must not pay for a
    # parallel region: with 2 threads allowed it still runs on one.
    sinapse.set_num_threads(2)
    for m, n, k in ((batch, 60, 60), (60, 60, batch)):
        assert sinapse._cpu.gemm_threads(m, n, k) == 1


def test_large_gemm_uses_all_threads(restore_threads):
    sinapse.set_num_threads(2)
    assert sinapse._cpu.gemm_threads(512, 512, 512) == 2
    sinapse.set_num_threads(1)
    assert sinapse._cpu.gemm_threads(512, 512, 512) == 1
