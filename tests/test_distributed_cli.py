"""``python -m sinapse train --distributed`` (sinapse/cli.py): real ``mpirun -np 2`` jobs on a tiny
Fashion-MNIST-shaped set written by the test (no download), and the one-process fallback.

The MPI tests skip, with the reason, when mpi4py or mpirun is missing (``pip install ".[mpi]"``)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from mpi_helpers import check, mpi_command, mpi_env, run_mpi
from sinapse import cli
from test_datasets import write_mnist_folder

TIMEOUT = 120  # seconds for one mpirun job; each takes a few seconds here
ARGS = ("train", "--model", "mlp", "--epochs", "2", "--batch-size", "32", "--verbose", "2")


@pytest.fixture
def data(tmp_path, rng):
    """SINAPSE_DATA with 96 training and 32 test images (3 global batches of 32)."""
    write_mnist_folder(tmp_path / "data" / "fashion_mnist", rng, n_train=96, n_test=32)
    return tmp_path / "data"


def _env(data, tmp_path, **extra):
    return mpi_env(SINAPSE_DATA=str(data), HOME=str(tmp_path / "home"), **extra)


def _no_launcher(monkeypatch):
    for var in ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "SLURM_PROCID"):
        monkeypatch.delenv(var, raising=False)


def test_two_processes_print_once_save_once_and_equal_one_process(data, tmp_path):
    out, log = tmp_path / "out", tmp_path / "saves"
    out.mkdir(), log.mkdir()
    model_file = out / "mlp.safetensors"
    env = _env(data, tmp_path, SAVE_LOG=str(log))
    result = check(run_mpi("cli_python_m", 2, *ARGS, "--distributed", "--out", model_file, timeout=TIMEOUT, env=env))
    printed = result.stdout
    assert printed.count("distributed: 2 processes") == 1, printed
    assert printed.count("Epoch 1/2") == 1 and printed.count("Epoch 2/2") == 1, printed  # rank 0 only
    assert printed.count("test accuracy") == 1 and "2 processes); saved to" in printed, printed
    assert sorted(os.listdir(log)) == ["saved.rank0"], "only rank 0 saves"
    assert os.listdir(out) == ["mlp.safetensors"]
    # --batch-size is the global batch: 2 processes x 16 rows train the weights 1 process x 32 does.
    single = out / "single.safetensors"
    one = subprocess.run(
        [sys.executable, "-m", "sinapse", *ARGS, "--out", str(single)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert one.returncode == 0, one.stderr
    two, ref = load_file(str(model_file)), load_file(str(single))
    assert sorted(two) == sorted(ref)
    for name in ref:
        np.testing.assert_allclose(two[name], ref[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_the_readme_command_runs_as_typed(data, tmp_path):
    """``mpirun -np 2 python -m sinapse train --distributed ...`` itself (not through a worker)."""
    model_file = tmp_path / "mlp.safetensors"
    cmd = mpi_command(2, "-m", "sinapse", *ARGS, "--distributed", "--out", str(model_file))
    # SINAPSE_DIST_TIMEOUT: ranks left behind by a killed mpirun end themselves.
    env = _env(data, tmp_path, SINAPSE_DIST_TIMEOUT="60")
    result = check(subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT))
    assert result.stdout.count("test accuracy") == 1 and model_file.exists()


def test_an_error_on_rank_0_ends_every_process(data, tmp_path):
    """A bad --out is found by rank 0 only; the other rank must not wait for it in a collective."""
    env = _env(data, tmp_path, SAVE_LOG=str(tmp_path))
    missing = tmp_path / "no such folder" / "m.safetensors"
    result = run_mpi("cli_python_m", 2, *ARGS, "--distributed", "--out", missing, timeout=TIMEOUT, env=env)
    assert result.returncode != 0
    assert result.stderr.count("the folder") == 1 and "does not exist" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_distributed_without_a_launcher_trains_as_one_process(data, tmp_path, monkeypatch, capsys):
    _no_launcher(monkeypatch)
    monkeypatch.setenv("SINAPSE_DATA", str(data))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    model_file = tmp_path / "mlp.safetensors"
    assert cli.main([*ARGS, "--distributed", "--out", str(model_file), "--verbose", "0"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning: --distributed but no MPI launcher") == 1, captured.err
    assert "test accuracy" in captured.out and "1 process);" in captured.out
    assert model_file.exists()


def test_started_by_mpirun_without_distributed_warns(data, tmp_path, monkeypatch, capsys):
    """N copies training alone and overwriting one file is almost never what was meant."""
    _no_launcher(monkeypatch)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")  # what mpirun sets; no rank variable: no MPI import
    monkeypatch.setenv("SINAPSE_DATA", str(data))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cli.main([*ARGS, "--out", str(tmp_path / "m.safetensors"), "--verbose", "0"]) == 0
    assert "one of 2 MPI processes without --distributed" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args,match",
    [
        (["--sync-batch-norm"], "--sync-batch-norm: only with --distributed"),
        (["--distributed", "--model", "char_lstm"], "--distributed: char_lstm is not supported"),
    ],
)
def test_bad_distributed_options_are_one_line(tmp_path, monkeypatch, capsys, args, match):
    _no_launcher(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", *args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err, err


def test_threads_share_the_cores_among_local_processes(monkeypatch):
    cores = os.cpu_count() or 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert cli._threads_per_process(1, env={}) == cores
    assert cli._threads_per_process(2, env={}) == max(1, cores // 2)
    assert cli._threads_per_process(cores + 5, env={}) == 1  # more processes than cores: still 1
    assert cli._threads_per_process(2, env={"OMP_NUM_THREADS": "3"}) is None  # the user's choice stands
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)  # bound to one core
    assert cli._threads_per_process(1, env={}) == 1


def test_each_local_process_takes_its_own_gpu(monkeypatch):
    """Under a launcher, process i of a machine uses GPU i mod the GPUs it sees (a stand-in CuPy: no GPU here)."""
    from types import SimpleNamespace

    from sinapse.distributed import _comm

    used = []

    class Device:
        def __init__(self, index):
            self.index = index

        def use(self):
            used.append(self.index)

    fake = SimpleNamespace(cuda=SimpleNamespace(runtime=SimpleNamespace(getDeviceCount=lambda: 2), Device=Device))
    monkeypatch.setattr(_comm, "_gpu_chosen", False)
    monkeypatch.setattr(_comm, "local_rank", lambda: 3)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "3")
    _comm.use_local_gpu(fake)
    _comm.use_local_gpu(fake)  # once per process
    assert used == [1]
    monkeypatch.setattr(_comm, "_gpu_chosen", False)
    for var in _comm._LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(_comm, "_group", None)
    _comm.use_local_gpu(fake)  # one process without a launcher: CuPy's own choice stands
    assert used == [1]
