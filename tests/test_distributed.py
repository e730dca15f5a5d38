"""Data-parallel training with real MPI processes (mpirun on this machine, loopback / shared memory).

Each job is bounded in time (tests/mpi_helpers.py) and skips, with the reason, without mpi4py or
mpirun. Equivalence: N processes with global batch B end with the weights, History, evaluate and
predict results of one process with batch B, to float tolerance (the issue's three models: an MLP
with Dropout, the Keras MNIST convnet with Dropout and synchronised BatchNormalization, a
functional model with two outputs), and every rank holds the same weights bit for bit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from mpi_helpers import WORKERS, check, mpi_env, run_mpi


def _train(tmp_path, model: str, np_: int, *extra: str) -> dict:
    """Run the training worker on ``np_`` processes (1: plain python, no launcher); its results."""
    out = tmp_path / f"{model}-{np_}-{'-'.join(extra) or 'default'}.npz"
    if np_ == 1:
        cmd = [sys.executable, str(WORKERS / "train.py"), str(out), model, *extra]
        check(subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=mpi_env()))
    else:
        check(run_mpi("train", np_, out, model, *extra))
    data = np.load(out)
    result = {k: data[k] for k in data.files if k != "meta"}
    result["meta"] = json.loads(str(data["meta"]))
    return result


def _close(a: dict, b: dict, atol: float) -> None:
    for key in a:
        if key != "meta":
            np.testing.assert_allclose(a[key], b[key], atol=atol, rtol=0, err_msg=key)
    ha, hb = a["meta"]["history"], b["meta"]["history"]
    assert ha.keys() == hb.keys()
    for key in ha:
        np.testing.assert_allclose(ha[key], hb[key], atol=1e-5, rtol=0, err_msg=key)
    ea, eb = a["meta"]["evaluate"], b["meta"]["evaluate"]
    assert ea.keys() == eb.keys()
    for key in ea:
        assert ea[key] == pytest.approx(eb[key], abs=1e-5), key


@pytest.mark.parametrize(
    ("model", "extra"),
    [("mlp", ()), ("convnet", ("--sync-bn",)), ("two_outputs", ())],
    ids=["mlp", "convnet-sync-bn", "two-outputs"],
)
def test_n_processes_equal_one(tmp_path, model, extra):
    one = _train(tmp_path, model, 1, *extra)
    for n in (2, 3):
        many = _train(tmp_path, model, n, *extra)
        assert many["meta"]["size"] == n
        assert many["meta"]["identical"], "the ranks' weights differ"
        _close(one, many, atol=2e-6)
    # Not vacuous: training moved the weights away from where they started.
    assert one["meta"]["history"]["loss"][0] != one["meta"]["history"]["loss"][-1]


def test_generator_data_is_cut_the_same_way(tmp_path):
    """A generator of global batches: every rank keeps its rows of each batch."""
    one = _train(tmp_path, "mlp", 1, "--generator")
    two = _train(tmp_path, "mlp", 2, "--generator")
    _close(one, two, atol=2e-6)


def test_a_last_batch_smaller_than_the_process_count(tmp_path):
    """193 samples in batches of 32: the last batch has 1 row, so two of three ranks have none of it
    (they add zero gradients and predict nothing for it)."""
    one = _train(tmp_path, "mlp", 1, "--samples", "193")
    three = _train(tmp_path, "mlp", 3, "--samples", "193")
    assert three["meta"]["identical"]
    _close(one, three, atol=2e-6)


@pytest.mark.parametrize("model", ["masked_sequence", "sum_loss"])
def test_losses_that_are_not_means_over_rows(tmp_path, model):
    """A per-step loss over masked steps (each rank's mean divides by its own count of valid steps)
    and a reduction="sum" loss (the ranks' sums add up) equal one process too."""
    one = _train(tmp_path, model, 1)
    for n in (2, 3):
        _close(one, _train(tmp_path, model, n), atol=2e-6)


def test_on_batch_methods_take_the_global_batch(tmp_path):
    one = _train(tmp_path, "two_outputs", 1, "--on-batch")
    two = _train(tmp_path, "two_outputs", 2, "--on-batch")
    assert two["meta"]["identical"]
    _close(one, two, atol=2e-6)


def test_ranks_that_start_from_different_weights(tmp_path):
    """Unseeded models differ per rank: evaluate, predict and train_on_batch first take rank 0's
    weights, as fit does (else predict would gather rows of different models)."""
    one = _train(tmp_path, "mlp", 1, "--on-batch", "--epochs", "1")
    two = _train(tmp_path, "mlp", 2, "--on-batch", "--epochs", "1", "--unsynced")
    assert two["meta"]["identical"]
    _close(one, two, atol=2e-6)


def test_bit_identical_run_to_run(tmp_path):
    """A fixed process count reduces in a fixed order: two runs give the same bits."""
    first = _train(tmp_path, "convnet", 3, "--sync-bn")
    second = _train(tmp_path, "convnet", 3, "--sync-bn", "--epochs", "2")
    for key in first:
        if key != "meta":
            assert np.array_equal(first[key], second[key]), key


def test_bucket_size_does_not_change_the_result(tmp_path):
    """Tiny buckets (one per weight) and one bucket for everything average the same gradients."""
    small = _train(tmp_path, "two_outputs", 2, "--bucket-mb", "0.0001")
    large = _train(tmp_path, "two_outputs", 2, "--bucket-mb", "64")
    _close(small, large, atol=1e-6)


def test_batch_norm_per_replica_by_default(tmp_path):
    """Without sync_batch_norm each rank normalises its own rows (a different model from one process's),
    yet the averaged gradients keep the trainable weights identical, and the moving statistics are
    averaged at the end of each epoch: every rank ends with the same model."""
    one = _train(tmp_path, "convnet", 1)
    two = _train(tmp_path, "convnet", 2)
    assert two["meta"]["identical"]
    assert not np.allclose(one["pred0"], two["pred0"], atol=1e-4)


def test_process_group_api():
    result = check(run_mpi("collectives", 3, timeout=120))
    lines = sorted(
        (json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")), key=lambda d: d["rank"]
    )
    assert [d["rank"] for d in lines] == [0, 1, 2]
    base = np.arange(6).reshape(2, 3)
    for d in lines:
        assert d["size"] == 3 and d["is_main"] == (d["rank"] == 0) and d["local_rank"] == d["rank"]
        assert d["sum"] == (3 * base + 3).tolist()
        assert d["mean"] == (base + 1).tolist()
        assert d["max"] == (base + 2).tolist()
        assert d["min"] == [0]
        assert d["input_unchanged"]
        assert d["broadcast"] == [2.0] * 4 and d["broadcast_in_place"]
        assert "same shape and dtype" in d["mismatch"]
        assert "`op` must be one of" in d["bad_op"] and "'prod'" in d["bad_op"]
        assert "`root` must be a process index in [0, 3), got 3" in d["bad_root"]


@pytest.mark.parametrize("mode", ["raise", "exit", "sys_exit", "interrupt", "thread", "after_fit"])
def test_a_failing_rank_ends_every_rank(mode):
    """An exception leaving fit on one rank (also SystemExit, KeyboardInterrupt, fit in a thread), a
    process that dies, or one raising outside fit: every rank ends promptly (no timeout involved)."""
    start = time.monotonic()
    result = run_mpi("fault", 2, mode, timeout=120)
    assert result.returncode != 0
    assert "finished" not in result.stdout
    assert time.monotonic() - start < 60
    if mode in ("raise", "thread"):
        assert "[sinapse.distributed rank 1/2] Sequential.fit stopped on this rank with RuntimeError" in result.stderr
        assert "rank 1 failed on purpose at step 3" in result.stderr
    if mode == "sys_exit":
        assert "Sequential.fit stopped on this rank with SystemExit: 3" in result.stderr
    if mode == "interrupt":
        assert "Sequential.fit stopped on this rank with KeyboardInterrupt" in result.stderr
    if mode == "after_fit":
        assert "[sinapse.distributed rank 1/2] an exception was raised on this rank" in result.stderr


def test_differing_calls_are_named_not_hung():
    """Each rank passing its own shard (Horovod style), or another optimizer: a ValueError on every
    rank naming what differs, at once."""
    for mode, named in (("shard", "`x` (shape and sampled rows)"), ("optimizer", "the optimizer")):
        start = time.monotonic()
        result = run_mpi("fault", 2, mode, timeout=120)
        assert result.returncode != 0 and time.monotonic() - start < 60
        assert "Sequential.fit: " in result.stderr and named in result.stderr, result.stderr
        assert "differ between the 2 processes" in result.stderr


def test_a_hanging_rank_is_bounded_by_the_timeout():
    start = time.monotonic()
    result = run_mpi("fault", 2, "hang", timeout=120, env=mpi_env(SINAPSE_DIST_TIMEOUT="4"))
    assert result.returncode != 0
    assert time.monotonic() - start < 100
    assert "waited 4 s in" in result.stderr and "another rank is not responding" in result.stderr


def test_checkpoint_resumes_on_another_process_count(tmp_path):
    """Rank 0's checkpoint from 2 processes, resumed on 3, equals 1 process throughout."""
    check(run_mpi("resume", 2, "start", tmp_path / "two.sinapse"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.sinapse"]  # one writer: rank 0
    check(run_mpi("resume", 3, "resume", tmp_path / "two.sinapse", tmp_path / "three.npz"))
    env = mpi_env()
    for args in (("start", tmp_path / "one.sinapse"), ("resume", tmp_path / "one.sinapse", tmp_path / "one.npz")):
        cmd = [sys.executable, str(WORKERS / "resume.py"), *map(str, args)]
        check(subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env))
    one, three = np.load(tmp_path / "one.npz"), np.load(tmp_path / "three.npz")
    for key in one.files:
        np.testing.assert_allclose(one[key], three[key], atol=2e-6, rtol=0, err_msg=key)


def test_simulated_cuda_device_trains_the_same(tmp_path):
    """device="cuda-sim": the CUDA kernels in the SIMT simulator, the gradients through MPI (NCCL itself
    needs a GPU); 2 processes equal one CPU process."""
    cpu = _train(tmp_path, "mlp", 1, "--epochs", "1")
    sim = _train(tmp_path, "mlp", 2, "--epochs", "1", "--device", "cuda-sim")
    assert sim["meta"]["identical"]
    _close(cpu, sim, atol=2e-5)
