"""``python -m bench distributed --quick`` runs end to end (real mpirun jobs on this machine) and
writes its tables; the scaling model's arithmetic. No timing assertions: only that the runs
finish, the results are well formed and the formulas compute what bench/results/distributed.md
says they do."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root holds bench/
from bench.suites import _distributed_scaling as scaling  # noqa: E402


def test_ring_allreduce_formula():
    link = scaling.Link("test", bandwidth=1e9, latency=1e-5, source="assumed")
    assert scaling.ring_allreduce_s(1e6, 1, link) == 0.0
    # N = 2: 2(N-1)/N = 1, 2(N-1) = 2 latencies per bucket
    assert scaling.ring_allreduce_s(1e6, 2, link) == pytest.approx(1e-3 + 2e-5)
    # N = 8, 3 buckets: 2*7/8 * 1 ms + 3 * 14 latencies
    assert scaling.ring_allreduce_s(1e6, 8, link, buckets=3) == pytest.approx(1.75e-3 + 42e-5)
    assert scaling.small_allreduce_s(1, link) == 0.0
    assert scaling.small_allreduce_s(5, link) == pytest.approx(3e-5)  # ceil(log2 5) = 3


def test_per_tensor_takes_the_cheaper_algorithm():
    link = scaling.Link("test", bandwidth=1e9, latency=1e-5, source="assumed")
    assert scaling.per_tensor_allreduce_s([100, 100], 1, link) == 0.0
    # 8 processes, 100 bytes: recursive doubling 3 x (10 us + 0.1 us) beats the ring's 14 latencies
    assert scaling.per_tensor_allreduce_s([100], 8, link) == pytest.approx(3 * (1e-5 + 1e-7))
    # 8 processes, 100 MB: the ring (1.75 x 0.1 s + 14 latencies) beats 3 x 0.1 s
    big = scaling.per_tensor_allreduce_s([10**8], 8, link)
    assert big == pytest.approx(scaling.ring_allreduce_s(1e8, 8, link)) and big < 0.3


def test_prediction_speedup_and_efficiency():
    link = scaling.Link("test", bandwidth=1e9, latency=0.0, source="assumed")
    w = scaling.Workload(t_compute=0.1, nbytes=1e7, buckets=1, t_extra=0.0, small=2)
    rows = scaling.prediction(w, [1, 2, 4], link)
    assert rows[0] == (1, 0.1, 1.0, 1.0)
    n, t, speedup, eff = rows[2]
    assert t == pytest.approx(0.1 + 1.5 * 1e-2)
    assert speedup == pytest.approx(4 * 0.1 / t) and eff == pytest.approx(speedup / 4)
    half = scaling.Workload(t_compute=0.1, nbytes=1e7, buckets=1, overlap=0.5)
    assert scaling.step_s(half, 2, link) == pytest.approx(0.1 + 0.5e-2)


def test_fit_link_recovers_latency_and_bandwidth():
    link = scaling.Link("x", bandwidth=2e9, latency=3e-6, source="assumed")
    sizes = [{"bytes": b, "median_s": scaling.ring_allreduce_s(b, 2, link)} for b in (8, 2**20, 2**26)]
    fitted = scaling.fit_link(sizes, "fit")
    assert fitted.latency == pytest.approx(3e-6, rel=1e-3)
    assert fitted.bandwidth == pytest.approx(2e9, rel=1e-3)


def test_quick_run_writes_the_tables(tmp_path):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'sinapse[mpi]')")
    from bench.suites.distributed import mpirun

    exe, why = mpirun()
    if exe is None:
        pytest.skip(why)
    cmd = [sys.executable, "-m", "bench", "distributed", "--quick", "--out", str(tmp_path)]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} did not finish in 300 s\n{out}\n{err}")
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}\n{out}\n{err}"
    md = (tmp_path / "distributed.md").read_text(encoding="utf-8")
    for heading in ("## Training step", "## Where the", "## Bucket size", "## Gradient allreduce", "## Scaling to N"):
        assert heading in md
    payload = json.loads((tmp_path / "distributed.json").read_text(encoding="utf-8"))
    assert payload["environment"]["sinapse"]["cpu"] in md.splitlines()[0]  # the CPU is named
    rows = {r["label"]: r for r in payload["rows"]}
    conv = rows["keras_mnist_cnn train step global batch 128"]
    assert set(conv["timings"]) == {"single", "ddp:4", "nograd:4", "nocomm:4", "local"}
    resnet = next(r for label, r in rows.items() if label.startswith("resnet20 train step"))
    assert {"ddp:0.25", "ddp:1", "ddp:4", "ddp:25"} <= set(resnet["timings"])
    assert resnet["extra"]["ddp:0.25"]["buckets"] > resnet["extra"]["ddp:4"]["buckets"] >= 1
    for r in payload["rows"]:
        for t in r["timings"].values():
            assert math.isfinite(t["median_s"]) and t["median_s"] > 0
    ar = rows["resnet20 gradient allreduce (82 tensors)"]
    assert ar["work"] == 4 * 273066 and ar["extra"]["per tensor"]["calls"] == 82
